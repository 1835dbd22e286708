"""Calendar registrations written by snapshots and webhooks."""

import json

import pytest

from events.models import Delivery, DeliveryStatus
from events.services import deliveries_process_batch
from leads.models import CalendarSubscription
from tests.payloads import example_details, lead_block

from ._helpers import at, snapshot, store

pytestmark = pytest.mark.django_db


def test_snapshot_calendar_entry_without_status_is_applied():
    """A 002 entry without ``calendar_subscription_status`` is stored as "Active", and the
    rest of the snapshot applies."""
    details = example_details()
    del details["calendars"][1]["calendar_subscription_status"]

    snapshot(details, at(0))

    row = CalendarSubscription.objects.get(kartra_id=245)
    assert row.status  # some status, e.g. "Active"


def _calendar_body(action: str, *, lead_id: int = 1, with_class: bool, **extra) -> bytes:
    calendar = {"calendar_id": "123", "calendar_name": "Coaching", **extra}
    if with_class:
        calendar |= {"class_id": "22", "class_name": "Intro"}
    payload = {
        "lead": lead_block(lead_id),
        "action": action,
        "action_details": {"calendar": calendar},
    }
    return json.dumps(payload).encode()


@pytest.mark.parametrize("with_class", [False, True])
def test_two_webhooks_for_one_registration_in_one_batch_make_one_row(with_class):
    """calendar_subscribe (with hosts) and calendar_cancel (without) for the same lead and
    class in one batch make one registration, with the newest status, with or without a
    class (whose NULL no unique index compares)."""
    hosts = [{"host_first_name": "h", "host_last_name": "h", "host_email_address": "h@x.co"}]
    store(_calendar_body("calendar_subscribe", with_class=with_class, hosts=hosts), at(0))
    store(_calendar_body("calendar_cancel", with_class=with_class), at(1))

    assert deliveries_process_batch(limit=10) == 2

    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.PROCESSED}
    rows = list(CalendarSubscription.objects.values_list("status", flat=True))
    assert rows == ["Cancelled"]


def _snap(lead_id: int, calendars: list) -> dict:
    return example_details(id=str(lead_id), email=f"lead{lead_id}@example.com",
                           calendars=calendars, surveys=[], transactions=[])  # fmt: skip


def test_webhook_without_number_after_snapshot_updates_the_numbered_row():
    snapshot(_snap(1, example_details()["calendars"][:1]), at(0))  # 1885, cal 123 class 22
    raw = json.dumps(
        {"lead": lead_block(1), "action": "calendar_complete",
         "action_details": {"calendar": {"calendar_id": "123", "calendar_name": "first calendar",
                                         "class_id": "22", "class_name": "first class"}}}
    ).encode()  # fmt: skip
    store(raw, at(5))
    assert deliveries_process_batch() == 1
    assert list(CalendarSubscription.objects.values_list("kartra_id", "status")) == [
        (1885, "Completed")
    ]


def test_subscription_number_moving_between_leads_and_an_older_listing():
    entry = example_details()["calendars"][:1]
    snapshot(_snap(1, entry), at(0))
    snapshot(_snap(2, entry), at(20))
    snapshot(_snap(1, entry), at(10))  # older, applied late
    row = CalendarSubscription.objects.get()
    assert row.lead.kartra_id == 2
