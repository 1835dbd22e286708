"""Erasure: the suppression list (salted hashes of erased leads' identifiers) and the
``leads.erase_lead`` permission, granted by no other permission."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0009_transaction_ipn_fields"),
    ]

    operations = [
        migrations.CreateModel(
            name="Suppression",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[("email", "email (lowercased)"), ("kartra_id", "Kartra id")],
                        max_length=16,
                    ),
                ),
                (
                    "digest",
                    models.CharField(max_length=64, unique=True, verbose_name="HMAC-SHA256"),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "ordering": ("-created_at", "-id"),
            },
        ),
        migrations.AlterModelOptions(
            name="lead",
            options={
                "ordering": ("-kartra_id",),
                "permissions": [("erase_lead", "Can erase a lead and everything about it (GDPR)")],
            },
        ),
    ]
