"""The admin dashboard's delivery index (PostgreSQL only).

The dashboard counts a month of deliveries per day, action and status. With the action
and status carried in the index on ``received_at`` that is an index-only scan instead of
a read of every delivery row (bodies included). SQL rather than ``Meta.indexes`` for the
reasons leads' 0002_api_indexes gives; built CONCURRENTLY so webhooks keep arriving.
"""

from django.db import migrations

from kartra_mirror.pg_indexes import postgres_indexes

INDEXES = {
    "delivery_day_action_idx": "events_delivery (received_at) INCLUDE (action, status)",
}


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("events", "0002_api_indexes"),
    ]

    operations = [
        postgres_indexes(INDEXES),
    ]
