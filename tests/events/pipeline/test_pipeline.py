"""The batch pipeline: isolation of a failing delivery, duplicates, replays."""

import pytest

from events import appliers
from events.models import Activity, Delivery, DeliveryStatus
from events.services import deliveries_process_batch, delivery_process
from leads.models import Lead, LeadTag
from tests.payloads import body

from ._helpers import at, store

pytestmark = pytest.mark.django_db


def test_one_failing_applier_fails_its_delivery_alone(monkeypatch):
    real = appliers.APPLIERS["assign_tag"]

    def boom(event, observation, changes):
        if event.lead.kartra_id == 2:
            real(event, observation, changes)  # half of its changes added, then it fails
            raise RuntimeError("applier bug")
        return real(event, observation, changes)

    monkeypatch.setitem(appliers.APPLIERS, "assign_tag", boom)
    d1 = store(body("assign_tag", lead_id=1), at(0))
    d2 = store(body("assign_tag", lead_id=2, first_name="Second"), at(1))
    d3 = store(body("assign_tag", lead_id=3), at(2))

    assert deliveries_process_batch() == 3

    statuses = dict(Delivery.objects.values_list("pk", "status"))
    assert statuses == {
        d1.pk: DeliveryStatus.PROCESSED,
        d2.pk: DeliveryStatus.FAILED,
        d3.pk: DeliveryStatus.PROCESSED,
    }
    failed = Delivery.objects.get(pk=d2.pk)
    assert failed.attempts == 1 and "applier bug" in failed.error and failed.lead_id is None
    assert not Lead.objects.filter(kartra_id=2).exists()
    assert set(LeadTag.objects.values_list("lead__kartra_id", flat=True)) == {1, 3}
    assert Activity.objects.count() == 2


def test_rejected_body_in_a_batch():
    d1 = store(b'{"lead": {"id": "x"}, "action": "assign_tag"}', at(0))
    d2 = store(body("assign_tag", lead_id=1), at(1))
    assert deliveries_process_batch() == 2
    assert Delivery.objects.get(pk=d1.pk).status == DeliveryStatus.REJECTED
    assert Delivery.objects.get(pk=d2.pk).status == DeliveryStatus.PROCESSED


def test_replay_does_not_duplicate_activity():
    d = store(body("assign_tag", lead_id=1), at(0))
    assert deliveries_process_batch() == 1
    delivery_process(delivery_id=d.pk)
    delivery_process(delivery_id=d.pk)
    assert Activity.objects.filter(delivery_id=d.pk).count() == 1
    assert Delivery.objects.get(pk=d.pk).attempts == 3


def test_duplicates_within_and_outside_the_window(settings):
    settings.KARTRA_DUPLICATE_WINDOW = 60
    raw = body("assign_tag", lead_id=1)
    d1 = store(raw, at(0))
    d2 = store(raw, at(0.5))  # 30 s later: duplicate of d1
    d3 = store(raw, at(1.4))  # 84 s after d1, 54 s after d2 (a duplicate): original
    d4 = store(raw, at(5))
    assert deliveries_process_batch() == 4
    dup = dict(Delivery.objects.values_list("pk", "probable_duplicate_of"))
    assert dup == {d1.pk: None, d2.pk: d1.pk, d3.pk: None, d4.pk: None}
    flags = dict(Activity.objects.values_list("delivery_id", "probable_duplicate"))
    assert flags == {d1.pk: False, d2.pk: True, d3.pk: False, d4.pk: False}


def test_duplicate_marked_across_batches(settings):
    settings.KARTRA_DUPLICATE_WINDOW = 60
    raw = body("assign_tag", lead_id=1)
    d1 = store(raw, at(0))
    assert deliveries_process_batch() == 1
    d2 = store(raw, at(0.5))
    assert deliveries_process_batch() == 1
    assert Delivery.objects.get(pk=d2.pk).probable_duplicate_of_id == d1.pk


def test_a_lone_surrogate_in_a_lead_field_fails_its_delivery_alone():
    bad = body("assign_tag", lead_id=2).replace(
        b'"first_name": "John"', b'"first_name": "J\\ud800"'
    )
    d1 = store(body("assign_tag", lead_id=1), at(0))
    d2 = store(bad, at(1))
    d3 = store(body("assign_tag", lead_id=3), at(2))
    assert deliveries_process_batch() == 3
    statuses = dict(Delivery.objects.values_list("pk", "status"))
    assert statuses[d1.pk] == statuses[d3.pk] == DeliveryStatus.PROCESSED
    assert statuses[d2.pk] in (DeliveryStatus.FAILED, DeliveryStatus.REJECTED)
    assert deliveries_process_batch() == 0


@pytest.mark.parametrize(
    "action", [b"custom\\ud800", b"custom\\u0000"], ids=["lone-surrogate", "nul"]
)
def test_a_delivery_whose_outcome_cannot_be_saved_does_not_block_the_queue(action):
    """A stored body whose action no text column holds (stored before the request read
    bodies, say) ends failed or rejected, and the deliveries after it are processed: one
    delivery never stops the queue."""
    bad = store(b'{"lead": {"id": "1"}, "action": "' + action + b'", "action_details": {}}', at(0))
    good = store(body("assign_tag", lead_id=2), at(1))

    deliveries_process_batch()

    assert Delivery.objects.get(pk=good.pk).status == DeliveryStatus.PROCESSED
    assert Delivery.objects.get(pk=bad.pk).status != DeliveryStatus.RECEIVED
