"""What ``kartra_serve`` runs besides the web server: the demo (seeded once, over real HTTP)
and the refresh loop; and the Celery tasks that replace the loop when a broker is set."""

import time

import pytest
from django.utils import timezone

from events.models import Delivery, SyncRun, SyncRunStatus
from leads.demo import demo_seed, demo_start, demo_state
from leads.management.commands.kartra_serve import split_addrport
from leads.models import Lead, Tag
from leads.refresh_loop import RefreshLoop
from leads.tasks import catalog_sync_task, refresh_due_task

from .mirror_check import mismatches


@pytest.mark.parametrize(
    ("addrport", "expected"),
    [
        ("127.0.0.1:8000", ("127.0.0.1", 8000)),
        ("8001", ("127.0.0.1", 8001)),
        ("0.0.0.0:9000", ("127.0.0.1", 9000)),
        ("[::1]:8000", ("::1", 8000)),
    ],
)
def test_split_addrport(addrport, expected):
    assert split_addrport(addrport) == expected


@pytest.mark.django_db(transaction=True)
def test_demo_is_played_once_and_mirrors_the_fake(plain_http_server, settings):
    settings.KARTRA_APP_ID = settings.KARTRA_API_KEY = settings.KARTRA_API_PASSWORD = ""
    settings.KARTRA_WEBHOOK_TOKENS = []
    assert demo_state() == "empty"
    said: list[str] = []

    demo = demo_start(leads=25, seed=3)
    try:
        assert demo.fake.base_url == settings.KARTRA_API_URL
        assert [demo.webhook_token] == settings.KARTRA_WEBHOOK_TOKENS
        demo_seed(demo, webhook_base=plain_http_server.url, events=30, seed=3, say=said.append)
    finally:
        demo.stop()
    first = demo.fake.account
    assert demo.seeded_now and demo_state() == "seeded"
    assert Delivery.objects.count() == 30
    assert Lead.objects.count() == len(first.leads)
    assert [p for lead_id in first.leads for p in mismatches(first, lead_id)] == []
    assert any("playing 30 webhook deliveries" in line for line in said)

    restarted = demo_start(leads=25, seed=3)  # a restart: same seed, nothing played again
    try:
        demo_seed(restarted, webhook_base=plain_http_server.url, events=30, seed=3,
                  say=said.append)  # fmt: skip
    finally:
        restarted.stop()
    assert not restarted.seeded_now
    assert Delivery.objects.count() == 30
    assert said[-1].startswith("Demo data already in place")
    again = restarted.fake.account
    assert all(again.expected_state(i) == first.expected_state(i) for i in first.leads)


@pytest.mark.django_db
def test_demo_leaves_a_foreign_mirror_alone():
    Lead.objects.create(kartra_id=5)
    assert demo_state() == "foreign"


@pytest.mark.django_db
def test_refresh_loop_pass(fake, fast_client):
    ids = [lead.id for lead in fake.account.leads.values() if not lead.deleted][:3]
    Lead.objects.bulk_create(
        [Lead(kartra_id=i, mirror_refresh_requested_at=timezone.now()) for i in ids]
    )
    loop = RefreshLoop(client_factory=fast_client, tick=1.0)

    assert loop.run_once() == (True, False)
    assert SyncRun.objects.get(kind="catalog").status == SyncRunStatus.SUCCEEDED
    assert SyncRun.objects.get(kind="due").leads_refreshed == 3
    assert Tag.objects.exists()

    assert loop.run_once() == (False, False)  # nothing due, catalogue not due yet
    assert fake.calls["retrieve_account_tags"] == 1


@pytest.mark.django_db(transaction=True)
def test_loop_runs_in_a_thread_until_stopped(fake, fast_client):
    lead_id = next(lead.id for lead in fake.account.leads.values() if not lead.deleted)
    Lead.objects.create(kartra_id=lead_id, mirror_refresh_requested_at=timezone.now())

    loop = RefreshLoop(client_factory=fast_client, idle_sleep=0.05).start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not SyncRun.objects.filter(kind="due").exists():
        time.sleep(0.05)
    loop.stop(timeout=20)

    assert not loop._thread.is_alive()
    assert SyncRun.objects.get(kind="catalog").status == SyncRunStatus.SUCCEEDED
    assert Lead.objects.get(kartra_id=lead_id).mirror_refreshed_at is not None


@pytest.mark.django_db
def test_celery_tasks_call_the_same_services(fake, kartra_settings):
    lead_id = next(lead.id for lead in fake.account.leads.values() if not lead.deleted)
    Lead.objects.create(kartra_id=lead_id, mirror_refresh_requested_at=timezone.now())

    catalog_run = SyncRun.objects.get(pk=catalog_sync_task())
    due_run = SyncRun.objects.get(pk=refresh_due_task())

    assert catalog_run.kind == "catalog" and due_run.leads_refreshed == 1
    assert refresh_due_task() is None  # nothing due
