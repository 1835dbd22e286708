"""Batches side by side leave each other's leads alone (PostgreSQL): a delivery whose lead,
or the lead now holding its email, another transaction holds waits for a later batch; the
rest of the batch applies without waiting."""

import threading

import pytest
from django.db import connection, transaction

from events import drain, services
from events.models import Delivery, DeliveryStatus
from events.services import deliveries_process_batch, delivery_store
from leads.models import Lead
from tests.payloads import body

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


class Holder:
    """Another transaction holding the row lock of some leads until released."""

    def __init__(self, *kartra_ids: int) -> None:
        self.kartra_ids = kartra_ids
        self.held, self.release = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._hold)

    def _hold(self) -> None:
        try:
            with transaction.atomic():
                list(Lead.objects.select_for_update().filter(kartra_id__in=self.kartra_ids))
                self.held.set()
                self.release.wait(30)
        finally:
            connection.close()

    def __enter__(self) -> "Holder":
        self.thread.start()
        assert self.held.wait(30)
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.thread.join(30)


def _stored(*raws: bytes) -> list[int]:
    return [delivery_store(body=raw).pk for raw in raws]


def _statuses() -> dict[int, tuple[str, int]]:
    return {pk: (status, attempts) for pk, status, attempts in Delivery.objects.values_list(
        "pk", "status", "attempts")}  # fmt: skip


def test_a_delivery_whose_lead_is_held_waits_for_a_later_batch_and_the_rest_applies():
    _stored(body("assign_tag", lead_id=1), body("assign_tag", lead_id=2))
    assert deliveries_process_batch() == 2  # both leads exist now
    held, free = _stored(
        body("list_subscription", lead_id=1, first_name="Held"),
        body("list_subscription", lead_id=2, first_name="Free"),
    )

    with Holder(1):
        assert deliveries_process_batch() == 2  # claimed both, without waiting for lead 1
        assert _statuses()[held] == (DeliveryStatus.RECEIVED, 0)  # untouched
        assert _statuses()[free] == (DeliveryStatus.PROCESSED, 1)
        assert Lead.objects.get(kartra_id=2).first_name == "Free"

    assert deliveries_process_batch() == 1
    assert _statuses()[held] == (DeliveryStatus.PROCESSED, 1)
    assert Lead.objects.get(kartra_id=1).first_name == "Held"


def test_a_delivery_taking_the_email_of_a_held_lead_waits_too():
    _stored(
        body("assign_tag", lead_id=3, email="kept@example.com"),
        body("assign_tag", lead_id=4, email="four@example.com"),
    )
    assert deliveries_process_batch() == 2
    (moving,) = _stored(body("assign_tag", lead_id=4, email="KEPT@example.com"))

    with Holder(3):  # the email's holder: clearing its email must wait for it
        assert deliveries_process_batch() == 1
        assert _statuses()[moving] == (DeliveryStatus.RECEIVED, 0)

    assert deliveries_process_batch() == 1
    emails = dict(Lead.objects.values_list("kartra_id", "email"))
    assert emails == {3: "", 4: "KEPT@example.com"}


def test_a_batch_that_can_apply_nothing_pauses_before_its_drain_claims_again(settings, monkeypatch):
    settings.KARTRA_DRAIN_LINGER = 0.25
    _stored(body("assign_tag", lead_id=5))
    assert deliveries_process_batch() == 1
    _stored(body("unassign_tag", lead_id=5))
    pauses = []
    monkeypatch.setattr(services.time, "sleep", pauses.append)

    with Holder(5):
        assert deliveries_process_batch() == 1
    assert pauses == [0.25]
    assert deliveries_process_batch() == 1
    assert pauses == [0.25]  # applied: no pause
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.PROCESSED}


def test_a_pass_that_finds_a_backlog_asks_for_a_helping_drain(settings, monkeypatch):
    from events import tasks

    settings.KARTRA_DELIVERY_BATCH = 2
    settings.KARTRA_DRAIN_LINGER = 0
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/0"  # not reached: the ask is recorded
    asked = []
    monkeypatch.setattr(tasks.drain_deliveries, "delay", lambda **kwargs: asked.append(kwargs))
    _stored(*(body("assign_tag", lead_id=n) for n in range(1, 6)))

    assert drain.deliveries_drain() == 5
    # The first pass saw 5 waiting, more than a batch, before its first claim; the second
    # pass saw none.
    assert asked == [{"linger": False}]
    _stored(*(body("unassign_tag", lead_id=n) for n in range(1, 3)))
    assert drain.deliveries_drain() == 2
    assert len(asked) == 1  # a batch waiting, not more: nobody to ask
    settings.CELERY_BROKER_URL = ""
    _stored(*(body("assign_tag", lead_id=n) for n in range(1, 6)))
    assert drain.deliveries_drain() == 5
    assert len(asked) == 1  # without a broker there is nobody to ask
