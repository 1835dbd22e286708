"""The change history (leads.Change): one row per change to a lead, in feed order."""

import django.core.serializers.json
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0010_erasure"),
    ]

    operations = [
        migrations.CreateModel(
            name="Change",
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
                        choices=[
                            ("profile", "profile field"),
                            ("custom_field", "custom field"),
                            ("tag", "tag"),
                            ("list", "list"),
                            ("sequence", "sequence"),
                            ("membership", "membership"),
                            ("transaction", "transaction"),
                            ("subscription", "subscription"),
                            ("calendar", "calendar registration"),
                            ("survey", "survey result"),
                            ("lead", "lead status"),
                        ],
                        max_length=16,
                    ),
                ),
                ("name", models.CharField(blank=True, max_length=255)),
                (
                    "old",
                    models.JSONField(
                        blank=True,
                        encoder=django.core.serializers.json.DjangoJSONEncoder,
                        null=True,
                    ),
                ),
                (
                    "new",
                    models.JSONField(
                        blank=True,
                        encoder=django.core.serializers.json.DjangoJSONEncoder,
                        null=True,
                    ),
                ),
                ("observed_at", models.DateTimeField()),
                (
                    "source",
                    models.CharField(
                        choices=[
                            ("webhook", "webhook delivery"),
                            ("snapshot", "get_lead snapshot"),
                            ("catalog", "account catalogue call"),
                            ("import", "lead import"),
                        ],
                        max_length=16,
                    ),
                ),
                ("ref", models.BigIntegerField(blank=True, null=True)),
                ("recorded_at", models.DateTimeField()),
                (
                    "lead",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="changes",
                        to="leads.lead",
                    ),
                ),
            ],
            options={
                "ordering": ("-id",),
                "indexes": [
                    models.Index(
                        fields=["lead", "-observed_at", "-id"], name="change_lead_observed"
                    ),
                    models.Index(fields=["recorded_at"], name="change_recorded"),
                    models.Index(fields=["kind", "id"], name="change_kind_id"),
                ],
            },
        ),
    ]
