"""Comparing one lead: the 002 doc's ``get_lead`` example, stored by the snapshot writer, then
changed in the mirror's plain view (``MirrorLead``) one way at a time."""

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from events.audit.compare import Difference, gone_compare, lead_compare
from events.models import DriftCause
from leads.normalize import parse_lead_details
from leads.services.audit_mirror import MirrorLead, Seen, mirror_leads
from leads.services.snapshot import lead_apply_snapshot
from tests.payloads import example_details

pytestmark = pytest.mark.django_db

MISSED, NONE = DriftCause.MISSED_WEBHOOK, DriftCause.NO_WEBHOOK


@pytest.fixture
def stored():
    """(the snapshot's time, the mirror's view of the 002 example after it was applied)."""
    at = timezone.now() - timedelta(minutes=5)
    snapshot = parse_lead_details(example_details())
    lead_apply_snapshot(snapshot=snapshot, requested_at=at, sync_run_id=None)
    (mirror,) = mirror_leads(kartra_ids=[1234])
    return at, mirror


def compare(mirror: MirrorLead, **overrides) -> list[Difference]:
    """The 002 example (with ``overrides`` of ``lead_details``), asked for now."""
    snapshot = parse_lead_details(example_details(**overrides))
    return lead_compare(snapshot, mirror, requested_at=timezone.now())


def only(found: list[Difference]) -> tuple:
    (difference,) = found
    return (difference.relation, difference.name, difference.mirror, difference.kartra,
            difference.cause)  # fmt: skip


def test_every_section_of_the_example_agrees_once_applied(stored):
    _, mirror = stored
    assert compare(mirror) == []
    # The same answer with the table's key names (sequence_name, id, price_point).
    sequences = [{"sequence_name": "test", "step": "2", "status": "active"}]
    transactions = [{"id": "1234", "product_name": "test product", "price_point": "1",
                     "transaction_type": "Sale", "transaction_amount": "300.00",
                     "transaction_date": "2019-03-26 06:35:33"}]  # fmt: skip
    assert compare(mirror, sequences=sequences, transactions=transactions) == []


def test_profile_and_custom_fields_change_without_a_webhook(stored):
    _, mirror = stored
    assert only(compare(mirror, city="Bucharest")) == ("profile", "city", "test", "Bucharest", NONE)
    assert only(compare(mirror, score="12")) == ("profile", "score", 0, 12, NONE)
    fields = example_details()["custom_fields"]
    fields[2]["field_value"] = "pizza"
    fields[0]["field_value"] = [{"option_id": "2", "option_value": "blue"}]
    found = compare(mirror, custom_fields=fields)
    assert {(d.name, str(d.mirror), str(d.kartra), d.cause) for d in found} == {
        ("favorite_dish", "beef lasagna", "pizza", NONE),
        ("color", "['red', 'blue']", "['blue']", NONE),
    }


def test_relations_a_webhook_announces_are_missed_webhooks(stored):
    _, mirror = stored
    assert only(compare(mirror, tags=[{"tag_name": "test"}, {"tag_name": "VIP"}])) == (
        "tag", "VIP", None, "assigned", MISSED,
    )  # fmt: skip
    assert only(compare(mirror, tags=[])) == ("tag", "test", "assigned", None, MISSED)
    assert only(compare(mirror, lists=[{"list_name": "test", "active": "0"}])) == (
        "list", "test", "subscribed", "unsubscribed", MISSED,
    )  # fmt: skip
    memberships = [{"name": "test", "level_name": "standard", "active": "0"}]
    assert only(compare(mirror, memberships=memberships)) == (
        "membership", "test / standard", "active", "inactive", MISSED,
    )  # fmt: skip


def test_a_set_the_answer_does_not_list_is_left_alone(stored):
    _, mirror = stored
    details = example_details()
    del details["tags"], details["transactions"]
    snapshot = parse_lead_details(details)
    extra = {**mirror.tags, "Old": Seen(True, None)}
    assert lead_compare(snapshot, replace(mirror, tags=extra), requested_at=timezone.now()) == []


def test_sequences_step_alone_has_no_webhook_and_completed_is_kept(stored):
    at, mirror = stored
    step = [{"tree_name": "test", "step": "3", "status": "active"}]
    assert only(compare(mirror, sequences=step)) == (
        "sequence", "test", {"status": "active", "step": 2}, {"status": "active", "step": 3}, NONE,
    )  # fmt: skip
    gone = [{"tree_name": "test", "step": "2", "status": "unsubscribed"}]
    assert only(compare(mirror, sequences=gone))[-1] == MISSED
    completed = replace(mirror, sequences={"test": Seen(("completed", 2), at)})
    assert compare(completed) == []  # get_lead cannot say completed


def test_transactions_missing_changed_and_kept(stored):
    at, mirror = stored
    rebill = {"id": "77", "product_name": "test product", "price_point": "1",
              "transaction_type": "Rebill", "transaction_amount": "30.00",
              "transaction_date": "2019-04-26 06:35:33"}  # fmt: skip
    sale = example_details()["transactions"][0]
    found = compare(
        mirror, transactions=[sale, rebill, {**rebill, "id": "78", "transaction_type": "Sale"}]
    )
    assert {(d.name, d.mirror, d.cause) for d in found} == {
        ("77", None, NONE),
        ("78", None, MISSED),
    }
    changed = {**sale, "transaction_amount": "250.00"}
    assert only(compare(mirror, transactions=[changed]))[1:] == (
        "1234", {"amount": Decimal("300.00")}, {"amount": Decimal("250.00")}, NONE,
    )  # fmt: skip
    kept = only(compare(mirror, transactions=[]))
    assert kept[:2] == ("transaction", "1234") and kept[3:] == (None, DriftCause.KEPT)
    assert kept[2]["amount"] == Decimal("300.00") and kept[2]["product"] == "test product"


def test_calendars_and_surveys(stored):
    _, mirror = stored
    calendars = example_details()["calendars"]
    calendars[1]["calendar_subscription_status"] = "Cancelled"
    assert only(compare(mirror, calendars=calendars)) == (
        "calendar", "245", {"status": "Active"}, {"status": "Cancelled"}, MISSED,
    )  # fmt: skip
    calendars = example_details()["calendars"]
    calendars[0]["events"] = [{"event_date": "2020-12-11 09:00", "event_duration": 60}]
    assert only(compare(mirror, calendars=calendars))[-1] == NONE  # rescheduled: no event
    assert {d.name for d in compare(mirror, calendars=[])} == {"1885", "245"}
    assert [(d.relation, d.kartra, d.cause) for d in compare(mirror, surveys=[])] == [
        ("survey", None, MISSED) for _ in example_details()["surveys"]
    ]


def test_what_the_mirror_observed_after_the_request_is_not_reported(stored):
    at, mirror = stored
    later = timezone.now() + timedelta(minutes=1)
    unassigned = replace(mirror, tags={"test": Seen(False, later)})
    assert compare(unassigned) == []
    assert only(compare(replace(mirror, tags={"test": Seen(False, at)})))[1] == "test"
    renamed = replace(mirror, profile={**mirror.profile, "city": "Bucharest"}, profile_at=later)
    assert compare(renamed) == []
    assert not compare(replace(mirror, tags={}, sets_replaced={"tags": later}))


def test_leads_one_side_lacks():
    snapshot = parse_lead_details(example_details())
    now = timezone.now()
    assert only(lead_compare(snapshot, None, requested_at=now)) == (
        "lead", "status", None, "active", DriftCause.LEAD_UNKNOWN,
    )  # fmt: skip
    alive = MirrorLead(pk=1, kartra_id=1234, status="active", webhook_at=None, profile={},
                       profile_at=None, sets_replaced={})  # fmt: skip
    assert only(gone_compare(alive, deleted=True, requested_at=now)) == (
        "lead", "status", "active", "deleted", DriftCause.LEAD_DELETED,
    )  # fmt: skip
    assert gone_compare(replace(alive, status="deleted"), deleted=True, requested_at=now) == []
    newer = replace(alive, webhook_at=now + timedelta(seconds=1))
    assert gone_compare(newer, deleted=False, requested_at=now) == []  # a webhook shows it alive


def test_consent_differs_by_what_it_means_not_by_the_number(stored):
    """A webhook's 0 and get_lead's 1 both say "agreed": no drift; get_lead's 0 is."""
    _, mirror = stored
    agreed = replace(
        mirror,
        profile={**mirror.profile, "consent": "agreed", "gdpr_lead_communications": 0},
    )
    assert compare(agreed, gdpr_lead_communications="1") == []
    assert only(compare(agreed, gdpr_lead_communications="0")) == (
        "profile", "consent", "agreed", "not_agreed", NONE,
    )  # fmt: skip
