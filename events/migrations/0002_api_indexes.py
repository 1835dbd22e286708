"""Indexes behind the API's filters on deliveries and sync runs (PostgreSQL only).

SQL rather than ``Meta.indexes`` for the reasons given in leads' 0002_api_indexes: the
migration state stays the models' own. Built CONCURRENTLY so a live mirror keeps taking
webhooks while they build.
"""

from django.db import migrations

from kartra_mirror.pg_indexes import postgres_indexes

INDEXES = {
    "delivery_lead_kid_idx": "events_delivery (lead_kartra_id, received_at)",
    "syncrun_status_idx": "events_syncrun (status, started_at)",
    "syncrun_kind_idx": "events_syncrun (kind, started_at)",
}


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("events", "0001_initial"),
    ]

    operations = [
        postgres_indexes(INDEXES),
    ]
