"""Kartra's faults during a refresh (a 500 with an HTML page, a 502 with no body, a 200 whose
body is not JSON, no answer in time): each call is tried again within the limits of the
client; a lead whose every try fails is reported, retried later, and left as it was."""

from datetime import timedelta

import pytest
from django.utils import timezone

from events.models import SyncRun
from events.sync.refresh import leads_refresh
from events.sync.runs import sync_run_start
from leads.models import Lead, LeadTag, ListSubscription
from leads.services.settle import FAILED
from leads.services.sync import Target, sync_client

from .conftest import FAST
from .mirror_check import mismatches

pytestmark = pytest.mark.django_db

FAULTS = ["500", "502", "garbage", "timeout"]


@pytest.fixture
def client(fake, kartra_settings):
    fake.timeout_sleep = 0.5
    with sync_client(**FAST, timeout=0.2) as client:  # a "timeout" answers too late
        yield client


def refresh(client, lead_id: int) -> tuple[SyncRun, list[str]]:
    outcomes: list[str] = []
    recorder = sync_run_start(kind="leads", client=client)
    leads_refresh(client, [Target(kartra_id=lead_id)], recorder, workers=1,
                  on_result=lambda target, outcome: outcomes.append(outcome))  # fmt: skip
    return recorder.finish(), outcomes


def stored(lead_id: int) -> dict:
    """The lead's row and relations as stored, but for its refresh request."""
    row = Lead.objects.filter(kartra_id=lead_id).values().get()
    row.pop("mirror_refresh_requested_at")
    return {
        "lead": row,
        "tags": sorted(LeadTag.objects.filter(lead_id=row["id"]).values_list("tag__name",
                                                                              "active")),
        "lists": sorted(ListSubscription.objects.filter(lead_id=row["id"]).values_list(
            "list__name", "active")),
    }  # fmt: skip


def changed_in_kartra(fake, lead_id: int) -> None:
    """Kartra changes the lead after the mirror's last refresh (no webhook tells)."""
    lead = fake.account.lead(lead_id)
    lead.tags.add(next(t for t in fake.account.tags if t not in lead.tags))
    lead.first_name = "Changed"


@pytest.fixture
def lead_id(fake, client) -> int:
    lead_id = next(lead.id for lead in fake.account.leads.values() if not lead.deleted)
    refresh(client, lead_id)
    assert mismatches(fake.account, lead_id) == []
    changed_in_kartra(fake, lead_id)
    return lead_id


@pytest.mark.parametrize("fault", FAULTS)
def test_a_fault_is_tried_again_and_the_lead_refreshed(fake, client, lead_id, fault):
    fake.reset()
    fake.inject(*[fault] * (FAST["max_tries"] - 1))

    run, outcomes = refresh(client, lead_id)

    assert outcomes == ["refreshed"] and run.retries == FAST["max_tries"] - 1
    assert fake.calls["get_lead"] == FAST["max_tries"]
    assert mismatches(fake.account, lead_id) == []


@pytest.mark.parametrize("fault", FAULTS)
def test_a_lead_whose_every_try_fails_is_left_as_it_was(fake, client, lead_id, fault):
    before = stored(lead_id)
    fake.reset()
    fake.inject(*[fault] * FAST["max_tries"])

    run, outcomes = refresh(client, lead_id)

    assert outcomes == [FAILED] and run.leads_failed == 1 and run.errors
    assert stored(lead_id) == before
    requested = Lead.objects.get(kartra_id=lead_id).mirror_refresh_requested_at
    assert requested > timezone.now() + timedelta(minutes=14)  # tried again later
