"""The admin index shows the dashboard's charts as inline SVG, with data."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from events.charts import Series, bar_chart, compact, nice_step
from events.dashboard import dashboard
from events.models import DeliveryStatus
from leads.models import Transaction, TransactionType
from tests.factories import (
    make_audit_run,
    make_delivery,
    make_lead,
    make_lead_graph,
    make_sync_run,
    observed,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def busy_month(db):
    graph = make_lead_graph(2)
    now = timezone.now()
    for days_ago in (0, 1, 1, 5):
        make_delivery(lead=graph.lead, action="buy_product", received_at=now - timedelta(days_ago))
    make_delivery(lead=None, action="assign_tag", status=DeliveryStatus.FAILED)
    make_delivery(lead=None, action="old", received_at=now - timedelta(days=45))
    make_lead(date_joined=now - timedelta(days=3))
    make_lead(date_joined=now - timedelta(days=90))
    make_sync_run(api_calls=100, throttled=3)
    make_sync_run(api_calls=50, throttled=0, started_at=now - timedelta(days=2))
    return graph


def test_index_renders_the_dashboard_and_keeps_the_app_list(admin_client, busy_month):
    response = admin_client.get(reverse("admin:index"))
    content = response.content.decode()
    assert 'id="kartra-dashboard"' in content
    assert content.count("<svg viewBox=") == 7  # four charts, failed payments, MRR, drift
    assert content.count("<rect ") > 4  # bars with data
    assert "<polyline" in content
    for title in (
        "Deliveries per day by action",
        "New leads per day",
        "Revenue per day",
        "Kartra API calls per day",
        "Failed payments and cancellations per day",
        "Subscriptions",
        "Sync health",
        "Drift from Kartra",
    ):
        assert title in content, title
    assert 'id="app-list"' in content or "app-leads" in content  # Django's app list stays
    assert "Leads due for refresh" in content


def test_dashboard_figures(busy_month):
    data = dashboard()
    deliveries, leads, revenue, sync = data["charts"]
    # 4 + 1 here and the graph's 2 page visits; the 45-day-old one is out of the window.
    assert "(7 in 30 days)" in deliveries.title
    legend = [name for name, _ in deliveries.legend]
    assert legend == ["buy_product", "lead_visits_page", "assign_tag", "failed"]
    assert sum(float(point.title.rsplit(" ", 1)[1]) for point in deliveries.line) == 1
    assert "(2 joined in 30 days)" in leads.title  # the graph's lead, and one 3 days ago
    # The graph's two sales of 100.00 and two refunds of 30.00.
    assert "net 140.00" in revenue.title
    assert "150 calls, 3 answered 429" in sync.title
    health = data["health"]
    assert health["last_run"].api_calls == 100
    assert health["due"] == 3 and health["never_refreshed"] == 3
    assert not health["due_more"]


def test_revenue_counts_a_refund_against_its_day(busy_month):
    Transaction.objects.create(
        kartra_id=5555,
        lead=busy_month.lead,
        transaction_type=TransactionType.REFUND,
        transaction_date=timezone.now(),
        amount=Decimal("40.00"),
        **observed(),
    )
    assert "net 100.00" in dashboard()["charts"][2].title


def test_past_days_come_from_the_cache_and_today_stays_live(busy_month):
    dashboard()  # fills the cache with the days before today
    make_delivery(lead=None, action="late", received_at=timezone.now() - timedelta(days=3))
    make_delivery(lead=None, action="today")
    with CaptureQueriesContext(connection) as queries:
        title = dashboard()["charts"][0].title
    assert "(8 in 30 days)" in title  # today's new one counts, the late one waits
    delivery_queries = [q["sql"] for q in queries if "events_delivery" in q["sql"]]
    assert len(delivery_queries) == 1
    cache.clear()
    assert "(9 in 30 days)" in dashboard()["charts"][0].title


def test_dashboard_with_no_data_renders(admin_client, db):
    content = admin_client.get(reverse("admin:index")).content.decode()
    assert content.count("<svg viewBox=") == 7  # four charts, failed payments, MRR, drift
    assert "Nothing in these 30 days." in content
    assert "never" in content


def test_dashboard_hidden_without_view_permission(client, django_user_model):
    user = django_user_model.objects.create_user("auditor", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_syncrun"))
    client.force_login(user)
    content = client.get(reverse("admin:index")).content.decode()
    assert "kartra-dashboard" not in content


def test_bar_chart_geometry():
    days = [date(2025, 1, 1) + timedelta(days=i) for i in range(3)]
    chart = bar_chart(
        "t", days, [Series("a", [1, 2, 0]), Series("b", [-1, 0, 0])], line=Series("l", [0, 1, 2])
    )
    assert len(chart.bars) == 3  # zero values draw nothing
    heights = [float(bar.height) for bar in chart.bars]
    assert heights[0] == pytest.approx(heights[1], abs=0.2)  # 1 up and 1 down are the same length
    assert float(chart.bars[2].height) == pytest.approx(2 * heights[0], abs=0.2)
    assert len(chart.line_points.split()) == 3
    assert all(re.fullmatch(r"-?\d+\.\d", bar.y) for bar in chart.bars)
    assert chart.has_data


def test_chart_helpers():
    assert nice_step(100) == 25
    assert nice_step(7) == 2
    assert nice_step(0) == 1
    assert compact(1500) == "1.5k" and compact(2_000_000) == "2M" and compact(-3) == "-3"
    assert compact(0.5) == "0.5"


def test_sync_health_shows_how_far_behind_each_class_of_the_refresh_queue_is(
    admin_client, settings
):
    settings.KARTRA_REFRESH_MAX_AGE = 24 * 3600
    now = timezone.now()
    make_lead(mirror_refresh_requested_at=now - timedelta(minutes=90))
    make_lead(mirror_refreshed_at=now - timedelta(hours=27), mirror_last_activity_at=now)
    make_lead(mirror_refreshed_at=now - timedelta(days=3))
    make_lead(mirror_refreshed_at=now)

    rows = {row["label"]: row for row in dashboard(now=now)["health"]["backlog"]}
    assert [(row["count"], row["behind"]) for row in rows.values()] == [
        (1, "1 h 30 min"),  # requested
        (0, "-"),  # never refreshed
        (1, "3 h 0 min"),  # stale and active: overdue since 27 - 24 hours
        (1, "2 d 0 h"),  # stale: 3 days - 24 hours
    ]
    content = admin_client.get(reverse("admin:index")).content.decode()
    assert "Refresh queue, in the order refreshed" in content
    assert "Stale and recently active" in content and "1 h 30 min" in content


def test_drift_over_the_month_and_the_last_audit(admin_client, busy_month):
    now = timezone.now()
    make_audit_run(started_at=now - timedelta(days=40), leads_differing=50)  # out of the window
    make_audit_run(started_at=now - timedelta(days=3), leads_differing=10)
    make_audit_run(started_at=now - timedelta(days=3), leads_differing=0)
    last = make_audit_run(busy_month.lead, started_at=now - timedelta(hours=1), api_calls=7)

    data = dashboard()

    chart = data["drift"]["chart"]
    assert "(11 of 150 in 30 days, 7.3%)" in chart.title
    shares = {bar.title.split(": ", 1)[1] for bar in chart.bars}
    assert shares == {"differed 10.0%", "agreed 90.0%", "differed 2.0%", "agreed 98.0%"}
    assert data["drift"]["last"] == last
    assert "257 calls" in data["charts"][3].title  # the sync runs' 150, the audits' 50 + 50 + 7
    content = admin_client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:events_auditrun_change", args=[last.pk]) in content
    assert "50 / 1 (2.0%)" in content
    differences = reverse("admin:events_auditdifference_changelist")
    assert f"{differences}?run__id__exact={last.pk}" in content


def test_a_month_without_drift_still_shows_its_audits(busy_month):
    make_audit_run()
    chart = dashboard()["drift"]["chart"]
    assert chart.has_data and "(0 of 50 in 30 days, 0.0%)" in chart.title
    assert [bar.title.split(": ", 1)[1] for bar in chart.bars] == ["agreed 100.0%"]
