"""Indexes of the refresh due queue (PostgreSQL only): each class of ``leads.services.due``
is read by one index scan that stops after the rows a pass needs, at any number of leads
(requested refreshes by ``lead_refresh_req_idx``, which the model declares).

Partial indexes whose predicates are the classes' filters, written as Django writes them so
that the planner matches them (the 30 days are ``due.ACTIVE_WINDOW``; the times are taken
at UTC because arithmetic on a ``timestamptz`` is not immutable, as a predicate must be). SQL rather than
``Meta.indexes`` for the reasons leads' 0002_api_indexes gives; built CONCURRENTLY so a live
mirror keeps taking webhooks while they build.
"""

from django.db import migrations

from kartra_mirror.pg_indexes import postgres_indexes

SCHEDULED = (
    "mirror_refresh_requested_at IS NULL AND mirror_status NOT IN ('not_found', 'deleted')"
)

INDEXES = {
    "lead_due_never_idx": f"leads_lead (id) WHERE mirror_refreshed_at IS NULL AND {SCHEDULED}",
    "lead_due_active_idx": (
        f"leads_lead (mirror_refreshed_at, id) WHERE {SCHEDULED} "
        "AND (mirror_last_activity_at AT TIME ZONE 'UTC') "
        "> ((mirror_refreshed_at AT TIME ZONE 'UTC') - interval '30 days')"
    ),
    "lead_due_stale_idx": f"leads_lead (mirror_refreshed_at, id) WHERE {SCHEDULED}",
}


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("leads", "0004_tolerant_enums_field_ids_replaced_sets"),
    ]

    operations = [
        postgres_indexes(INDEXES),
    ]
