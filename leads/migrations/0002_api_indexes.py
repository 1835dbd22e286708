"""Indexes behind the API's filters, search and orderings (PostgreSQL only).

They are written as SQL rather than ``Meta.indexes`` because they are expression, trigram
and partial indexes tuned for PostgreSQL's planner, and because the models belong to the
mirror's core: the migration state stays the models' own, so ``makemigrations`` never
proposes to drop them. SQLite (tests, small installs) gets none of them.

Built CONCURRENTLY, so applying this to a live mirror does not block webhook writes.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

from kartra_mirror.pg_indexes import postgres_indexes

INDEXES = {
    # search= and name= use Django's icontains, which PostgreSQL runs as
    # UPPER(col::text) LIKE UPPER('%term%'): the trigram indexes are on that expression.
    "lead_email_trgm_idx": "leads_lead USING gin ((UPPER(email::text)) gin_trgm_ops)",
    "lead_first_name_trgm_idx": "leads_lead USING gin ((UPPER(first_name::text)) gin_trgm_ops)",
    "lead_last_name_trgm_idx": "leads_lead USING gin ((UPPER(last_name::text)) gin_trgm_ops)",
    "lead_phone_trgm_idx": "leads_lead USING gin ((UPPER(phone::text)) gin_trgm_ops)",
    # Keyset paging orders by (field, id) and seeks to (value, id): one index per ordering.
    "lead_kartra_id_page_idx": "leads_lead (kartra_id, id)",
    "lead_joined_page_idx": "leads_lead (date_joined, id)",
    "lead_score_page_idx": "leads_lead (score, id)",
    "lead_updated_page_idx": "leads_lead (mirror_updated, id)",
    "lead_last_activity_page_idx": "leads_lead (mirror_last_activity_at, id)",
    # Profile filters the models do not index; the booleans are rare, so partial.
    "lead_gdpr_status_idx": "leads_lead (gdpr_lead_status)",
    "lead_blacklisted_idx": "leads_lead (id) WHERE blacklisted",
    "lead_deleted_idx": "leads_lead (id) WHERE lead_deleted",
    # Relation filters: which leads hold tag/list X (index-only semi-joins).
    "leadtag_active_lead_idx": "leads_leadtag (tag_id, lead_id) WHERE active",
    "listsub_active_lead_idx": "leads_listsubscription (list_id, lead_id) WHERE active",
    "txn_type_lead_idx": "leads_transaction (transaction_type, lead_id)",
    # Transaction and calendar subscription filters and orderings.
    "txn_date_page_idx": "leads_transaction (transaction_date, id)",
    "txn_amount_page_idx": "leads_transaction (amount, id)",
    "calsub_status_idx": "leads_calendarsubscription (status)",
}


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("leads", "0001_initial"),
    ]

    operations = [
        TrigramExtension(),  # a no-op on databases other than PostgreSQL
        postgres_indexes(INDEXES),
    ]
