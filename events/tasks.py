"""Celery tasks: processing stored deliveries (see ``events.drain``) and, when a broker is
configured, the refresh loop's work (see ``events.sync.loop``), which beat runs on the
schedule in ``settings.CELERY_BEAT_SCHEDULE``. The sync tasks call the same services as
``kartra_serve``'s in-process loop and the ``kartra_sync`` command.

Task names are explicit and stay as they were when the sync tasks lived in ``leads``:
beat's schedule and messages already queued name them."""

from celery import shared_task
from django.conf import settings

from leads.services.due import refresh_budget
from leads.services.sync import sync_client

from .audit.runs import audit_daily
from .drain import deliveries_drain
from .models import SyncRun, SyncRunStatus
from .services import TRANSIENT_ERRORS
from .sync.catalogs import catalog_sync_run
from .sync.loop import refresh_interval
from .sync.refresh import due_refresh_run
from .sync.runs import sync_runs_sweep


@shared_task(
    name="events.drain_deliveries",
    ignore_result=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=True,
    retry_backoff_max=30,
    max_retries=None,
)
def drain_deliveries(linger: bool = True) -> int:
    """Process every waiting delivery in batches; asked for by the requests that store
    them, as a sweep by beat, and (``linger=False``) by a drain that found a backlog.
    Returns how many were processed."""
    return deliveries_drain(
        give_up_after=float(settings.KARTRA_DRAIN_SWEEP_INTERVAL), linger=linger
    )


@shared_task(name="leads.catalog_sync", ignore_result=True)
def catalog_sync_task() -> int:
    """Sync the catalogues; returns the sync run id."""
    with sync_client() as client:
        return catalog_sync_run(client).pk


@shared_task(name="leads.refresh_due", ignore_result=True)
def refresh_due_task(limit: int | None = None) -> int | None:
    """Refresh the leads that are due within one interval's API budget, unless a previous
    run is still at it (beat does not wait for a task to finish); a run whose process is
    gone is marked aborted first and no longer blocks."""
    sync_runs_sweep()
    busy = SyncRun.objects.filter(kind="due", status=SyncRunStatus.RUNNING).exists()
    if busy:
        return None
    with sync_client() as client:
        run = due_refresh_run(client, limit=limit or refresh_budget(refresh_interval()))
    return run.pk if run else None


@shared_task(name="leads.sweep_sync_runs", ignore_result=True)
def sweep_sync_runs_task() -> list[int]:
    """Mark aborted the sync runs whose process is gone; returns their ids."""
    return [run.pk for run in sync_runs_sweep()]


@shared_task(name="leads.audit_daily", ignore_result=True)
def audit_daily_task() -> int | None:
    """The daily drift audit (``KARTRA_AUDIT_DAILY_SAMPLE`` leads), unless one ran within
    the day or the sample is 0; returns the audit run id."""
    with sync_client() as client:
        run = audit_daily(client)
    return run.pk if run else None
