"""Replays, duplicates and out-of-order deliveries."""

from datetime import timedelta

import pytest
from django.utils import timezone

from events.models import Activity, Delivery
from events.services import delivery_process, delivery_store
from leads.models import Lead, LeadTag, Transaction
from tests.payloads import body

pytestmark = pytest.mark.django_db


def _snapshot_of_mirror() -> list:
    lead = Lead.objects.get()
    return [
        {k: v for k, v in Lead.objects.values().get().items() if k not in {"mirror_updated"}},
        list(LeadTag.objects.values_list("tag__name", "active", "observed_at")),
        list(Transaction.objects.values_list("kartra_id", "full_amount")),
        list(Activity.objects.values_list("action", "delivery_id")),
        lead.pk,
    ]


def test_replay_leaves_the_mirror_as_after_the_first_time(post):
    post(body("buy_product"))
    post(body("assign_tag"))
    before = _snapshot_of_mirror()

    for delivery in Delivery.objects.order_by("pk"):
        delivery_process(delivery_id=delivery.pk)

    assert _snapshot_of_mirror() == before


def test_purchase_delivered_twice_is_one_transaction_and_flagged(post):
    post(body("buy_product"))
    post(body("buy_product"))

    assert Transaction.objects.count() == 1
    first, second = Delivery.objects.order_by("pk")
    assert first.probable_duplicate_of is None
    assert second.probable_duplicate_of == first
    assert list(Activity.objects.order_by("pk").values_list("probable_duplicate", flat=True)) == [
        False,
        True,
    ]


def test_identical_body_outside_the_window_is_not_a_duplicate(settings):
    settings.KARTRA_DUPLICATE_WINDOW = 60
    raw = body("assign_tag")
    first = delivery_store(body=raw)
    Delivery.objects.filter(pk=first.pk).update(received_at=timezone.now() - timedelta(seconds=61))
    assert delivery_store(body=raw).probable_duplicate_of is None


def _stored(raw: bytes, *, seconds_ago: int) -> Delivery:
    delivery = delivery_store(body=raw)
    Delivery.objects.filter(pk=delivery.pk).update(
        received_at=timezone.now() - timedelta(seconds=seconds_ago)
    )
    return delivery


def test_assign_then_unassign_processed_in_reverse_leaves_tag_unassigned():
    assign = _stored(body("assign_tag"), seconds_ago=20)
    unassign = _stored(body("unassign_tag"), seconds_ago=10)

    delivery_process(delivery_id=unassign.pk)
    delivery_process(delivery_id=assign.pk)

    row = LeadTag.objects.get()
    assert row.active is False
    assert row.observed_ref == unassign.pk
    # the older delivery still lands on the timeline
    assert Activity.objects.count() == 2


def test_old_profile_processed_after_a_newer_one_does_not_win():
    old = _stored(body("assign_tag", first_name="Old", city="Boston"), seconds_ago=20)
    new = _stored(body("list_subscription", first_name="New"), seconds_ago=10)

    delivery_process(delivery_id=new.pk)
    delivery_process(delivery_id=old.pk)

    lead = Lead.objects.get()
    assert (lead.first_name, lead.city) == ("New", "New York")
    assert lead.mirror_raw["first_name"] == "New"
    assert lead.mirror_profile_observed_at == Delivery.objects.get(pk=new.pk).received_at
    # but the old delivery's own relation still applied: nothing newer touched that tag
    assert LeadTag.objects.get().active is True
    assert lead.mirror_webhook_at == Delivery.objects.get(pk=new.pk).received_at
