"""Kartra's enumerations kept as sent, custom fields keyed by id, replaced relation sets.

- Columns holding Kartra's enumerations (calendar and sequence statuses, transaction and
  custom field types, survey types) lose their ``choices`` and widen, so that a value Kartra
  adds later is stored as sent instead of failing a whole delivery or snapshot. Survey types
  become text: 1 -> "survey", 2 -> "quiz" (002's meanings).
- A custom field's identifier is unique only when set: the field id is the key, and a row
  whose identifier another field took is left without one.
- ``Lead.mirror_sets_replaced_at`` records when a get_lead snapshot last replaced each
  relation set.
- Transactions known from webhooks only get ``amount`` from their ``full_amount``.
"""

from django.db import migrations, models
from django.db.models import F

SURVEY_TYPES = {"1": "survey", "2": "quiz"}


def survey_types_named(apps, schema_editor):
    Survey = apps.get_model("leads", "Survey")
    for code, name in SURVEY_TYPES.items():
        Survey.objects.filter(survey_type=code).update(survey_type=name)


def survey_types_numbered(apps, schema_editor):
    Survey = apps.get_model("leads", "Survey")
    for code, name in SURVEY_TYPES.items():
        Survey.objects.filter(survey_type=name).update(survey_type=code)
    # A type kept as sent has no number: it cannot go back into the integer column.
    Survey.objects.exclude(survey_type__in=SURVEY_TYPES).update(survey_type=None)


def amounts_from_full_amounts(apps, schema_editor):
    Transaction = apps.get_model("leads", "Transaction")
    Transaction.objects.filter(amount__isnull=True, full_amount__isnull=False).update(
        amount=F("full_amount")
    )


class Migration(migrations.Migration):

    dependencies = [
        ("leads", "0003_admin_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="customfield",
            name="mirror_identifier_observed_at",
            field=models.DateTimeField(
                blank=True, null=True, verbose_name="identifier observed at"
            ),
        ),
        migrations.AddField(
            model_name="lead",
            name="mirror_sets_replaced_at",
            field=models.JSONField(
                blank=True, null=True, verbose_name="relation sets last replaced by get_lead"
            ),
        ),
        migrations.AlterField(
            model_name="calendarsubscription",
            name="status",
            field=models.CharField(max_length=64),
        ),
        migrations.AlterField(
            model_name="customfield",
            name="field_type",
            field=models.CharField(max_length=64),
        ),
        migrations.AlterField(
            model_name="customfield",
            name="identifier",
            field=models.CharField(blank=True, max_length=255),
        ),
        migrations.AddConstraint(
            model_name="customfield",
            constraint=models.UniqueConstraint(
                condition=models.Q(("identifier", ""), _negated=True),
                fields=("identifier",),
                name="customfield_identifier_unique",
            ),
        ),
        migrations.AlterField(
            model_name="sequencesubscription",
            name="status",
            field=models.CharField(default="active", max_length=64),
        ),
        migrations.AlterField(
            model_name="survey",
            name="survey_type",
            field=models.CharField(blank=True, max_length=64, null=True),
        ),
        migrations.RunPython(survey_types_named, survey_types_numbered, elidable=True),
        migrations.AlterField(
            model_name="transaction",
            name="transaction_type",
            field=models.CharField(max_length=64),
        ),
        migrations.RunPython(amounts_from_full_amounts, migrations.RunPython.noop, elidable=True),
    ]
