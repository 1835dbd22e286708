"""Lead profiles of a batch: emails moving between leads, older observations."""

import pytest

from events.services import deliveries_process_batch
from leads.models import Lead
from tests.payloads import body, example_details

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
