"""Consent read one way: ``Lead.consent`` (agreed / not agreed / unknown) and the source whose
convention read it, beside the raw ``gdpr_lead_communications``.

Existing leads are read by the convention of the source that last wrote their profile
(``mirror_raw_source``), which every lead block carries the number in: webhooks say 0 =
agreed, ``get_lead`` says 1 = agreed. Non-atomic, for the concurrent index; the backfill's
updates are idempotent.
"""

from django.db import migrations, models

from kartra_mirror.pg_indexes import postgres_indexes

# Frozen here: a migration must not follow later changes of leads.models.AGREED_VALUE.
AGREED_VALUE = {"webhook": 0, "snapshot": 1}


def read_consent(apps, schema_editor):
    Lead = apps.get_model("leads", "Lead")
    for source, agreed in AGREED_VALUE.items():
        sent = Lead.objects.filter(mirror_raw_source=source, gdpr_lead_communications__isnull=False)
        sent.filter(gdpr_lead_communications=agreed).update(consent="agreed", consent_source=source)
        sent.filter(gdpr_lead_communications=1 - agreed).update(
            consent="not_agreed", consent_source=source
        )
        sent.exclude(gdpr_lead_communications__in=(0, 1)).update(consent_source=source)


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("leads", "0007_custom_value_index"),
    ]

    operations = [
        migrations.AlterField(
            model_name="lead",
            name="gdpr_lead_communications",
            field=models.SmallIntegerField(
                blank=True, null=True, verbose_name="GDPR communications (as sent)"
            ),
        ),
        migrations.AddField(
            model_name="lead",
            name="consent",
            field=models.CharField(
                choices=[
                    ("agreed", "agreed to be contacted"),
                    ("not_agreed", "not agreed"),
                    ("unknown", "unknown"),
                ],
                default="unknown",
                max_length=16,
                verbose_name="consent to be contacted",
            ),
        ),
        migrations.AddField(
            model_name="lead",
            name="consent_source",
            field=models.CharField(
                blank=True,
                choices=[
                    ("webhook", "webhook delivery"),
                    ("snapshot", "get_lead snapshot"),
                    ("catalog", "account catalogue call"),
                    ("import", "lead import"),
                ],
                max_length=16,
                verbose_name="consent as sent by",
            ),
        ),
        migrations.RunPython(read_consent, migrations.RunPython.noop),
        postgres_indexes({"lead_consent_idx": "leads_lead (consent)"}),
    ]
