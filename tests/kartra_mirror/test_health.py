"""/healthz and /metrics: what an operator's monitoring reads."""

from datetime import timedelta

import pytest
from django.utils import timezone

from events.models import Delivery, DeliveryStatus, SyncRun, SyncRunStatus
from kartra_mirror.counters import counter_add, counters_reset
from tests.factories import LeadFactory
from tests.payloads import body

pytestmark = pytest.mark.django_db

TOKEN = "health-test-token"


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.KARTRA_WEBHOOK_TOKENS = [TOKEN]
    settings.KARTRA_METRICS_TOKEN = "metrics-secret"
    settings.KARTRA_REDIS_URL = ""
    settings.CELERY_BROKER_URL = ""
    counters_reset()
    yield
    counters_reset()


def _delivery(status=DeliveryStatus.RECEIVED, age=timedelta(0), action="assign_tag"):
    return Delivery.objects.create(
        body=b"{}",
        body_sha256="0" * 64,
        size=2,
        action=action,
        status=status,
        received_at=timezone.now() - age,
    )


def _run(status, finished_ago, kind="due"):
    now = timezone.now()
    return SyncRun.objects.create(
        kind=kind,
        status=status,
        started_at=now - finished_ago - timedelta(seconds=5),
        finished_at=None if status == SyncRunStatus.RUNNING else now - finished_ago,
    )


def test_healthz_answers_ok_on_a_fresh_install(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    report = response.json()
    assert report["status"] == "ok" and report["failing"] == []
    assert set(report["checks"]) == {"database", "broker", "deliveries", "sync", "refresh"}
    assert report["checks"]["broker"] == {"ok": True, "configured": False}
    assert report["checks"]["deliveries"]["waiting"] == 0
    assert report["checks"]["sync"]["last_success_seconds"] is None
    assert response["Cache-Control"].startswith("max-age=0")


def test_healthz_fails_when_deliveries_wait_too_long_and_recovers(client, settings):
    settings.KARTRA_HEALTH_MAX_DELIVERY_LAG = 60
    late = _delivery(age=timedelta(seconds=120))
    _delivery(age=timedelta(seconds=5))
    response = client.get("/healthz")
    assert response.status_code == 503
    report = response.json()
    assert report["failing"] == ["deliveries"]
    assert report["checks"]["deliveries"]["waiting"] == 2
    assert report["checks"]["deliveries"]["oldest_waiting_seconds"] >= 120
    late.status = DeliveryStatus.PROCESSED
    late.save()
    assert client.get("/healthz").status_code == 200


def test_healthz_fails_when_the_last_sync_failed_or_is_too_old(client, settings):
    settings.KARTRA_HEALTH_MAX_SYNC_AGE = 3600
    _run(SyncRunStatus.SUCCEEDED, timedelta(minutes=10))
    assert client.get("/healthz").status_code == 200
    _run(SyncRunStatus.FAILED, timedelta(minutes=1))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["sync"]
    assert response.json()["checks"]["sync"]["last_status"] == "failed"
    _run(SyncRunStatus.PARTIAL, timedelta(seconds=5))
    assert client.get("/healthz").status_code == 200
    SyncRun.objects.update(finished_at=timezone.now() - timedelta(hours=2))
    assert client.get("/healthz").json()["failing"] == ["sync"]


def test_healthz_counts_overdue_leads_and_fails_past_the_setting(client, settings):
    LeadFactory.create_batch(3, mirror_refreshed_at=None)
    report = client.get("/healthz").json()
    refresh = report["checks"]["refresh"]
    assert refresh["overdue"] == 3
    assert refresh["classes"]["never_refreshed"]["leads"] == 3
    assert refresh["classes"]["never_refreshed"]["oldest_due_seconds"] >= 0
    assert report["status"] == "ok"  # no threshold set
    settings.KARTRA_HEALTH_MAX_OVERDUE = 2
    assert client.get("/healthz").json()["failing"] == ["refresh"]


def test_healthz_reports_an_unreachable_broker(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"  # nothing listens on port 9
    from kartra_mirror.celery import app

    saved = app.conf.broker_url
    app.conf.broker_url = settings.CELERY_BROKER_URL
    try:
        response = client.get("/healthz")
    finally:
        app.conf.broker_url = saved
        settings.CELERY_BROKER_URL = ""
    assert response.status_code == 503
    broker = response.json()["checks"]["broker"]
    assert broker["ok"] is False and broker["configured"] is True
    assert "127.0.0.1:9" not in response.content.decode()  # no URL (it may hold a password)


def test_healthz_shows_no_personal_data(client):
    LeadFactory(email="someone.private@example.com", first_name="Private")
    _delivery(age=timedelta(seconds=1))
    text = client.get("/healthz").content.decode()
    assert "example.com" not in text and "Private" not in text


def test_metrics_needs_the_bearer_token(client, settings):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics").headers["WWW-Authenticate"].startswith("Bearer")
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope")
    assert wrong.status_code == 401
    settings.KARTRA_METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


def _metrics(client) -> dict[str, float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer metrics-secret")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    samples = {}
    for line in response.content.decode().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def test_metrics_count_processed_deliveries_by_action_and_status(client):
    for action in ("assign_tag", "assign_tag", "list_subscription"):
        response = client.post(
            f"/webhooks/kartra/{TOKEN}/", data=body(action), content_type="application/json"
        )
        assert response.status_code == 200
    client.post(f"/webhooks/kartra/{TOKEN}/", data=b"not json", content_type="application/json")
    samples = _metrics(client)
    processed = 'kartra_deliveries_processed_total{action="%s",status="processed"}'
    assert samples[processed % "assign_tag"] == 2
    assert samples[processed % "list_subscription"] == 1
    assert samples["kartra_deliveries_received_total"] == Delivery.objects.latest("id").id
    assert samples["kartra_deliveries_waiting"] == 0
    assert samples["kartra_delivery_lag_seconds"] == 0
    assert samples['kartra_health_check_ok{check="database"}'] == 1
    assert samples["kartra_counters_available"] == 1


def test_metrics_show_the_refresh_backlog_lag_and_sync_age(client):
    LeadFactory.create_batch(2, mirror_refreshed_at=None)
    LeadFactory(mirror_refreshed_at=timezone.now(), mirror_refresh_requested_at=timezone.now())
    _delivery(age=timedelta(seconds=30))
    _run(SyncRunStatus.SUCCEEDED, timedelta(seconds=100))
    _run(SyncRunStatus.RUNNING, timedelta(0))
    counter_add("kartra_api_calls", amount=7)
    samples = _metrics(client)
    assert samples['kartra_refresh_backlog_leads{class="never_refreshed"}'] == 2
    assert samples['kartra_refresh_backlog_leads{class="requested"}'] == 1
    assert samples['kartra_refresh_backlog_leads{class="stale"}'] == 0
    assert samples['kartra_refresh_backlog_oldest_seconds{class="requested"}'] >= 0
    assert samples["kartra_deliveries_waiting"] == 1
    assert samples["kartra_delivery_lag_seconds"] >= 30
    assert 100 <= samples["kartra_sync_last_success_age_seconds"] < 200
    assert samples["kartra_sync_runs_running"] == 1
    assert samples["kartra_api_calls_total"] == 7


@pytest.mark.redis
def test_counters_from_every_process_meet_in_redis(client, settings):
    """Counts added by another process (a worker, a command) reach any web process's
    /metrics through the shared Redis hash."""
    import subprocess
    import sys

    from tests.conftest import redis_url

    settings.KARTRA_REDIS_URL = redis_url()
    counters_reset()
    code = (
        "import django; django.setup(); from kartra_mirror.counters import counter_add; "
        "counter_add('kartra_sync_runs', {'kind': 'due', 'status': 'succeeded'}, 3)"
    )
    subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        env={
            **__import__("os").environ,
            "DJANGO_SETTINGS_MODULE": "kartra_mirror.settings",
            "KARTRA_REDIS_URL": redis_url(),
        },
        timeout=60,
    )
    counter_add("kartra_sync_runs", {"kind": "due", "status": "succeeded"})
    samples = _metrics(client)
    assert samples['kartra_sync_runs_total{kind="due",status="succeeded"}'] == 4


def test_metrics_count_sync_runs_api_calls_and_refresh_outcomes(client):
    from events.sync.runs import sync_run_start
    from kartra_mirror.kartra.client import ClientStats
    from leads.services.settle import FAILED, REFRESHED

    class Client:
        stats = ClientStats(calls=5)  # calls before the run are not the run's

    recorder = sync_run_start(kind="due", client=Client())
    Client.stats.calls += 3
    Client.stats.throttled += 1
    recorder.count(REFRESHED)
    recorder.count(REFRESHED)
    recorder.save()
    Client.stats.calls += 1
    recorder.count(FAILED)
    recorder.finish()
    samples = _metrics(client)
    assert samples["kartra_api_calls_total"] == 4
    assert samples["kartra_api_throttled_total"] == 1
    assert samples['kartra_leads_refreshed_total{outcome="refreshed"}'] == 2
    assert samples['kartra_leads_refreshed_total{outcome="failed"}'] == 1
    assert samples['kartra_sync_runs_total{kind="due",status="partial"}'] == 1
