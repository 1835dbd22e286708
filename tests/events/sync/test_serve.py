"""What ``kartra_serve`` runs besides the web server: the demo (seeded once, over real HTTP)
and the refresh loop; and the Celery tasks that replace the loop when a broker is set."""

import threading
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from events.dashboard import (
    DAYS,
    Window,
    deliveries_chart,
    new_leads_chart,
    revenue_chart,
    sync_chart,
)
from events.demo import DEMO_EVENTS, DEMO_LEADS, demo_seed, demo_start, demo_state
from events.management.commands.kartra_serve import split_addrport
from events.models import Delivery, SyncRun, SyncRunStatus
from events.sync import loop as loop_module
from events.sync.loop import RefreshLoop
from events.tasks import catalog_sync_task, refresh_due_task
from kartra_fake import expected_state
from leads.models import Lead, Tag, Transaction
from tests.conftest import FAKE_ANCHOR

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

    demo = demo_start(leads=25, seed=3, anchor=FAKE_ANCHOR)
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

    # A restart: same seed, the anchor read back from the demo's run, nothing played again.
    restarted = demo_start(leads=25, seed=3)
    try:
        demo_seed(restarted, webhook_base=plain_http_server.url, events=30, seed=3,
                  say=said.append)  # fmt: skip
    finally:
        restarted.stop()
    assert not restarted.seeded_now
    assert restarted.fake.account.anchor == first.anchor == FAKE_ANCHOR
    assert Delivery.objects.count() == 30
    assert said[-1].startswith("Demo data already in place")
    again = restarted.fake.account
    assert all(
        expected_state(again, lead) == expected_state(first, first.lead(lead.id))
        for lead in again.leads.values()
    )


def _bars(chart) -> dict[str, set[str]]:
    """Each bar series of a chart -> the days it has a bar on (read from the bars' titles,
    ``"Mon 04 Nov: joined 3"``); a series without bars maps to an empty set."""
    names = [name for name, _color in chart.legend][: -1 if chart.line else None]
    found: dict[str, set[str]] = {name: set() for name in names}
    for bar in chart.bars:
        day, _, rest = bar.title.partition(": ")
        found[rest.rsplit(" ", 1)[0]].add(day)
    return found


@pytest.mark.django_db(transaction=True)
def test_demo_fills_every_dashboard_chart(plain_http_server, settings):
    """The demo account, mirrored as ``kartra_serve`` does it, with its anchor pinned: every
    series of the index's deliveries, new leads, revenue and API call charts has data in its
    30 days. The lead and revenue charts read Kartra's dates, so they are drawn as at the
    anchor; deliveries and sync runs are the mirror's own, stamped as this test runs, so
    those charts are drawn as of now.

    A quarter of the demo's deliveries are played (processing them is most of this test's
    time); they still spread over the last week. test_fake_account checks the full demo's
    shape on the fake itself."""
    settings.KARTRA_APP_ID = settings.KARTRA_API_KEY = settings.KARTRA_API_PASSWORD = ""
    settings.KARTRA_WEBHOOK_TOKENS = []
    cache.clear()  # the dashboard keeps the days before today there
    demo = demo_start(anchor=FAKE_ANCHOR)
    demo.fake.rate_limit = settings.KARTRA_API_RATE = 200  # the same data, paced less
    try:
        demo_seed(
            demo, webhook_base=plain_http_server.url, events=DEMO_EVENTS // 4, say=lambda _: None
        )
    finally:
        demo.stop()
    account = demo.fake.account
    assert len(account.leads) > DEMO_LEADS and Lead.objects.count() == len(account.leads)

    at_anchor = Window.last(DAYS, now=FAKE_ANCHOR)
    today = Window.last(DAYS)
    charts = {
        "new leads": new_leads_chart(at_anchor),
        "revenue": revenue_chart(at_anchor),
        "deliveries": deliveries_chart(today),
        "sync": sync_chart(today),
    }
    bars = {name: _bars(chart) for name, chart in charts.items()}
    series = [(chart, name, days) for chart, found in bars.items() for name, days in found.items()]
    assert [(chart, name) for chart, name, days in series if not days] == []
    assert set(bars["revenue"]) == {"sales", "refunds"}
    assert len(bars["deliveries"]) == 7  # the six busiest actions and "other"
    assert len(bars["new leads"]["joined"]) >= 25  # leads joined on nearly every day
    assert len(bars["revenue"]["sales"]) >= 25 and len(bars["revenue"]["refunds"]) >= 5
    # The played week (webhooks, then get_lead) brings its own joins and transactions.
    week = FAKE_ANCHOR - timedelta(days=7)
    assert Lead.objects.filter(date_joined__gt=week).count() >= 5
    assert Transaction.objects.filter(transaction_date__gt=week).count() >= 10
    assert not Lead.objects.filter(date_joined__gt=FAKE_ANCHOR).exists()
    assert not Transaction.objects.filter(transaction_date__gt=FAKE_ANCHOR).exists()


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
def test_loop_runs_in_a_thread_until_stopped(fake, fast_client, monkeypatch):
    lead_id = next(lead.id for lead in fake.account.leads.values() if not lead.deleted)
    Lead.objects.create(kartra_id=lead_id, mirror_refresh_requested_at=timezone.now())
    # Told by the loop itself, not by polling its tables: on SQLite a read of a table the
    # loop is writing makes the loop's write fail, and the loop then backs off for minutes.
    refreshed, due_refresh_run = threading.Event(), loop_module.due_refresh_run

    def due_run_then_tell(*args, **kwargs):
        run = due_refresh_run(*args, **kwargs)
        refreshed.set()
        return run

    monkeypatch.setattr(loop_module, "due_refresh_run", due_run_then_tell)

    loop = RefreshLoop(client_factory=fast_client, idle_sleep=0.05).start()
    assert refreshed.wait(20)
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
