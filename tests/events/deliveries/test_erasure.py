"""``kartra_erase``: a lead and every row about it go, every stored mention of it is
redacted, its identifiers are suppressed (later webhooks stored redacted, not mirrored),
``--lift`` undoes that, and the erasure is recorded without personal data."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import models
from django.utils import timezone

from events.models import (
    Activity,
    AuditDifference,
    AuditRun,
    Delivery,
    DeliveryStatus,
    DriftCause,
    Erasure,
    SyncRun,
)
from events.services import deliveries_process_batch, delivery_process, delivery_store
from leads.models import Lead, LeadTag, Segment, Suppression, Transaction
from leads.normalize import WEBHOOK_ACTIONS
from tests.factories import ChangeFactory
from tests.payloads import body

pytestmark = pytest.mark.django_db

ERASED = {"id": 501, "email": "Zeb.Quixote@example.org", "first_name": "Zebulon",
          "last_name": "Quixotic", "phone": "5550199887"}  # fmt: skip
KEPT = {"id": 502, "email": "bea.keepwell@example.org", "first_name": "Beatrice",
        "last_name": "Keepwell", "phone": "5550111222"}  # fmt: skip
#: What must be found nowhere once the erased lead is erased.
SEARCHED = ("zeb.quixote@example.org", "zeb.quixote%40example.org", "zebulon", "quixotic",
            "5550199887")  # fmt: skip


def person_body(action: str, person: dict, **details) -> bytes:
    """A documented delivery about ``person``: their lead block, and their name, email and
    phone as the buyer of any transaction."""
    payload = json.loads(
        body(
            action,
            lead_id=person["id"],
            email=person["email"],
            first_name=person["first_name"],
            middle_name="",
            last_name=person["last_name"],
            last_name2="",
            phone=person["phone"],
        )
    )
    txn = (payload["action_details"] or {}).get("transaction_details")
    if txn:
        txn.update(
            buyer_first_name=person["first_name"],
            buyer_last_name=person["last_name"],
            buyer_email=person["email"],
            buyer_billing_phone_number=person["phone"],
            buyer_id=str(person["id"]),
            transaction_id=str(int(txn["transaction_id"]) + person["id"] * 100),
            transaction_parent_id="0",
        )
    payload["action_details"] = {**(payload["action_details"] or {}), **details}
    return json.dumps(payload).encode()


def process_all() -> None:
    while deliveries_process_batch():
        pass


def erase(*args: str) -> str:
    out = StringIO()
    call_command("kartra_erase", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def mirror_both() -> dict[str, list[int]]:
    """Every documented action for both people, processed; the erased person also in a
    rejected delivery, an audit difference, a sync run's record and a segment's search.
    Returns the delivery ids of each."""
    ids = {"erased": [], "kept": []}
    for action in sorted(WEBHOOK_ACTIONS):
        ids["erased"].append(delivery_store(body=person_body(action, ERASED)).pk)
        ids["kept"].append(delivery_store(body=person_body(action, KEPT)).pk)
    rejected = f'{{"lead": {{"email": "{ERASED["email"]}"}}, "action": ""}}'.encode()
    ids["erased"].append(delivery_store(body=rejected).pk)
    # The kept lead's delivery that names the erased one: only that mention goes.
    mention = json.loads(person_body("assign_tag", KEPT, referrer=ERASED["email"]))
    mention["action"] = "some_new_action"  # undocumented: its details kept as activity
    ids["mention"] = [delivery_store(body=json.dumps(mention).encode()).pk]
    process_all()
    run = AuditRun.objects.create(kind="leads", started_at=timezone.now())
    AuditDifference.objects.create(
        run=run, lead=Lead.objects.get(kartra_id=ERASED["id"]), lead_kartra_id=ERASED["id"],
        relation="profile", name="phone", mirror_value=ERASED["phone"], kartra_value="5550000",
        cause=DriftCause.NO_WEBHOOK,
    )  # fmt: skip
    SyncRun.objects.create(
        kind="leads", started_at=timezone.now(), arguments={"emails": [ERASED["email"]]},
        errors=[{"target": f"<{ERASED['email'].upper()}>", "error": "LeadNotFound"}],
    )  # fmt: skip
    Segment.objects.create(name="one person", filters="q=zeb.quixote%40example.org")
    # The kept lead once held the erased person's email (an email that moved): its history.
    ChangeFactory(
        lead=Lead.objects.get(kartra_id=KEPT["id"]), kind="profile", name="email",
        old=ERASED["email"], new=KEPT["email"],
    )  # fmt: skip
    return ids


def personal_hits(model: type[models.Model]) -> list[str]:
    """Which of ``SEARCHED`` any text, JSON or binary column of any row of ``model`` holds."""
    kinds = (models.CharField, models.TextField, models.JSONField, models.BinaryField)
    fields = [f.attname for f in model._meta.concrete_fields if isinstance(f, kinds)]
    hits = []
    for row in model._default_manager.values_list(*fields) if fields else ():
        for value in row:
            if isinstance(value, bytes | memoryview):
                text = bytes(value).decode("utf-8", "replace")
            else:
                text = value if isinstance(value, str) else json.dumps(value)
            hits += [f"{model._meta.label}: {s}" for s in SEARCHED if s in text.lower()]
    return hits


def test_erasure_is_complete_and_leaves_other_leads_untouched():
    ids = mirror_both()
    kept_lead = Lead.objects.get(kartra_id=KEPT["id"])
    kept_bodies = dict(Delivery.objects.filter(pk__in=ids["kept"]).values_list("pk", "body"))
    kept_tags = LeadTag.objects.filter(lead=kept_lead).count()
    deliveries_before = Delivery.objects.count()
    assert Transaction.objects.filter(buyer_email=ERASED["email"]).exists()
    assert any(personal_hits(model) for model in apps.get_models())  # the search can fail

    output = erase("--email", ERASED["email"].upper(), "--yes")

    hits = [hit for model in apps.get_models() for hit in personal_hits(model)]
    assert hits == []
    assert not Lead.objects.filter(kartra_id=ERASED["id"]).exists()
    assert not AuditDifference.objects.filter(lead_kartra_id=ERASED["id"]).exists()
    assert Delivery.objects.count() == deliveries_before  # kept, redacted
    redacted = Delivery.objects.filter(pk__in=ids["erased"])
    assert all(d.redacted_at and d.lead_kartra_id is None for d in redacted)
    actions = {json.loads(bytes(d.body)).get("action") for d in redacted}
    assert "buy_product" in actions  # the action stays readable
    assert "zeb" not in output.lower() and "Erased (record" in output
    # The other lead: unchanged, and its deliveries still replay.
    kept_lead.refresh_from_db()
    assert kept_lead.email == KEPT["email"]
    assert LeadTag.objects.filter(lead=kept_lead).count() == kept_tags
    assert dict(Delivery.objects.filter(pk__in=ids["kept"]).values_list("pk", "body")) == (
        kept_bodies
    )
    for pk in [*ids["kept"], *ids["mention"]]:
        assert delivery_process(delivery_id=pk).status in ("processed", "unknown_action")
    mention = Activity.objects.get(delivery_id=ids["mention"][0])
    assert mention.details["action_details"]["referrer"] == "[erased]"
    # Replaying the erased lead's deliveries brings nothing back.
    for pk in ids["erased"]:
        delivery_process(delivery_id=pk)
    assert not Lead.objects.filter(kartra_id=ERASED["id"]).exists()


def test_the_record_says_who_when_and_how_many_never_whom():
    mirror_both()
    erase("--id", str(ERASED["id"]), "--no-input")

    record = Erasure.objects.get()
    assert record.actor.startswith("os:") and record.lead_found
    assert record.counts["leads.Lead"] == 1
    assert record.counts["leads.Transaction"] >= 3
    assert record.counts["events.Activity"] >= len(WEBHOOK_ACTIONS)
    assert record.counts["events.Delivery (redacted)"] == len(WEBHOOK_ACTIONS) + 1
    assert record.counts["events.AuditDifference"] == 1
    assert record.counts["events.SyncRun (scrubbed)"] == 1
    assert personal_hits(Erasure) == []
    assert Suppression.objects.count() == 2  # the email and the Kartra id, hashed
    assert personal_hits(Suppression) == []


def test_dry_run_counts_and_changes_nothing():
    mirror_both()
    output = erase("--email", ERASED["email"], "--dry-run")

    assert "Would erase: the lead." in output and "leads.Lead: 1" in output
    assert "zeb" not in output.lower()
    assert Lead.objects.filter(kartra_id=ERASED["id"]).exists()
    assert not Erasure.objects.exists() and not Suppression.objects.exists()
    assert not Delivery.objects.filter(redacted_at__isnull=False).exists()


def test_without_yes_it_asks_and_a_no_changes_nothing(monkeypatch):
    mirror_both()
    monkeypatch.setattr("builtins.input", lambda prompt: "no")
    with pytest.raises(CommandError, match="cancelled"):
        erase("--id", str(ERASED["id"]))
    assert Lead.objects.filter(kartra_id=ERASED["id"]).exists()

    monkeypatch.setattr("builtins.input", lambda prompt: "yes")
    erase("--id", str(ERASED["id"]))
    assert not Lead.objects.filter(kartra_id=ERASED["id"]).exists()


def test_an_email_and_an_id_of_two_different_leads_are_refused():
    mirror_both()
    with pytest.raises(CommandError, match="two different leads"):
        erase("--email", ERASED["email"], "--id", str(KEPT["id"]), "--yes")
    with pytest.raises(CommandError, match="--email or --id"):
        erase("--yes")


def test_later_webhooks_are_stored_redacted_and_not_mirrored():
    mirror_both()
    erase("--email", ERASED["email"], "--yes")

    by_id = delivery_store(body=person_body("assign_tag", ERASED))
    # The same email under another Kartra id (re-created in Kartra): suppressed by email.
    by_email = delivery_store(body=person_body("buy_product", {**ERASED, "id": 777}))
    process_all()

    for pk in (by_id.pk, by_email.pk):
        delivery = Delivery.objects.get(pk=pk)
        assert delivery.status == DeliveryStatus.SUPPRESSED
        assert delivery.redacted_at is not None and delivery.lead_id is None
        assert "quixote" not in bytes(delivery.body).decode().lower()
        assert json.loads(bytes(delivery.body))["redacted"] is True
    assert not Lead.objects.filter(kartra_id__in=[ERASED["id"], 777]).exists()
    assert [h for m in (Delivery, Activity, Lead) for h in personal_hits(m)] == []
    # Replaying a suppressed delivery keeps it so.
    assert delivery_process(delivery_id=by_id.pk).status == DeliveryStatus.SUPPRESSED


def test_lift_lets_the_lead_be_mirrored_again():
    mirror_both()
    erase("--email", ERASED["email"], "--id", str(ERASED["id"]), "--yes")

    assert "Lifted 2 suppression(s)." in erase(
        "--lift", "--email", ERASED["email"], "--id", str(ERASED["id"])
    )
    assert not Suppression.objects.exists()
    delivery_store(body=person_body("assign_tag", ERASED))
    process_all()
    assert Lead.objects.get(kartra_id=ERASED["id"]).email == ERASED["email"]


def test_erasing_someone_the_mirror_never_held_still_suppresses_and_scrubs():
    rejected = delivery_store(body=b'{"lead": {"email": "nobody.known@example.org"}}')
    process_all()
    output = erase("--email", "Nobody.Known@example.org", "--yes")

    assert "no lead in the mirror" in output
    delivery = Delivery.objects.get(pk=rejected.pk)
    assert delivery.redacted_at is not None
    assert b"nobody.known" not in bytes(delivery.body)
    assert Suppression.objects.count() == 1
    assert not Erasure.objects.get().lead_found


def test_a_failed_delivery_whose_error_quotes_the_email_is_redacted():
    failed = delivery_store(
        body=b"",
        status=DeliveryStatus.FAILED,
        error="PayloadError: lead.email 'zeb.quixote@example.org'",
    )
    Delivery.objects.filter(pk=failed.pk).update(body=None)  # pruned since
    unrelated = delivery_store(
        body=b"", status=DeliveryStatus.FAILED, error="bad joezeb.quixote@example.org.uk"
    )
    erase("--email", ERASED["email"], "--yes")

    failed.refresh_from_db()
    assert failed.redacted_at is not None and "quixote" not in failed.error
    assert Delivery.objects.get(pk=unrelated.pk).error == "bad joezeb.quixote@example.org.uk"
