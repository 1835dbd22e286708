"""Celery tasks for the refresh loop when a broker is configured; beat runs them on the
schedule in ``settings.CELERY_BEAT_SCHEDULE``. They call the same services as
``kartra_serve``'s in-process loop and the ``kartra_sync`` command."""

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from events.models import SyncRun, SyncRunStatus
from leads.refresh_loop import refresh_interval
from leads.services.due import refresh_budget
from leads.services.sync import catalog_sync_run, due_refresh_run, sync_client

#: A due refresh still running after this long is taken as dead and no longer blocks.
STUCK_AFTER = timedelta(minutes=30)


@shared_task(name="leads.catalog_sync", ignore_result=True)
def catalog_sync_task() -> int:
    """Sync the catalogues; returns the sync run id."""
    with sync_client() as client:
        return catalog_sync_run(client).pk


@shared_task(name="leads.refresh_due", ignore_result=True)
def refresh_due_task(limit: int | None = None) -> int | None:
    """Refresh the leads that are due within one interval's API budget, unless a previous
    run is still at it (beat does not wait for a task to finish)."""
    busy = SyncRun.objects.filter(
        kind="due",
        status=SyncRunStatus.RUNNING,
        started_at__gte=timezone.now() - STUCK_AFTER,
    ).exists()
    if busy:
        return None
    with sync_client() as client:
        run = due_refresh_run(client, limit=limit or refresh_budget(refresh_interval()))
    return run.pk if run else None
