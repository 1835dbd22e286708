"""What an operator's monitoring reads: ``/healthz`` (is something wrong that a person must
fix?) and ``/metrics`` (Prometheus). Neither shows personal data: counts, ages and names of
the project's own states only.

``/healthz`` answers 200 when every check passes and 503 when one fails:

- ``database``: a query answers;
- ``broker``: with ``CELERY_BROKER_URL``, a connection to it opens (without one, background
  work runs in the web process and there is nothing to check);
- ``deliveries``: the oldest stored delivery not processed yet is at most
  ``KARTRA_HEALTH_MAX_DELIVERY_LAG`` seconds old (workers stopped or stuck fail this);
- ``sync``: the last finished sync run did not fail (refused credentials, Kartra
  unreachable) and the last successful one is at most ``KARTRA_HEALTH_MAX_SYNC_AGE``
  seconds old (beat stopped fails this); before the first run finishes there is nothing to
  judge;
- ``refresh``: each class of the due queue (requested, never refreshed, stale and active,
  stale) with its size and how long its oldest lead has been due; it fails only when more
  than ``KARTRA_HEALTH_MAX_OVERDUE`` leads are overdue (requested ones aside), when that is
  set.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Max
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from kartra_mirror.counters import counters_read, parse_field
from leads.services.due import REQUESTED, due_backlog
from leads.services.sync import credentials_configured

from .models import Delivery, DeliveryStatus, SyncRun, SyncRunStatus

#: Sync run outcomes that count as a successful sync.
SYNC_SUCCEEDED = (SyncRunStatus.SUCCEEDED, SyncRunStatus.PARTIAL)
#: Rows counted at most: deliveries waiting, leads of each class of the due queue.
COUNT_BOUND = 100_000


def _seconds_since(moment: datetime | None, now: datetime) -> float | None:
    return None if moment is None else round(max(0.0, (now - moment).total_seconds()), 1)


def check_database() -> dict[str, Any]:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 1)}


def check_broker() -> dict[str, Any]:
    if not settings.CELERY_BROKER_URL:
        return {"ok": True, "configured": False}
    from kartra_mirror.celery import app

    started = time.perf_counter()
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # noqa: BLE001 - kombu raises many kinds; the type is the report
        return {"ok": False, "configured": True, "error": type(exc).__name__}
    return {
        "ok": True,
        "configured": True,
        "latency_ms": round((time.perf_counter() - started) * 1000, 1),
    }


def check_deliveries(now: datetime) -> dict[str, Any]:
    waiting = Delivery.objects.filter(status=DeliveryStatus.RECEIVED)
    oldest = waiting.order_by("received_at").values_list("received_at", flat=True).first()
    lag = _seconds_since(oldest, now)
    limit = settings.KARTRA_HEALTH_MAX_DELIVERY_LAG
    return {
        "ok": lag is None or lag <= limit,
        "waiting": waiting.order_by().values("received_at")[:COUNT_BOUND].count(),
        "oldest_waiting_seconds": lag,
        "max_lag_seconds": limit,
    }


def check_sync(now: datetime) -> dict[str, Any]:
    finished = SyncRun.objects.exclude(status=SyncRunStatus.RUNNING)
    last = finished.order_by("-finished_at", "-id").values("status", "finished_at").first()
    succeeded = finished.filter(status__in=SYNC_SUCCEEDED).aggregate(at=Max("finished_at"))["at"]
    age = _seconds_since(succeeded, now)
    limit = settings.KARTRA_HEALTH_MAX_SYNC_AGE
    report: dict[str, Any] = {
        "credentials": credentials_configured(),
        "last_status": last["status"] if last else None,
        "last_success_seconds": age,
        "max_age_seconds": limit,
        "running": SyncRun.objects.filter(status=SyncRunStatus.RUNNING).count(),
    }
    if last is None:
        report["ok"] = True  # nothing has finished yet: nothing to judge
    elif last["status"] == SyncRunStatus.FAILED:
        report["ok"] = False
    else:
        report["ok"] = age is not None and age <= limit
    return report


def check_refresh(now: datetime) -> dict[str, Any]:
    backlog = due_backlog(bound=COUNT_BOUND, now=now)
    overdue = sum(row.count for row in backlog if row.name != REQUESTED)
    limit = settings.KARTRA_HEALTH_MAX_OVERDUE
    return {
        "ok": not limit or overdue <= limit,
        "overdue": overdue,
        "classes": {
            row.name: {
                "leads": row.count,
                "more": row.more,
                "oldest_due_seconds": _seconds_since(row.due_since, now),
            }
            for row in backlog
        },
        "max_overdue": limit or None,
    }


def health_report(*, now: datetime | None = None) -> dict[str, Any]:
    """Every check's figures and whether it passes; ``status`` is ``ok`` or ``failing``."""
    now = now or timezone.now()
    checks: dict[str, dict[str, Any]] = {}
    try:
        checks["database"] = check_database()
    except DatabaseError as exc:
        checks["database"] = {"ok": False, "error": type(exc).__name__}
    checks["broker"] = check_broker()
    if checks["database"]["ok"]:
        runs: dict[str, Callable[[datetime], dict[str, Any]]] = {
            "deliveries": check_deliveries,
            "sync": check_sync,
            "refresh": check_refresh,
        }
        for name, check in runs.items():
            try:
                checks[name] = check(now)
            except DatabaseError as exc:
                checks[name] = {"ok": False, "error": type(exc).__name__}
    failing = sorted(name for name, check in checks.items() if not check["ok"])
    return {
        "status": "failing" if failing else "ok",
        "failing": failing,
        "time": now.isoformat(),
        "checks": checks,
    }


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when every check passes, 503 when one fails; no authentication, no personal data."""
    report = health_report()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)


# -- metrics -------------------------------------------------------------------------------

#: Help texts of the counters the processes add to (kartra_mirror.counters).
COUNTER_HELP = {
    "kartra_deliveries_processed": "Webhook deliveries processed, by action and outcome",
    "kartra_api_calls": "HTTP requests sent to Kartra's API (every try counts)",
    "kartra_api_throttled": "Kartra API answers HTTP 429 Too Many Requests",
    "kartra_api_retries": "Kartra API calls tried again after a failed try",
    "kartra_sync_runs": "Sync runs finished, by kind and outcome",
    "kartra_leads_refreshed": "Leads refreshed from get_lead, by outcome",
}


class MirrorCollector:
    """Reads the deployment's counters and the database's state at each scrape."""

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        yield from self._counters()
        report = health_report()
        checks = report["checks"]
        healthy = GaugeMetricFamily(
            "kartra_health_check_ok", "1 when the /healthz check passes", labels=["check"]
        )
        for name, check in checks.items():
            healthy.add_metric([name], 1 if check["ok"] else 0)
        yield healthy
        if checks["database"]["ok"]:
            received = CounterMetricFamily(
                "kartra_deliveries_received", "Webhook deliveries stored (every POST kept)"
            )
            received.add_metric([], Delivery.objects.aggregate(last=Max("id"))["last"] or 0)
            yield received
        deliveries = checks.get("deliveries", {})
        yield _gauge(
            "kartra_deliveries_waiting",
            "Stored deliveries not processed yet (counted up to a bound)",
            deliveries.get("waiting"),
        )
        yield _gauge(
            "kartra_delivery_lag_seconds",
            "Age of the oldest delivery not processed yet (0 when none waits)",
            (deliveries.get("oldest_waiting_seconds") or 0) if "waiting" in deliveries else None,
        )
        classes = checks.get("refresh", {}).get("classes", {})
        backlog = GaugeMetricFamily(
            "kartra_refresh_backlog_leads",
            "Leads due for a get_lead refresh, by class of the due queue (counted up to a bound)",
            labels=["class"],
        )
        behind = GaugeMetricFamily(
            "kartra_refresh_backlog_oldest_seconds",
            "How long the oldest due lead of each class has waited (0 when none is due)",
            labels=["class"],
        )
        for name, row in classes.items():
            backlog.add_metric([name], row["leads"])
            behind.add_metric([name], row["oldest_due_seconds"] or 0)
        yield backlog
        yield behind
        sync = checks.get("sync", {})
        yield _gauge(
            "kartra_sync_last_success_age_seconds",
            "Seconds since the last successful sync run finished",
            sync.get("last_success_seconds"),
        )
        yield _gauge("kartra_sync_runs_running", "Sync runs in progress", sync.get("running"))

    def _counters(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        try:
            values = counters_read()
        except redis.RedisError:
            values = None
        yield _gauge(
            "kartra_counters_available",
            "1 when the shared counters could be read (Redis answered)",
            0 if values is None else 1,
        )
        samples: dict[str, list[tuple[dict[str, str], float]]] = {}
        for key, value in sorted((values or {}).items()):
            name, labels = parse_field(key)
            samples.setdefault(name, []).append((labels, value))
        for name, rows in samples.items():
            label_names = sorted({label for labels, _ in rows for label in labels})
            family = CounterMetricFamily(name, COUNTER_HELP.get(name, name), labels=label_names)
            for labels, value in rows:
                family.add_metric([labels.get(label, "") for label in label_names], value)
            yield family


def _gauge(name: str, documentation: str, value: float | None) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation)
    if value is not None:
        family.add_metric([], value)
    return family


def metrics_text() -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MirrorCollector())
    return generate_latest(registry)


def _bearer_token(request: HttpRequest) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format, for ``Authorization: Bearer $KARTRA_METRICS_TOKEN``; 404 when
    no token is configured (metrics off), 401 without the right one."""
    expected = settings.KARTRA_METRICS_TOKEN
    if not expected:
        return JsonResponse({"error": "metrics are off: set KARTRA_METRICS_TOKEN"}, status=404)
    if not constant_time_compare(_bearer_token(request), expected):
        response = JsonResponse({"error": "a bearer token is required"}, status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(metrics_text(), content_type=CONTENT_TYPE_LATEST)
