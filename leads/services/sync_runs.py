"""Which sync runs are still alive: a run records the host and process running it and a
heartbeat; one whose process is gone is marked ``aborted`` with the reason, so that no run
stays shown as ``running`` after a crash of the database or of the process.

:func:`sync_runs_sweep` runs at the start of every run and on the beat schedule. A run is
taken as gone when:

- its process is this one, and this process no longer runs it (the work stopped by an
  exception it could not record, e.g. the database went away, and the process lives on:
  the web process's refresh loop, a Celery worker);
- its host is this one and no process has its pid (killed, crashed, machine restarted);
- its heartbeat (saved at least every ``HEARTBEAT``) is older than ``DEAD_AFTER``, from any
  host (another machine that died, or a run recorded before runs had a heartbeat).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from events.models import SyncRun, SyncRunStatus

logger = logging.getLogger(__name__)

#: A running sync run saves itself at least this often, even while no answer arrives.
HEARTBEAT = timedelta(seconds=30)
#: A running run whose last heartbeat is older than this is taken as dead, on any host. A
#: batch of answers applied in one transaction must take less (it takes well under a second).
DEAD_AFTER = timedelta(minutes=5)

#: The sync runs this process is running now (their primary keys).
_running: set[int] = set()
_running_lock = threading.Lock()


def this_host() -> str:
    return socket.gethostname()[:255]


def run_started(run: SyncRun) -> None:
    """Record that this process runs ``run`` (to call as the run is created)."""
    with _running_lock:
        _running.add(run.pk)


def run_ended(run: SyncRun) -> None:
    """Record that this process no longer runs ``run``, finished or not."""
    with _running_lock:
        _running.discard(run.pk)


def sync_runs_sweep(*, now: datetime | None = None) -> list[SyncRun]:
    """Mark ``aborted`` every run shown ``running`` whose process is gone (see the module's
    docstring), with the reason in its errors; return them."""
    now = now or timezone.now()
    host, pid = this_host(), os.getpid()
    aborted = []
    running = SyncRun.objects.filter(status=SyncRunStatus.RUNNING).values_list(
        "pk", "host", "pid", "heartbeat_at", "started_at"
    )
    for pk, run_host, run_pid, heartbeat_at, started_at in running:
        reason = _gone(pk, run_host, run_pid, heartbeat_at or started_at, now, host, pid)
        if reason is not None:
            run = _abort(pk, reason, now)
            if run is not None:
                aborted.append(run)
    return aborted


def _gone(pk, run_host, run_pid, alive_at, now, host, pid) -> str | None:
    """Why run ``pk`` is taken as gone, or None while it may be alive."""
    if run_host == host and run_pid == pid:
        with _running_lock:
            if pk in _running:
                return None
        return f"process {pid} on {host} stopped running it without finishing it"
    if run_host == host and run_pid and not _process_exists(run_pid):
        return f"process {run_pid} on {host} is gone"
    if alive_at < now - DEAD_AFTER:
        return (
            f"no heartbeat since {alive_at:%Y-%m-%d %H:%M:%S} UTC "
            f"(process {run_pid or '?'} on {run_host or 'an unrecorded host'})"
        )
    return None


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True


def _abort(pk: int, reason: str, now: datetime) -> SyncRun | None:
    with transaction.atomic():
        run = (
            SyncRun.objects.select_for_update(skip_locked=True)
            .filter(pk=pk, status=SyncRunStatus.RUNNING)
            .first()
        )
        if run is None:
            return None  # finished meanwhile, or another sweep has it
        run.status = SyncRunStatus.ABORTED
        run.finished_at = now
        run.errors = [*run.errors, {"target": "run", "error": f"aborted: {reason}"}]
        run.save(update_fields=["status", "finished_at", "errors"])
    logger.warning("sync run %s aborted: %s", pk, reason)
    return run
