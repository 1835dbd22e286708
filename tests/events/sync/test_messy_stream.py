"""After a full sync, a messy webhook stream (duplicates, reordering, drops) stored through
the live endpoint, processed in batches, and the refreshes it asks for: the mirror equals
the fake's truth for every lead and field."""

import random
from io import StringIO

import httpx
import pytest
from django.core.management import call_command

from events import views
from events.drain import deliveries_drain
from events.models import Activity, Delivery, DeliveryStatus, SyncRun, SyncRunStatus
from kartra_fake import FakeAccount, FakeKartra, generate_account, play_events, post_webhook
from leads.models import Lead
from tests.conftest import FAKE_ANCHOR

from .conftest import CREDENTIALS, TOKEN
from .mirror_check import mismatches

LEADS = 60
EVENTS = 240

#: Problems a delivery that never came (or came twice) explains on its lead's timeline.
TIMELINE = ("activity:", "forms:", "affiliate_products:", "jv_products:")


@pytest.fixture
def account() -> FakeAccount:
    return generate_account(LEADS, seed=21, anchor=FAKE_ANCHOR)


@pytest.fixture
def fake(account):
    with FakeKartra(account, rate_limit=400, **CREDENTIALS) as running:
        yield running


def messy(stream: list[tuple[int, dict]], rng: random.Random) -> tuple[list, set[int]]:
    """Each body dropped (1 in 8, unless it is its lead's last one), sent twice (1 in 8),
    and shuffled within windows of ten. Returns what is sent, and the leads some of whose
    bodies were dropped or doubled."""
    last = {lead_id: n for n, (lead_id, _) in enumerate(stream)}
    sent, irregular = [], set()
    for n, (lead_id, body) in enumerate(stream):
        roll = rng.random()
        if roll < 0.125 and last[lead_id] != n:
            irregular.add(lead_id)
            continue
        sent.append((lead_id, body))
        if roll > 0.875:
            irregular.add(lead_id)
            sent.append((lead_id, body))
    for start in range(0, len(sent), 10):
        window = sent[start : start + 10]
        rng.shuffle(window)
        sent[start : start + 10] = window
    return sent, irregular


@pytest.mark.django_db(transaction=True)
def test_a_messy_stream_after_a_full_sync_leaves_the_mirror_equal_to_kartra(
    plain_http_server, fake, kartra_settings, fast_client, tmp_path, monkeypatch
):
    kartra_settings.KARTRA_API_RATE = 300
    kartra_settings.KARTRA_PROCESS_INLINE = False
    monkeypatch.setattr(views, "deliveries_drain_soon", lambda: None)  # drained below
    ids = tmp_path / "lead-ids.txt"
    ids.write_text("\n".join(str(lead_id) for lead_id in fake.account.leads) + "\n")
    out = StringIO()
    call_command("kartra_import_leads", str(ids), stdout=out)
    call_command("kartra_sync", "--all", stdout=out)
    assert [p for lead_id in fake.account.leads for p in mismatches(fake.account, lead_id)] == []

    stream = [(m.lead_id, body) for m, body in play_events(fake.account, EVENTS, seed=8)]
    sent, irregular = messy(stream, random.Random(4))
    assert len(sent) != len(stream) and irregular
    url = f"{plain_http_server.url}/webhooks/kartra/{TOKEN}/"
    with httpx.Client(timeout=30) as http:
        for _lead_id, body in sent:
            response = post_webhook(url, body, client=http)
            assert (response.status_code, response.json()["status"]) == (200, "received")
    assert deliveries_drain() == len(sent)
    assert Delivery.objects.filter(status=DeliveryStatus.PROCESSED).count() == len(sent)

    fake.reset()
    call_command("kartra_sync", "--due", stdout=out)
    run = SyncRun.objects.filter(kind="due").latest("started_at")
    assert run.status == SyncRunStatus.SUCCEEDED, run.errors

    problems = []
    for lead_id in fake.account.leads:
        found = mismatches(fake.account, lead_id)
        if lead_id in irregular:
            # Its timeline holds what came: one activity row per delivery, duplicates too.
            found = [p for p in found if not p.split(" ", 2)[2].startswith(TIMELINE)]
            rows = Activity.objects.filter(lead__kartra_id=lead_id).count()
            baseline = Delivery.objects.filter(lead_kartra_id=lead_id).count()
            if rows != baseline:
                found.append(f"lead {lead_id}: {rows} activity rows for {baseline} deliveries")
        problems += found
    assert problems == [], "\n".join(problems[:40])
    assert Lead.objects.count() == len(fake.account.leads)
