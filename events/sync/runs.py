"""Sync runs (``events.models.SyncRun``): how every pull from Kartra is recorded, and which
runs are still alive.

**Recording.** Every caller (``sync_leads``, the refresh loop's and the tasks' passes, the
``kartra_sync`` command, the demo) does its work inside :func:`sync_run`, which opens the
run, hands the block a :class:`SyncRecorder` and finishes the run however the block ends. A
run records its start and end, how many leads were refreshed, unchanged, not found (or
deleted) and failed, the API calls, 429s and retries the client made meanwhile, and the
errors. It ends ``succeeded``, ``partial`` (a lead failed or an error was recorded),
``failed`` (stopped early by :class:`SyncAborted`, the reason in its errors) or ``aborted``
(anything else stopped it: the database failed, the process was interrupted).

**Liveness.** A run records the host and process running it and a heartbeat (every save of
its counts); one whose process is gone is marked ``aborted`` with the reason, so that no run
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
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from events.models import SyncRun, SyncRunStatus
from kartra_mirror.counters import counter_add, counters_add
from kartra_mirror.kartra import KartraClient
from leads.services.settle import DELETED, FAILED, NOT_FOUND, REFRESHED, SUPPRESSED, UNCHANGED

logger = logging.getLogger(__name__)

#: The run's column each lead's outcome (``leads.services.settle``) counts in.
OUTCOME_FIELDS = {
    REFRESHED: "leads_refreshed",
    UNCHANGED: "leads_unchanged",
    NOT_FOUND: "leads_not_found",
    DELETED: "leads_not_found",
    FAILED: "leads_failed",
    SUPPRESSED: "leads_unchanged",
}

#: Errors kept on a run (the counts keep counting past it).
MAX_ERRORS = 200
#: Counts are saved on the run every this many leads, so the admin shows progress.
SAVE_EVERY = 25
#: A running sync run saves itself at least this often, even while no answer arrives.
HEARTBEAT = timedelta(seconds=30)
#: A running run whose last heartbeat is older than this is taken as dead, on any host. A
#: batch of answers applied in one transaction must take less (it takes well under a second).
DEAD_AFTER = timedelta(minutes=5)

#: The sync runs this process is running now (their primary keys).
_running: set[int] = set()
_running_lock = threading.Lock()


class SyncAborted(Exception):
    """A run stopped early: Kartra refused the credentials or stayed unreachable."""


# -- recording a run -----------------------------------------------------------------------


class SyncRecorder:
    """Counts one run's outcomes on its ``SyncRun`` and takes the client's counters
    (calls, 429s, retries) as the difference since the run started. Every save is also
    the run's heartbeat. ``stopped`` is the :class:`SyncAborted` that stopped the run, if
    one did."""

    def __init__(self, run: SyncRun, client: KartraClient) -> None:
        self.run = run
        self.client = client
        self.stopped: SyncAborted | None = None
        self._baseline = client.stats.as_dict()
        self._reported = dict(self._baseline)  # client counters already added to /metrics
        self._outcomes: Counter[str] = Counter()  # lead outcomes not yet added to /metrics
        self._pending = 0
        self._saved_at = time.monotonic()

    @property
    def run_id(self) -> int:
        """The run's primary key, which the rows it settles point to (``SettleRun``)."""
        return self.run.pk

    def count(self, outcome: str) -> None:
        field = OUTCOME_FIELDS[outcome]
        setattr(self.run, field, getattr(self.run, field) + 1)
        self._outcomes[outcome] += 1
        self._pending += 1

    def checkpoint(self) -> None:
        """Save the counts once ``SAVE_EVERY`` leads are counted since the last save, or
        when the heartbeat is due."""
        beat_due = time.monotonic() - self._saved_at >= HEARTBEAT.total_seconds()
        if self._pending >= SAVE_EVERY or beat_due:
            self.save()

    def error(self, where: str, exc: BaseException | str) -> None:
        text = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
        if len(self.run.errors) < MAX_ERRORS:
            self.run.errors.append({"target": where, "error": text[:500]})

    def save(self) -> None:
        stats = self.client.stats.as_dict()
        self.run.api_calls = stats["calls"] - self._baseline["calls"]
        self.run.throttled = stats["throttled"] - self._baseline["throttled"]
        self.run.retries = stats["retries"] - self._baseline["retries"]
        self.run.heartbeat_at = timezone.now()
        self.run.save()
        self._pending = 0
        self._saved_at = time.monotonic()
        self._report(stats)

    def _report(self, stats: dict[str, int]) -> None:
        """Add what happened since the last report to the deployment's counters."""
        samples = [
            (f"kartra_api_{key}", {}, stats[key] - self._reported[key])
            for key in ("calls", "throttled", "retries")
            if stats[key] > self._reported[key]
        ]
        samples += [
            ("kartra_leads_refreshed", {"outcome": outcome}, n)
            for outcome, n in self._outcomes.items()
        ]
        counters_add(samples)
        self._reported = stats
        self._outcomes.clear()

    def finish(self, *, aborted: bool = False) -> SyncRun:
        """Save the run as ended: ``failed`` when ``aborted``, else ``partial`` when a lead
        failed or an error was recorded, else ``succeeded``; return it."""
        run = self.run
        if aborted:
            run.status = SyncRunStatus.FAILED
        elif run.leads_failed or run.errors:
            run.status = SyncRunStatus.PARTIAL
        else:
            run.status = SyncRunStatus.SUCCEEDED
        run.finished_at = timezone.now()
        try:
            self.save()
        finally:
            run_ended(run)  # saved or not: should the save fail, the sweep aborts the run
        counter_add("kartra_sync_runs", {"kind": run.kind, "status": run.status})
        return run

    def stop(self, exc: SyncAborted) -> SyncRun:
        """End the run ``failed`` because ``exc`` stopped it, its reason in the errors."""
        self.stopped = exc
        self.error("run", str(exc))
        return self.finish(aborted=True)

    def crashed(self, exc: BaseException) -> None:
        """Mark the run ``aborted`` by ``exc``, which stops it (the database failed, the
        process is interrupted), if the database still takes it; otherwise the next sweep
        does (``sync_runs_sweep``). Never raises."""
        run = self.run
        run_ended(run)
        try:
            self.error("run", f"aborted: {type(exc).__name__}: {exc}")
            run.status = SyncRunStatus.ABORTED
            run.finished_at = timezone.now()
            with transaction.atomic():
                self.save()
        except Exception as again:  # noqa: BLE001 - the sweep records it instead
            logger.warning("sync run %s: its abort could not be recorded (%s)", run.pk,
                           type(again).__name__)  # fmt: skip
        else:
            counter_add("kartra_sync_runs", {"kind": run.kind, "status": run.status})


def sync_run_start(
    *, kind: str, client: KartraClient, arguments: dict | None = None
) -> SyncRecorder:
    """Open a sync run of ``kind`` (``all``, ``due``, ``catalog``, ``leads``, ...), recorded
    as run by this process, after marking aborted the runs whose process is gone. The
    caller finishes it; :func:`sync_run` does both."""
    sync_runs_sweep()
    now = timezone.now()
    run = SyncRun.objects.create(
        kind=kind,
        arguments=arguments or {},
        started_at=now,
        heartbeat_at=now,
        host=this_host(),
        pid=os.getpid(),
    )
    run_started(run)
    return SyncRecorder(run, client)


@contextmanager
def sync_run(
    *, kind: str, client: KartraClient, arguments: dict | None = None
) -> Iterator[SyncRecorder]:
    """A sync run around a block: opens it (:func:`sync_run_start`), yields its recorder
    for the block to count on, and finishes it however the block ends:

    - the block completes: ``succeeded``, or ``partial`` (:meth:`SyncRecorder.finish`);
    - the block raises :class:`SyncAborted`: ``failed``, the reason in the run's errors.
      The exception goes no further; it is ``recorder.stopped``, for the caller to report
      or raise again;
    - anything else stops the block (the database failed, Ctrl-C): ``aborted`` with the
      exception (:meth:`SyncRecorder.crashed`), which is re-raised.

    After the block ``recorder.run`` is the finished run. ``client`` stays the caller's to
    close.
    """
    recorder = sync_run_start(kind=kind, client=client, arguments=arguments)
    try:
        yield recorder
    except SyncAborted as exc:
        recorder.stop(exc)
    except BaseException as exc:
        recorder.crashed(exc)
        raise
    else:
        recorder.finish()


# -- which runs are alive ------------------------------------------------------------------


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
