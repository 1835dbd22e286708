"""End to end over real HTTP: a fake account of 200 leads, its webhooks played through the
live webhook endpoint, the lead ids imported, then ``kartra_sync --all``: the mirror equals
the fake's truth for every lead, field and relation."""

from io import StringIO

import httpx
import pytest
from django.core.management import call_command

from events.models import Delivery, DeliveryStatus, SyncRun, SyncRunStatus
from kartra_fake import FakeAccount, FakeKartra, generate_account, play_events, post_webhook
from leads.models import Lead
from tests.conftest import FAKE_ANCHOR

from .conftest import CREDENTIALS, TOKEN
from .mirror_check import mismatches

LEADS = 200
EVENTS = 200


@pytest.fixture
def account() -> FakeAccount:
    return generate_account(LEADS, seed=11, anchor=FAKE_ANCHOR)


@pytest.fixture
def fake(account):
    # Kartra allows 20 calls/s; the fake takes more here so the suite stays fast (the rate
    # limiter against a 20/s fake has its own tests).
    with FakeKartra(account, rate_limit=400, **CREDENTIALS) as running:
        yield running


@pytest.mark.django_db(transaction=True)
def test_account_mirrored_through_webhooks_import_and_sync(
    plain_http_server, fake, kartra_settings, fast_client, tmp_path
):
    live_server = plain_http_server
    kartra_settings.KARTRA_API_RATE = 300
    url = f"{live_server.url}/webhooks/kartra/{TOKEN}/"
    with httpx.Client(timeout=30) as http:
        for _mutation, body in play_events(fake.account, EVENTS, seed=5):
            assert post_webhook(url, body, client=http).status_code == 200
    assert Delivery.objects.filter(status=DeliveryStatus.PROCESSED).count() == EVENTS

    ids = tmp_path / "lead-ids.txt"
    ids.write_text("\n".join(str(lead_id) for lead_id in fake.account.leads) + "\n")
    out = StringIO()
    call_command("kartra_import_leads", str(ids), stdout=out)
    known = Lead.objects.count()
    assert known == len(fake.account.leads)

    fake.reset()
    call_command("kartra_sync", "--all", stdout=out)

    run = SyncRun.objects.get(kind="all")
    deleted = sum(lead.deleted for lead in fake.account.leads.values())
    assert run.status == SyncRunStatus.SUCCEEDED, run.errors
    assert (run.leads_refreshed + run.leads_unchanged, run.leads_not_found) == (
        known - deleted, deleted,
    )  # fmt: skip
    assert fake.calls["get_lead"] == known and run.throttled == 0

    problems = [p for lead_id in fake.account.leads for p in mismatches(fake.account, lead_id)]
    assert problems == [], "\n".join(problems[:40])
