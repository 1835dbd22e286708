"""Erasure: its record (who, when, rows by table), a delivery's ``redacted_at`` and the
``suppressed`` status of deliveries about an erased lead."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0006_ipn"),
    ]

    operations = [
        migrations.CreateModel(
            name="Erasure",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("erased_at", models.DateTimeField(db_index=True)),
                ("actor", models.CharField(max_length=255, verbose_name="by")),
                (
                    "lead_found",
                    models.BooleanField(default=False, verbose_name="lead was in the mirror"),
                ),
                (
                    "suppressed",
                    models.BooleanField(default=True, verbose_name="added to the suppression list"),
                ),
                (
                    "counts",
                    models.JSONField(blank=True, default=dict, verbose_name="rows by table"),
                ),
            ],
            options={
                "ordering": ("-erased_at", "-id"),
            },
        ),
        migrations.AddField(
            model_name="delivery",
            name="redacted_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="delivery",
            name="status",
            field=models.CharField(
                choices=[
                    ("received", "received, not processed yet"),
                    ("processed", "processed"),
                    ("unknown_action", "processed, action unknown"),
                    ("rejected", "rejected: not a Kartra event"),
                    ("failed", "failed in processing"),
                    ("too_large", "refused: body over the limit"),
                    ("suppressed", "suppressed: about an erased lead, stored redacted"),
                ],
                default="received",
                max_length=16,
            ),
        ),
    ]
