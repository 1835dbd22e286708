"""Many threads processing deliveries for the same few leads at once (PostgreSQL)."""

import random
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from events.models import Activity, Delivery, DeliveryStatus
from events.services import delivery_process, delivery_store
from leads.models import (
    CustomFieldValue,
    Lead,
    LeadTag,
    List,
    ListSubscription,
    Tag,
    Transaction,
)
from tests.payloads import body

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ACTIONS = [
    "assign_tag",
    "unassign_tag",
    "list_subscription",
    "list_unsubscription",
    "buy_product",
    "video_play",
    "membership_granted",
    "sequence_subscription",
]


def _make_deliveries(seed: int) -> list[int]:
    rng = random.Random(seed)
    now = timezone.now()
    ids = []
    for n in range(60):
        lead_id = rng.choice([1, 2, 3])
        raw = body(rng.choice(ACTIONS), lead_id=lead_id, first_name=f"name-{n}")
        delivery = delivery_store(body=raw)
        Delivery.objects.filter(pk=delivery.pk).update(received_at=now - timedelta(seconds=600 - n))
        ids.append(delivery.pk)
    return ids


def _state() -> dict:
    return {
        "leads": sorted(Lead.objects.values_list("kartra_id", "first_name", "email")),
        "tags": sorted(LeadTag.objects.values_list("lead__kartra_id", "tag__name", "active")),
        "lists": sorted(
            ListSubscription.objects.values_list("lead__kartra_id", "list__name", "active")
        ),
        "txns": sorted(Transaction.objects.values_list("kartra_id", "lead__kartra_id")),
        "values": CustomFieldValue.objects.count(),
        "activity": Activity.objects.count(),
        "catalog": (Tag.objects.count(), List.objects.count()),
    }


def _process_in_thread(delivery_id: int) -> str:
    try:
        return delivery_process(delivery_id=delivery_id).status
    finally:
        connection.close()


def _reset_mirror() -> None:
    for model in (Activity, Lead, Tag, List):
        model.objects.all().delete()
    Delivery.objects.update(status=DeliveryStatus.RECEIVED, lead=None)


def test_concurrent_processing_equals_sequential_processing():
    ids = _make_deliveries(seed=7)
    shuffled = ids[:]
    random.Random(3).shuffle(shuffled)

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(_process_in_thread, shuffled))
    assert set(statuses) == {DeliveryStatus.PROCESSED}, Delivery.objects.exclude(
        status=DeliveryStatus.PROCESSED
    ).values_list("error", flat=True)[:3]
    concurrent = _state()

    _reset_mirror()
    for delivery_id in ids:
        assert delivery_process(delivery_id=delivery_id).status == DeliveryStatus.PROCESSED
    assert _state() == concurrent
    assert concurrent["leads"][0][1] == "name-" + str(
        max(i for i, d in enumerate(ids) if _lead_of(d) == concurrent["leads"][0][0])
    )


def _lead_of(delivery_id: int) -> int:
    return Delivery.objects.get(pk=delivery_id).lead_kartra_id
