"""A batch of deliveries is applied in a pinned number of queries that does not grow with
the number of deliveries or leads in it."""

import math
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from events.models import Activity, Delivery, DeliveryStatus
from events.services import OUTCOME_FIELDS, deliveries_process_batch, delivery_store
from leads.normalize import WEBHOOK_ACTIONS

from .payloads import body

pytestmark = pytest.mark.django_db

#: Measured at 60 on SQLite and PostgreSQL for a batch with one delivery of every action.
CEILING = 60


def sqlite_batches(deliveries: int) -> int:
    """Extra statements Django makes on SQLite, which it caps at 999 parameters: the
    activity rows and the deliveries' outcomes of a large batch are written in several
    statements (one each on PostgreSQL)."""
    if connection.vendor != "sqlite":
        return 0
    rows = [None] * deliveries
    activity = [f for f in Activity._meta.concrete_fields if not f.primary_key]
    outcome = ["pk", "pk", *(Delivery._meta.get_field(n) for n in OUTCOME_FIELDS)]
    return sum(
        math.ceil(deliveries / connection.ops.bulk_batch_size(fields, rows)) - 1
        for fields in (activity, outcome)
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
    return len(captured)


def test_the_queries_of_a_batch_do_not_grow_with_its_deliveries_or_leads():
    _store([100])
    _queries_of_one_batch()  # the catalogue rows, for the batches below to find
    _store([1])
    one_lead = _queries_of_one_batch()
    _store(range(2, 12))
    ten_leads = _queries_of_one_batch()
    _store(range(2, 12))
    ten_leads_again = _queries_of_one_batch()

    extra = sqlite_batches(10 * len(WEBHOOK_ACTIONS))
    assert one_lead == ten_leads - extra == ten_leads_again - extra <= CEILING
