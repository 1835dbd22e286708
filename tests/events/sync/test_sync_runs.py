"""No sync run stays shown as ``running`` once its process is gone: a crash of the database
or of the process during a sync leaves a run that the next sweep (at the start of every
run, and on the beat schedule) marks ``aborted``, with the reason."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from events.models import SyncRun, SyncRunStatus
from events.sync.refresh import due_refresh_run
from events.sync.runs import (
    DEAD_AFTER,
    SyncAborted,
    SyncRecorder,
    sync_run,
    sync_run_start,
    sync_runs_sweep,
    this_host,
)
from events.tasks import refresh_due_task, sweep_sync_runs_task
from leads.models import Lead
from leads.services import settle

from .conftest import CREDENTIALS

ROOT = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.django_db


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(done.stdout)


def running(**fields) -> SyncRun:
    now = timezone.now()
    values = {"kind": "due", "started_at": now, "heartbeat_at": now, **fields}
    return SyncRun.objects.create(**values)


def reason(run: SyncRun) -> str:
    run.refresh_from_db()
    return run.errors[-1]["error"]


def test_a_run_records_its_process_and_heartbeat(kartra):
    recorder = sync_run_start(kind="leads", client=kartra)
    run = SyncRun.objects.get(pk=recorder.run.pk)
    assert (run.status, run.host, run.pid) == (SyncRunStatus.RUNNING, this_host(), os.getpid())
    assert run.heartbeat_at is not None
    assert sync_runs_sweep() == []  # alive: this process runs it
    assert recorder.finish().status == SyncRunStatus.SUCCEEDED


def test_a_sync_run_block_ends_its_run_however_the_block_ends(kartra):
    with sync_run(kind="leads", client=kartra) as done:
        done.error("lead 1", "HTTP 500")
    assert done.run.status == SyncRunStatus.PARTIAL and done.stopped is None

    with sync_run(kind="leads", client=kartra) as stopped:
        raise SyncAborted("Kartra refused the credentials: no")
    run = SyncRun.objects.get(pk=stopped.run.pk)
    assert run.status == SyncRunStatus.FAILED and run.finished_at is not None
    assert reason(run) == "Kartra refused the credentials: no"
    assert str(stopped.stopped) == "Kartra refused the credentials: no"

    with pytest.raises(KeyboardInterrupt), sync_run(kind="leads", client=kartra) as crashed:
        raise KeyboardInterrupt
    run = SyncRun.objects.get(pk=crashed.run.pk)
    assert run.status == SyncRunStatus.ABORTED and reason(run) == "aborted: KeyboardInterrupt: "
    assert sync_runs_sweep() == []  # every run ended: none left for the sweep


def test_a_run_whose_process_is_gone_is_aborted_with_the_reason():
    pid = dead_pid()
    gone = running(host=this_host(), pid=pid)
    elsewhere = running(host="another-machine", pid=pid)  # its pid means nothing here

    assert [run.pk for run in sync_runs_sweep()] == [gone.pk]

    gone.refresh_from_db()
    assert gone.status == SyncRunStatus.ABORTED and gone.finished_at is not None
    assert reason(gone) == f"aborted: process {pid} on {this_host()} is gone"
    elsewhere.refresh_from_db()
    assert elsewhere.status == SyncRunStatus.RUNNING


def test_a_run_without_a_heartbeat_for_long_is_aborted_from_any_host():
    old = timezone.now() - DEAD_AFTER - timedelta(minutes=1)
    silent = running(host="another-machine", pid=42, heartbeat_at=old)
    unrecorded = running(started_at=old, heartbeat_at=None)  # a run from before heartbeats
    alive = running(host="another-machine", pid=42)

    assert {run.pk for run in sync_runs_sweep()} == {silent.pk, unrecorded.pk}

    assert reason(silent).startswith("aborted: no heartbeat since ")
    assert "process 42 on another-machine" in reason(silent)
    alive.refresh_from_db()
    assert alive.status == SyncRunStatus.RUNNING


def test_a_crash_of_the_database_during_a_refresh_aborts_the_run(fake, kartra, monkeypatch):
    lead_id = next(lead.id for lead in fake.account.leads.values() if not lead.deleted)
    Lead.objects.create(kartra_id=lead_id, mirror_refresh_requested_at=timezone.now())

    def database_gone(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(settle, "snapshots_apply", database_gone)
    monkeypatch.setattr(settle, "_defer", database_gone)  # nothing reaches the database
    with pytest.raises(OperationalError):
        due_refresh_run(kartra, limit=10)

    run = SyncRun.objects.get(kind="due")
    assert run.status == SyncRunStatus.ABORTED and run.finished_at is not None
    assert "OperationalError: server closed the connection" in reason(run)


def test_a_run_whose_abort_could_not_be_recorded_is_aborted_by_the_next_run(
    fake, kartra, monkeypatch
):
    lead_id = next(lead.id for lead in fake.account.leads.values() if not lead.deleted)
    Lead.objects.create(kartra_id=lead_id, mirror_refresh_requested_at=timezone.now())

    def database_gone(*args, **kwargs):
        raise OperationalError("the database system is shutting down")

    with monkeypatch.context() as patched:
        patched.setattr(settle, "snapshots_apply", database_gone)
        patched.setattr(settle, "_defer", database_gone)
        patched.setattr(SyncRecorder, "save", database_gone)
        with pytest.raises(OperationalError):
            due_refresh_run(kartra, limit=10)
    stuck = SyncRun.objects.get(kind="due")
    assert stuck.status == SyncRunStatus.RUNNING  # the database took nothing more

    # The database is back; the process lives on (the refresh loop, a worker) and so does
    # its pid, but it no longer runs that sync.
    run = due_refresh_run(kartra, limit=10)

    assert run.status == SyncRunStatus.SUCCEEDED and run.leads_refreshed == 1
    stuck.refresh_from_db()
    assert stuck.status == SyncRunStatus.ABORTED
    assert reason(stuck) == (
        f"aborted: process {os.getpid()} on {this_host()} stopped running it without finishing it"
    )


def test_beat_sweeps_and_a_dead_due_run_no_longer_blocks_the_next(fake, kartra_settings):
    dead = running(kind="due", host=this_host(), pid=dead_pid())
    lead_id = next(lead.id for lead in fake.account.leads.values() if not lead.deleted)
    Lead.objects.create(kartra_id=lead_id, mirror_refresh_requested_at=timezone.now())

    assert sweep_sync_runs_task() == [dead.pk]
    dead.status = SyncRunStatus.RUNNING
    dead.save()
    assert refresh_due_task() is not None  # swept first, so not taken as busy
    dead.refresh_from_db()
    assert dead.status == SyncRunStatus.ABORTED


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_killed_sync_command_leaves_a_run_that_is_aborted(fake, kartra_settings):
    """A real ``kartra_sync`` process, killed (SIGKILL) in the middle of its leads."""
    fake.rate_limit = 3  # slow enough to be killed half-way
    ids = [lead.id for lead in fake.account.leads.values()]
    database = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:"
            f"{database['PORT'] or 5432}/{database['NAME']}"
        ),
        "KARTRA_API_URL": fake.base_url,
        "KARTRA_APP_ID": CREDENTIALS["app_id"],
        "KARTRA_API_KEY": CREDENTIALS["api_key"],
        "KARTRA_API_PASSWORD": CREDENTIALS["api_password"],
        "KARTRA_API_RATE": "3",
        "KARTRA_REDIS_URL": "",
        "REDIS_URL": "",
    }
    command = [sys.executable, "manage.py", "kartra_sync", "--no-catalog", "--id",
               ",".join(map(str, ids))]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            run = SyncRun.objects.filter(kind="leads").first()
            if run is not None and fake.calls["get_lead"] >= 3:
                break
            time.sleep(0.1)
        else:
            pytest.fail("the sync never started")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    assert SyncRun.objects.get(pk=run.pk).status == SyncRunStatus.RUNNING
    assert [swept.pk for swept in sync_runs_sweep()] == [run.pk]
    run.refresh_from_db()
    assert run.status == SyncRunStatus.ABORTED
    assert reason(run) == f"aborted: process {process.pid} on {this_host()} is gone"
