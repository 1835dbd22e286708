"""The change history: each batch records, in its own transaction, what it changed about
each lead, with the old and new value and the delivery or snapshot that made the change."""

import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from events.models import Delivery
from events.services import deliveries_process_batch, delivery_store
from leads.models import Change, ChangeKind, Lead, MirrorStatus, Source
from leads.normalize import parse_lead_details
from leads.services import history
from leads.services.history import changes_recorded
from leads.services.snapshot import lead_apply_snapshot, lead_mark_gone
from tests.payloads import body, example_details, ipn_body

pytestmark = pytest.mark.django_db

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def deliver(*bodies: bytes, at: datetime | None = None) -> list[Delivery]:
    """Store the bodies (received a second apart from ``at``) and apply them as one batch."""
    stored = []
    for n, raw in enumerate(bodies):
        delivery = delivery_store(body=raw)
        if at is not None:
            Delivery.objects.filter(pk=delivery.pk).update(received_at=at + timedelta(seconds=n))
        stored.append(delivery)
    assert deliveries_process_batch(limit=100) == len(bodies)
    return stored


def deliver_ipn(raw: bytes, at: datetime | None = None) -> Delivery:
    delivery = delivery_store(
        body=raw, kind="ipn", content_type="application/x-www-form-urlencoded"
    )
    if at is not None:
        Delivery.objects.filter(pk=delivery.pk).update(received_at=at)
    assert deliveries_process_batch(limit=100) == 1
    return delivery


def refresh(details: dict, at: datetime, run: int | None = 7) -> Lead:
    return lead_apply_snapshot(
        snapshot=parse_lead_details(details), requested_at=at, sync_run_id=run
    )


def changes(**filters) -> list[tuple]:
    return list(
        Change.objects.filter(**filters)
        .order_by("id")
        .values_list("kind", "name", "old", "new", "source", "ref")
    )


def test_a_new_lead_is_one_change_and_what_follows_is_each_change():
    (first,) = deliver(body("assign_tag", lead_id=1))
    assert changes() == [("lead", "status", None, "active", "webhook", first.pk)]
    appeared = Change.objects.get().pk

    tagged, renamed = deliver(
        body("assign_tag", lead_id=1),  # VIP again: no change
        body("list_subscription", lead_id=1, first_name="Johnny"),
    )
    assert changes(id__gt=appeared) == [
        ("profile", "first_name", "John", "Johnny", "webhook", renamed.pk),
        ("list", "Newsletter", None, "subscribed", "webhook", renamed.pk),
    ]
    (removed,) = deliver(body("unassign_tag", lead_id=1, first_name="Johnny"))
    assert changes(kind="tag") == [("tag", "VIP", "assigned", "unassigned", "webhook", removed.pk)]


def test_a_batch_records_its_net_effect_at_the_times_observed():
    deliver(body("list_subscription", lead_id=1), at=T0 - timedelta(hours=1))
    before = Change.objects.count()
    deliver(
        body("assign_tag", lead_id=1, first_name="Jo"),
        body("unassign_tag", lead_id=1, first_name="John"),
        at=T0,
    )
    assert Change.objects.count() == before  # tagged, then not; named Jo, then John again
    (added,) = deliver(body("assign_tag", lead_id=1), at=T0 + timedelta(minutes=1))
    (change,) = Change.objects.filter(kind="tag")
    assert (change.old, change.new, change.ref) == ("unassigned", "assigned", added.pk)
    assert change.observed_at == T0 + timedelta(minutes=1)
    deliver(body("unassign_tag", lead_id=1), at=T0)  # older than the tag: not applied
    assert Change.objects.filter(kind="tag").count() == 1


def test_a_refresh_records_what_it_found_changed_in_kartra():
    """A tag removed by hand and a name edited in Kartra send no webhook; the refresh that
    finds them says so, with the sync run that made it."""
    details = example_details(id="1234", email="lead@example.com")
    refresh(details, T0)
    assert changes() == [("lead", "status", None, "active", "snapshot", 7)]
    refresh(details, T0 + timedelta(hours=1), run=8)
    assert Change.objects.count() == 1  # the same answer again changes nothing

    tags = details["tags"]
    edited = {**details, "first_name": "Edited", "tags": tags[1:]}
    refresh(edited, T0 + timedelta(hours=2), run=9)
    assert changes(ref=9) == [
        ("profile", "first_name", details["first_name"], "Edited", "snapshot", 9),
        ("tag", tags[0]["tag_name"], "assigned", "unassigned", "snapshot", 9),
    ]
    assert Change.objects.get(ref=9, kind="tag").observed_at == T0 + timedelta(hours=2)


def test_every_kind_of_relation_is_recorded():
    details = example_details(id="1234", email="lead@example.com")
    refresh(details, T0)
    sequence = details["sequences"][0]
    membership = details["memberships"][0]
    edited = {
        **details,
        "sequences": [{**sequence, "step": str(int(sequence["step"]) + 1)}],
        "memberships": [{**membership, "active": "0"}],
        "lists": [],
        "calendars": [],
        "surveys": [],
        "custom_fields": [
            {**field, "field_value": "changed"}
            for field in details["custom_fields"]
            if isinstance(field["field_value"], str)
        ],
    }
    refresh(edited, T0 + timedelta(hours=1), run=8)
    found = {(kind, name): (old, new) for kind, name, old, new, *_ in changes(ref=8)}
    assert set(found) == {
        ("sequence", "test"),
        ("membership", "test / standard"),
        ("list", "test"),
        *(("calendar", c["subscription_id"]) for c in details["calendars"]),
        *(("survey", survey["survey_name"]) for survey in details["surveys"]),
        *(("custom_field", f["field_identifier"]) for f in edited["custom_fields"]),
    }
    assert found["sequence", "test"] == ({"step": 2}, {"step": 3})
    assert found["membership", "test / standard"] == ("active", "inactive")
    assert found["list", "test"] == ("subscribed", "unsubscribed")
    calendar_before, calendar_after = found["calendar", "1885"]
    assert calendar_before["status"] == "Cancelled" and calendar_after is None  # dropped
    assert found["survey", "My Survey"][1] is None and found["survey", "My Survey"][0]
    for field in edited["custom_fields"]:
        assert found["custom_field", field["field_identifier"]][1] == "changed"


def test_a_purchase_is_one_new_transaction_then_only_what_the_ipn_adds():
    deliver(body("assign_tag", lead_id=1))
    (sale,) = deliver(body("buy_product", lead_id=1))
    (created,) = Change.objects.filter(kind=ChangeKind.TRANSACTION)
    assert (created.name, created.old, created.ref) == ("9001", None, sale.pk)
    assert created.new["transaction_type"] == "sale" and created.new["product"] == "Course"

    ipn = deliver_ipn(ipn_body(9001, lead_id=1))
    merged = Change.objects.filter(kind=ChangeKind.TRANSACTION, ref=ipn.pk)
    for change in merged:
        assert change.name == "9001" and set(change.old) == set(change.new)
        assert "transaction_type" not in change.new  # only the values the IPN changed


def test_a_lead_kartra_no_longer_has_is_a_status_change():
    refresh(example_details(id="1234", email="lead@example.com"), T0)
    lead_mark_gone(kartra_id=1234, deleted=True, requested_at=T0 + timedelta(1), sync_run_id=5)
    assert changes(ref=5) == [
        ("lead", "status", "active", "deleted", "snapshot", 5),
        ("profile", "lead_deleted", False, True, "snapshot", 5),
    ]
    assert {c.observed_at for c in Change.objects.filter(ref=5)} == {T0 + timedelta(1)}
    refresh(example_details(id="1234", email="lead@example.com"), T0 + timedelta(2), run=6)
    assert changes(ref=6) == [
        ("lead", "status", "deleted", "active", "snapshot", 6),
        ("profile", "lead_deleted", True, False, "snapshot", 6),
    ]


def test_the_old_holder_of_an_email_another_lead_took_is_recorded_too():
    deliver(body("assign_tag", lead_id=1), body("assign_tag", lead_id=2))
    (moved,) = deliver(body("assign_tag", lead_id=2, email="lead1@example.com"))
    found = set(
        Change.objects.filter(ref=moved.pk).values_list("lead__kartra_id", "name", "old", "new")
    )
    assert found == {
        (1, "email", "lead1@example.com", ""),
        (2, "email", "lead2@example.com", "lead1@example.com"),
    }


def test_history_off_records_nothing(settings):
    settings.KARTRA_HISTORY_DAYS = 0
    deliver(body("assign_tag", lead_id=1))
    deliver(body("unassign_tag", lead_id=1, first_name="Jo"))
    refresh(example_details(id="1234", email="lead@example.com"), T0)
    assert not Change.objects.exists()


def test_a_signal_per_batch_once_it_commits(django_capture_on_commit_callbacks):
    received = []

    def receiver(sender, changes, **kwargs):
        received.append([(c.pk, c.kind, c.name) for c in changes])

    def failing(sender, changes, **kwargs):
        raise RuntimeError("a consumer's bug")

    changes_recorded.connect(receiver)
    changes_recorded.connect(failing)
    try:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            deliver(body("assign_tag", lead_id=1), body("list_subscription", lead_id=2))
        assert len(callbacks) == 1
        (batch,) = received
        assert batch == list(Change.objects.order_by("id").values_list("pk", "kind", "name"))
        with django_capture_on_commit_callbacks(execute=True):
            deliver(body("assign_tag", lead_id=1))  # no change: no signal
        assert len(received) == 1
    finally:
        changes_recorded.disconnect(receiver)
        changes_recorded.disconnect(failing)


def test_a_failed_delivery_records_nothing_of_itself(monkeypatch):
    deliver(body("assign_tag", lead_id=1))
    count = Change.objects.count()
    import events.services

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in our code")

    monkeypatch.setattr(events.services, "_activities_write", broken)
    (delivery,) = deliver(body("unassign_tag", lead_id=1, first_name="Jo"))
    delivery.refresh_from_db()
    assert delivery.status == "failed"
    assert Change.objects.count() == count


def test_pending_import_claimed_by_its_id_is_the_lead_appearing():
    Lead.objects.create(email="lead1@example.com", mirror_status=MirrorStatus.PENDING)
    (delivery,) = deliver(body("assign_tag", lead_id=1))
    assert changes() == [("lead", "status", None, "active", Source.WEBHOOK, delivery.pk)]


def test_a_change_names_the_delivery_of_its_own_lead_in_a_mixed_batch():
    deliver(body("assign_tag", lead_id=1), body("assign_tag", lead_id=2))
    one, two = deliver(
        body("unassign_tag", lead_id=1),
        body("buy_product", lead_id=2),
    )
    found = Change.objects.filter(ref__in=[one.pk, two.pk]).values_list("lead__kartra_id", "ref")
    assert set(found) == {(1, one.pk), (2, two.pk)}


def _tag_body(lead_id: int, tag_id: int, name: str) -> bytes:
    payload = json.loads(body("assign_tag", lead_id=lead_id))
    payload["action_details"] = {"tag": {"tag_id": str(tag_id), "tag_name": name}}
    return json.dumps(payload).encode()


def test_a_batch_reads_only_the_tag_and_list_rows_it_writes(monkeypatch):
    """Tags and lists belong to their lead for good: a batch that changes lead 1's VIP tag
    and lead 2's list reads (before and after) those two rows only, not lead 1's other tag
    and list nor lead 2's tag, and records each change all the same."""
    deliver(
        body("assign_tag", lead_id=1),
        _tag_body(1, 22, "Buyer"),
        body("list_subscription", lead_id=1),
        body("assign_tag", lead_id=2),
        body("list_subscription", lead_id=2),
    )
    read: list[set[tuple]] = []
    real = history.mirror_views

    def recording(*args, **kwargs):
        views = real(*args, **kwargs)
        read.append(
            {
                (view.kartra_id, part, name)
                for view in views.values()
                for part in ("tags", "lists")
                for name in getattr(view, part)
            }
        )
        return views

    monkeypatch.setattr(history, "mirror_views", recording)

    one, two = deliver(body("unassign_tag", lead_id=1), body("list_unsubscription", lead_id=2))

    assert read == [{(1, "tags", "VIP"), (2, "lists", "Newsletter")}] * 2  # before, after
    assert changes(ref=one.pk, kind="tag") == [
        ("tag", "VIP", "assigned", "unassigned", "webhook", one.pk)
    ]
    assert changes(ref=two.pk, kind="list") == [
        ("list", "Newsletter", "subscribed", "unsubscribed", "webhook", two.pk)
    ]


# -- a snapshot that confirms the lead's last one -------------------------------------------


def webhook_lead_details(**overrides) -> dict:
    """``lead_details`` of lead 1234 holding what ``tests.payloads.body`` names (the VIP tag,
    the Newsletter list, the Welcome sequence), with its profile's email and name."""
    return example_details(
        id="1234",
        email="lead1234@example.com",
        first_name="John",
        tags=[{"tag_name": "VIP"}],
        lists=[{"list_name": "Newsletter", "active": "1"}],
        sequences=[{"tree_name": "Welcome", "step": "2", "status": "active"}],
        **overrides,
    )


def test_a_snapshot_confirming_the_last_one_costs_the_history_no_query(settings):
    details = webhook_lead_details()
    refresh(details, T0)
    with CaptureQueriesContext(connection) as recorded:
        refresh(details, T0 + timedelta(hours=1), run=8)
    settings.KARTRA_HISTORY_DAYS = 0
    with CaptureQueriesContext(connection) as unrecorded:
        refresh(details, T0 + timedelta(hours=2), run=9)
    assert len(recorded) == len(unrecorded)
    assert Change.objects.filter(ref__in=(8, 9)).count() == 0


def test_a_snapshot_reads_only_the_relations_it_lists_differently(settings):
    """Of a lead last observed by a snapshot, the history reads (twice: before and after)
    only the relations the new snapshot lists otherwise; here the tags."""
    details = webhook_lead_details()
    refresh(details, T0)

    def tables_read(at: datetime, run: int, tags: list) -> Counter:
        with CaptureQueriesContext(connection) as captured:
            refresh({**details, "tags": tags}, at, run=run)
        read = [re.match(r'SELECT .*? FROM "(\w+)"', q["sql"]) for q in captured]
        return Counter(match.group(1) for match in read if match)

    settings.KARTRA_HISTORY_DAYS = 0
    without = tables_read(T0 + timedelta(hours=1), 8, [{"tag_name": "Gold"}])
    settings.KARTRA_HISTORY_DAYS = 365
    with_history = tables_read(T0 + timedelta(hours=2), 9, [{"tag_name": "Silver"}])
    assert with_history - without == Counter({"leads_leadtag": 2})
    assert changes(ref=9, kind="tag") == [
        ("tag", "Gold", "assigned", "unassigned", "snapshot", 9),
        ("tag", "Silver", None, "assigned", "snapshot", 9),
    ]


def test_the_same_snapshot_after_a_newer_delivery_is_read_and_recorded():
    """A delivery received after the last snapshot changed the lead; the same answer of
    Kartra again (the change was undone there, no webhook for it) changes it back."""
    details = webhook_lead_details()
    refresh(details, T0)
    (untagged,) = deliver(body("unassign_tag", lead_id=1234), at=T0 + timedelta(minutes=5))
    assert changes(kind="tag") == [("tag", "VIP", "assigned", "unassigned", "webhook", untagged.pk)]
    refresh(details, T0 + timedelta(hours=1), run=8)
    assert changes(kind="tag", ref=8) == [("tag", "VIP", "unassigned", "assigned", "snapshot", 8)]


@pytest.mark.parametrize(
    "late",
    [
        body("unassign_tag", lead_id=1234),
        body("list_unsubscription", lead_id=1234, first_name="Late"),
        body("sequence_unsubscription", lead_id=1234),
        body("assign_tag", lead_id=1234),
    ],
    ids=["tag removed", "list left and name", "sequence left", "tag again"],
)
def test_a_delivery_older_than_the_last_snapshot_leaves_nothing_for_it_to_change(monkeypatch, late):
    """What the history's shortcut for a confirming snapshot rests on: a delivery received
    before the lead's last snapshot, applied after it, loses to it, so the same snapshot
    applied again (here read and compared in full) finds nothing to change."""
    details = webhook_lead_details()
    refresh(details, T0)
    deliver(late, at=T0 - timedelta(minutes=5))
    monkeypatch.setattr("leads.services.snapshot._nothing_since", lambda lead: False)
    refresh(details, T0 + timedelta(hours=1), run=8)
    assert changes(ref=8) == []
    assert Change.objects.exclude(ref=7).count() == 0


def test_the_same_snapshot_after_a_newer_ipn_is_read_and_recorded():
    """An IPN is no profile (the lead's last observation stays the snapshot), yet what it
    changed is for the next snapshot to change back."""
    details = webhook_lead_details()
    refresh(details, T0)
    (sale,) = details["transactions"]
    ipn = deliver_ipn(
        ipn_body(
            int(sale["transaction_id"]),
            lead_id=1234,
            product_name=sale["product_name"],
            product_price_point=sale["product_price_point"],
            transaction_full_amount="250.00",
            transaction_base_amount="250.00",
            transaction_tax="0.00",
        ),
        at=T0 + timedelta(minutes=5),
    )
    (paid,) = changes(ref=ipn.pk)
    assert (paid[2]["amount"], paid[3]["amount"]) == ("300.00", "250.00")
    refresh(details, T0 + timedelta(hours=1), run=8)
    (restored,) = changes(ref=8)
    assert restored[:2] == ("transaction", sale["transaction_id"])
    assert (restored[2]["amount"], restored[3]["amount"]) == ("250.00", "300.00")
