"""Tags, lists, sequences and memberships from webhooks and snapshots."""

import json

import pytest

from events.services import deliveries_process_batch
from leads.models import Lead, LeadTag, MembershipAccess, SequenceSubscription
from tests.payloads import body, example_details, lead_block

from ._helpers import at, snapshot, store

pytestmark = pytest.mark.django_db


def _details(**overrides) -> dict:
    return example_details(id="1", email="lead1@example.com", calendars=[], surveys=[],
                           transactions=[], **overrides)  # fmt: skip


def _membership_body(action: str, level: bool, lead_id: int = 1) -> bytes:
    membership = {"membership_id": "91", "membership_name": "Academy"}
    if level:
        membership |= {"level_id": "92", "level_name": "Gold"}
    else:
        membership |= {"level_id": "0", "level_name": ""}
    return json.dumps(
        {"lead": lead_block(lead_id), "action": action,
         "action_details": {"membership": membership}}
    ).encode()  # fmt: skip


def test_memberships_with_and_without_level_in_one_batch():
    store(_membership_body("membership_granted", level=False), at(0))
    store(_membership_body("membership_revoked", level=False), at(1))
    store(_membership_body("membership_granted", level=True), at(2))
    store(_membership_body("membership_granted", level=True), at(3))
    assert deliveries_process_batch() == 4
    rows = {(r.level.name if r.level else None, r.active) for r in MembershipAccess.objects.all()}
    assert rows == {("Gold", True), (None, False)}
    # again, the rows now exist (update path of both partial and full unique index)
    store(_membership_body("membership_granted", level=False), at(4))
    store(_membership_body("membership_revoked", level=True), at(5))
    assert deliveries_process_batch() == 2
    rows = {(r.level_id is None, r.active) for r in MembershipAccess.objects.all()}
    assert rows == {(True, True), (False, False)}


def test_snapshot_retires_external_membership_and_webhook_level_claims_name():
    store(_membership_body("membership_granted", level=False), at(0))
    store(_membership_body("membership_granted", level=True), at(1))
    assert deliveries_process_batch() == 2
    snapshot(_details(memberships=[{"name": "Academy", "level_name": "Gold", "active": "1"}]),
             at(10))  # fmt: skip
    rows = {(r.level.name if r.level else None, r.active) for r in MembershipAccess.objects.all()}
    assert rows == {("Gold", True), (None, False)}


def test_sequence_completed_kept_while_snapshot_says_active_but_not_for_resubscription():
    seq = {"sequence": {"sequence_id": "41", "sequence_name": "Welcome"}}

    def seq_body(action):
        return json.dumps({"lead": lead_block(1), "action": action, "action_details": seq}).encode()

    store(seq_body("sequence_subscription"), at(0))
    store(seq_body("sequence_completion"), at(1))
    assert deliveries_process_batch() == 2
    snapshot(_details(sequences=[{"sequence_name": "Welcome", "step": "3", "status": "active"}]),
             at(10))  # fmt: skip
    assert SequenceSubscription.objects.get().status == "completed"
    store(seq_body("sequence_subscription"), at(11))
    assert deliveries_process_batch() == 1
    row = SequenceSubscription.objects.get()
    assert (row.status, row.step) == ("active", None)


def test_late_tag_delivery_after_snapshot_does_not_add_tag():
    snapshot(_details(tags=[]), at(10))
    store(body("assign_tag", lead_id=1), at(5))
    assert deliveries_process_batch() == 1
    assert not LeadTag.objects.filter(active=True).exists()


def test_newer_tag_delivery_survives_snapshot_retire():
    store(body("assign_tag", lead_id=1), at(15))
    assert deliveries_process_batch() == 1
    snapshot(_details(tags=[]), at(10))
    assert LeadTag.objects.get().active is True


def test_case_only_email_change_saves():
    store(body("assign_tag", lead_id=1, email="Mixed@Example.com"), at(0))
    assert deliveries_process_batch() == 1
    store(body("assign_tag", lead_id=1, email="mixed@example.com"), at(1))
    assert deliveries_process_batch() == 1
    assert Lead.objects.get().email == "mixed@example.com"


@pytest.mark.parametrize("webhook_first", [True, False])
def test_sequence_completion_received_before_a_snapshot_is_kept_whatever_the_processing_order(
    webhook_first,
):
    """A completion received at t5 and a get_lead requested at t10 that says "active"
    (get_lead cannot say completed): the sequence ends completed in either processing
    order (the delivery may wait in a backlog, a linger, a retry)."""
    seq = {"sequence": {"sequence_id": "41", "sequence_name": "Welcome"}}
    raw = json.dumps(
        {"lead": lead_block(1), "action": "sequence_completion", "action_details": seq}
    ).encode()
    details = _details(sequences=[{"sequence_name": "Welcome", "step": "3", "status": "active"}])
    if webhook_first:
        store(raw, at(5))
        assert deliveries_process_batch() == 1
        snapshot(details, at(10))
    else:
        snapshot(details, at(10))
        store(raw, at(5))
        assert deliveries_process_batch() == 1
    assert SequenceSubscription.objects.get().status == "completed"
