"""The admin's lead search index (PostgreSQL only).

The admin sends a search term containing ``@`` to ``LOWER(email) = term`` or
``LOWER(email) LIKE 'term%'``. A btree with ``text_pattern_ops`` answers both, whatever the
database's collation; the trigram indexes of 0002_api_indexes serve the name and phone
searches. SQL rather than ``Meta.indexes`` for the reasons 0002 gives, and built
CONCURRENTLY so a live mirror keeps taking webhooks meanwhile.
"""

from django.db import migrations

from kartra_mirror.pg_indexes import postgres_indexes

INDEXES = {
    "lead_email_lower_prefix_idx": "leads_lead ((LOWER(email::text)) text_pattern_ops)",
}


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("leads", "0002_api_indexes"),
    ]

    operations = [
        postgres_indexes(INDEXES),
    ]
