"""Lead profiles of a batch: emails moving between leads, older observations."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from events.models import DeliveryKind
from events.services import deliveries_process_batch
from leads.models import Lead
from tests.payloads import body, example_details, ipn_body

from ._helpers import at, snapshot, store

pytestmark = pytest.mark.django_db


def _lead_details(kartra_id: int, email: str) -> dict:
    return example_details(id=str(kartra_id), email=email, calendars=[], surveys=[],
                           transactions=[])  # fmt: skip


def test_an_older_profile_does_not_take_an_email_a_newer_observation_gave_another_lead():
    """Lead 1 had x@ at t5 (its webhook, processed late); a get_lead of lead 2 at t10 says
    lead 2 holds x@ now. The late webhook leaves x@ with lead 2."""
    snapshot(_lead_details(2, "x@example.com"), at(10))
    store(body("assign_tag", lead_id=1, email="x@example.com"), at(5))

    assert deliveries_process_batch() == 1

    emails = dict(Lead.objects.values_list("kartra_id", "email"))
    assert emails[2] == "x@example.com"


def test_two_leads_swap_emails_in_one_batch():
    store(body("assign_tag", lead_id=1, email="a@example.com"), at(0))
    store(body("assign_tag", lead_id=2, email="b@example.com"), at(1))
    assert deliveries_process_batch() == 2
    store(body("assign_tag", lead_id=1, email="b@example.com"), at(2))
    store(body("assign_tag", lead_id=2, email="a@example.com"), at(3))

    assert deliveries_process_batch() == 2

    emails = dict(Lead.objects.values_list("kartra_id", "email"))
    assert emails == {1: "b@example.com", 2: "a@example.com"}


def test_snapshots_swap_emails_in_one_batch():
    from leads.models import Source
    from leads.normalize import parse_lead_details
    from leads.services.observation import Observation
    from leads.services.snapshot import snapshots_apply

    snapshot(_lead_details(1, "a@example.com"), at(0))
    snapshot(_lead_details(2, "b@example.com"), at(0))
    snapshots_apply(
        [
            (parse_lead_details(_lead_details(1, "B@example.com")),
             Observation(at(5), Source.SNAPSHOT, 1)),
            (parse_lead_details(_lead_details(2, "a@example.com")),
             Observation(at(5), Source.SNAPSHOT, 1)),
        ]
    )  # fmt: skip
    emails = dict(Lead.objects.values_list("kartra_id", "email"))
    assert emails == {1: "B@example.com", 2: "a@example.com"}


def test_pending_import_is_claimed_by_the_new_lead():
    Lead.objects.create(email="P@example.com", mirror_status="pending")
    store(body("assign_tag", lead_id=7, email="p@example.com"), at(0))
    assert deliveries_process_batch() == 1
    assert list(Lead.objects.values_list("kartra_id", "email")) == [(7, "p@example.com")]


def test_pending_import_with_the_email_a_known_lead_moves_to_is_merged():
    store(body("assign_tag", lead_id=7, email="old@example.com"), at(0))
    assert deliveries_process_batch() == 1
    Lead.objects.create(email="new@example.com", mirror_status="pending")
    store(body("assign_tag", lead_id=7, email="new@example.com"), at(1))
    assert deliveries_process_batch() == 1
    assert list(Lead.objects.values_list("kartra_id", "email")) == [(7, "new@example.com")]


def _lead_update_columns(statements: list[str]) -> set[str]:
    """The columns of the batch's one UPDATE of ``leads_lead`` (``WITH "listed" (...)``)."""
    (update,) = [sql for sql in statements if 'UPDATE "leads_lead"' in sql and "listed" in sql]
    listed = re.match(r'WITH "listed" \(([^)]*)\)', update).group(1)
    return {name.strip().strip('"') for name in listed.split(",")} - {"id"}


def _process(*raw: bytes, minutes: float) -> list[str]:
    for n, one in enumerate(raw):
        store(one, at(minutes + n / 60))
    with CaptureQueriesContext(connection) as captured:
        assert deliveries_process_batch() == len(raw)
    return [query["sql"] for query in captured.captured_queries]


def test_a_batch_writes_the_profile_columns_its_leads_changed_and_no_other():
    _process(body("assign_tag", lead_id=1), body("assign_tag", lead_id=2), minutes=0)

    columns = _process(
        body("assign_tag", lead_id=1, company="Acme"),
        body("assign_tag", lead_id=2, phone="7654321"),
        minutes=1,
    )

    assert {"company", "phone", "mirror_raw"} <= _lead_update_columns(columns)
    assert not {"first_name", "email", "city", "date_joined", "score"} & _lead_update_columns(
        columns
    )
    leads = {lead.kartra_id: lead for lead in Lead.objects.all()}
    assert (leads[1].company, leads[1].phone) == ("Acme", "1234567")
    assert (leads[2].company, leads[2].phone) == ("company", "7654321")
    assert leads[1].first_name == leads[2].first_name == "John"
    assert leads[2].mirror_raw["phone"] == "7654321"


def test_a_profile_as_stored_writes_only_the_leads_bookkeeping():
    """No profile column is written again; the raw block is, whole, since a batch of
    webhooks leaves the stored one unread (``leads_lock(raw=False)``)."""
    _process(body("assign_tag", lead_id=1), minutes=0)
    before = Lead.objects.get()

    columns = _lead_update_columns(_process(body("assign_tag", lead_id=1), minutes=1))

    assert columns == {
        "mirror_last_activity_at",
        "mirror_profile_observed_at",
        "mirror_raw",
        "mirror_raw_source",
        "mirror_refresh_requested_at",
        "mirror_status",
        "mirror_updated",
        "mirror_webhook_at",
    }
    lead = Lead.objects.get()
    assert lead.mirror_profile_observed_at == at(1)
    assert lead.mirror_webhook_at > before.mirror_webhook_at
    assert lead.mirror_raw == before.mirror_raw


def test_a_batch_of_webhooks_reads_of_the_stored_raw_block_its_custom_fields_only():
    """A lead's largest value, decoded for nothing: the lock reads ``custom_fields`` out of
    it, which tells whether the custom values need writing again."""
    _process(body("assign_tag", lead_id=1), minutes=0)

    statements = _process(body("unassign_tag", lead_id=1), minutes=1)

    (lock,) = [sql for sql in statements if sql.startswith('SELECT "leads_lead"."id",')]
    selected = lock.split(" FROM ", 1)[0]
    assert ', "leads_lead"."mirror_raw",' not in selected  # as a column of its own
    assert "custom_fields" in selected
    assert not [sql for sql in statements if "leads_customfieldvalue" in sql]  # as stored
    assert Lead.objects.get().mirror_raw["custom_fields"][0]["field_identifier"] == "color"


def test_leads_of_a_batch_that_take_no_profile_keep_their_raw_block_unread():
    """An IPN's lead, or a lead whose webhook is older than its profile, takes no profile:
    its stored raw block stays as it is, and is never read lead by lead."""
    for kartra_id in (1, 2, 3):
        store(body("assign_tag", lead_id=kartra_id, company=f"Co {kartra_id}"), at(10))
    assert deliveries_process_batch() == 3
    raw = dict(Lead.objects.values_list("kartra_id", "mirror_raw"))
    store(body("unassign_tag", lead_id=1, company="Acme"), at(11))  # a profile applied
    store(ipn_body(9002, lead_id=2), at(11), kind=DeliveryKind.IPN)  # no profile
    store(body("unassign_tag", lead_id=3, company="Old"), at(1))  # older: skipped

    with CaptureQueriesContext(connection) as captured:
        assert deliveries_process_batch() == 3

    reload = 'SELECT "leads_lead"."id", "leads_lead"."mirror_raw"'
    assert not [query for query in captured.captured_queries if reload in query["sql"]]
    stored = dict(Lead.objects.values_list("kartra_id", "mirror_raw"))
    assert stored[1]["company"] == "Acme"
    assert (stored[2], stored[3]) == (raw[2], raw[3])


def test_a_profile_that_changes_a_value_back_within_a_batch_stores_the_newest():
    _process(body("assign_tag", lead_id=1), minutes=0)

    _process(
        body("assign_tag", lead_id=1, company="Acme"),
        body("assign_tag", lead_id=1, company="company"),
        minutes=1,
    )

    lead = Lead.objects.get()
    assert lead.company == "company"
    assert lead.mirror_raw["company"] == "company"


def test_a_batch_inserts_only_the_leads_it_has_not_seen():
    _process(body("assign_tag", lead_id=1), minutes=0)

    statements = _process(body("assign_tag", lead_id=1), body("assign_tag", lead_id=2), minutes=1)

    (insert,) = [sql for sql in statements if sql.startswith('INSERT INTO "leads_lead"')]
    assert sorted(Lead.objects.values_list("kartra_id", flat=True)) == [1, 2]
    statements = _process(body("assign_tag", lead_id=2), minutes=2)
    assert not [sql for sql in statements if sql.startswith('INSERT INTO "leads_lead"')]


@pytest.mark.parametrize("skip_busy", [False, True], ids=["waiting", "skipping"])
def test_a_lead_erased_between_its_sight_and_its_lock(monkeypatch, skip_busy):
    """A lead seen by the batch and deleted before its lock (its erasure committed in
    between): a batch that waits for its leads takes it as a new lead; one that skips busy
    leads leaves it for a later batch."""
    from django.db import transaction

    from leads.services import lead as lead_service

    _process(body("assign_tag", lead_id=1), minutes=0)
    claim = lead_service._claim_pending

    def erased_meanwhile(new):
        Lead.objects.filter(kartra_id=1).delete()
        return claim(new)

    monkeypatch.setattr(lead_service, "_claim_pending", erased_meanwhile)
    with transaction.atomic():
        if skip_busy:
            leads, blocked = lead_service.leads_lock_available(emails_by_id={1: ["x@example.com"]})
            assert (leads, blocked) == ({}, {1})
        else:
            leads = lead_service.leads_lock(emails_by_id={1: ["x@example.com"]})
            assert leads[1].mirror_status == "pending"
