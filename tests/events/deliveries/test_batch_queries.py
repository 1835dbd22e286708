"""A batch of deliveries is applied in a pinned number of queries that does not grow with
the number of deliveries or leads in it."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from events.models import Delivery, DeliveryStatus
from events.services import deliveries_process_batch, delivery_store
from leads.normalize import WEBHOOK_ACTIONS
from tests.payloads import body

pytestmark = pytest.mark.django_db

#: Measured at 64 on SQLite (65 on PostgreSQL) for a batch with one delivery of every action
#: for leads seen for the first time, one of them the lookup of the batch's leads on the
#: suppression list. Subscriptions' facts cost two (their linked transactions read, the facts
#: written: they replaced the cancellation's update) and affiliate/JV sign-ups one (their
#: upsert). The change history costs a batch of new leads one statement (their changes'
#: INSERT; on PostgreSQL one more, the lock that numbers them). A batch of leads seen before
#: costs 77 on either: no pending import to claim, no email taking its place and no lead to
#: insert, and no change of the leads to number (as stored again), but every part of
#: its leads that a batch of every action writes is read before and after it
#: (``leads.services.history``), except the custom values, which the lead blocks list as the
#: leads' last profiles did: neither read nor written again (``custom_confirmed``). A
#: delivery's activity row is deleted first only when it was processed before.
CEILING = 64 + 2
CEILING_AGAIN = 77 + 2


def statements(captured) -> int:
    """Statements run, a chunked statement counting once: SQLite caps a statement at 999
    parameters, so a large batch's rows go in several INSERTs (or ``WITH listed AS (VALUES
    ...) UPDATE``) in a row (one on PostgreSQL)."""
    heads = [re.split(r"\bVALUES\b", q["sql"], maxsplit=1)[0] for q in captured.captured_queries]
    return sum(
        1
        for n, head in enumerate(heads)
        if n == 0 or head != heads[n - 1] or not head.startswith(("INSERT INTO", "WITH "))
    )


def _store(lead_ids) -> None:
    at = timezone.now() - timedelta(minutes=10)
    for lead_id in lead_ids:
        for n, action in enumerate(sorted(WEBHOOK_ACTIONS)):
            delivery = delivery_store(body=body(action, lead_id=lead_id, first_name=f"n{n}"))
            Delivery.objects.filter(pk=delivery.pk).update(received_at=at + timedelta(seconds=n))


def _queries_of_one_batch() -> int:
    with CaptureQueriesContext(connection) as captured:
        assert deliveries_process_batch(limit=1000)
    assert not Delivery.objects.exclude(
        status__in=[DeliveryStatus.PROCESSED, DeliveryStatus.UNKNOWN_ACTION]
    ).exists()
    if connection.vendor == "postgresql":  # nothing chunked there
        assert statements(captured) == len(captured.captured_queries)
    return statements(captured)


def test_the_queries_of_a_batch_do_not_grow_with_its_deliveries_or_leads():
    _store([100])
    _queries_of_one_batch()  # the catalogue rows, for the batches below to find
    _store([1])
    one_lead = _queries_of_one_batch()
    _store(range(2, 12))
    ten_leads = _queries_of_one_batch()
    # Leads seen before: no pending import to claim, no email taking its place (two
    # statements less), their survey answers replaced (the same two statements either way).
    _store([1])
    one_lead_again = _queries_of_one_batch()
    _store(range(2, 12))
    ten_leads_again = _queries_of_one_batch()

    assert one_lead == ten_leads <= CEILING
    assert one_lead_again == ten_leads_again <= CEILING_AGAIN
