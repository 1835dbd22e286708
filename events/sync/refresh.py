"""Pulls from Kartra's inbound API: refreshing leads with ``get_lead``, each pull a sync run.

Commands, the refresh loop of ``kartra_serve``, the Celery tasks and the demo refresh leads
with :func:`leads_refresh` inside a sync run (``.runs.sync_run``, which records the counts
and errors and finishes the run); :func:`sync_leads` and :func:`due_refresh_run` are the
whole of it for one-off callers and for the due queue.

``get_lead`` calls run in worker threads (HTTP and parsing only, bounded by the client's
rate limiter, ``leads.services.fetch``) while the calling thread settles the answers that
arrived, in batches, each in one transaction (``leads.services.settle``): the calls never
wait for the database, and database writes never run in parallel within one sync.
"""

from collections.abc import Callable, Iterable
from contextlib import closing

from django.db.models import QuerySet

from events.models import SyncRun
from kartra_mirror.kartra import CredentialsRefused, KartraClient, KartraUnavailable
from leads.models import Lead
from leads.services.due import leads_due
from leads.services.fetch import answers_in_batches
from leads.services.settle import answers_settle
from leads.services.sync import (
    Target,
    fetch_workers,
    sync_client,
    targets_not_suppressed,
    targets_of,
)

from .runs import HEARTBEAT, SyncAborted, SyncRecorder, sync_run

#: Answers applied in one transaction at most (fewer when fewer arrived meanwhile).
APPLY_BATCH = 100
#: A run stops after this many leads in a row failed because Kartra was unreachable.
MAX_CONSECUTIVE_UNAVAILABLE = 20


class StopRule:
    """When a run over many leads must stop: Kartra refused the credentials (no call will
    succeed), or it stayed unreachable for ``MAX_CONSECUTIVE_UNAVAILABLE`` leads in a row.
    ``see`` each answer's error as it is counted, ``check`` after each batch."""

    def __init__(self) -> None:
        self.refused: CredentialsRefused | None = None
        self.unavailable = 0

    def see(self, error: BaseException | None) -> None:
        if isinstance(error, CredentialsRefused):
            self.refused = self.refused or error
        self.unavailable = self.unavailable + 1 if isinstance(error, KartraUnavailable) else 0

    def check(self) -> None:
        """Raise :class:`SyncAborted` with the reason when the run must stop."""
        if self.refused is not None:
            raise SyncAborted(f"Kartra refused the credentials: {self.refused}")
        if self.unavailable >= MAX_CONSECUTIVE_UNAVAILABLE:
            raise SyncAborted(f"Kartra unreachable for {self.unavailable} leads in a row")


def leads_refresh(
    client: KartraClient,
    leads: QuerySet[Lead] | Iterable[Lead | int | Target],
    run: SyncRecorder,
    *,
    workers: int | None = None,
    batch: int = APPLY_BATCH,
    on_result: Callable[[Target, str], None] | None = None,
) -> SyncRun:
    """Refresh each lead from a ``get_lead`` snapshot, counting outcomes on ``run``.

    ``leads``: a queryset, Lead objects, lead primary keys or :class:`Target` (a Kartra id or
    an email not in the mirror yet). ``workers`` calls are in flight at once (default
    :func:`fetch_workers`); the answers are applied as they arrive, up to ``batch`` in one
    transaction. ``on_result(target, outcome)`` is called per lead, in the order applied.
    Raises :class:`SyncAborted` when Kartra refuses the credentials or stays unreachable,
    after counting the batch (``sync_run`` then records the reason and ends the run
    ``failed``). Saves the counts; does not finish the run.
    """
    stop = StopRule()
    answers = answers_in_batches(
        client,
        targets_not_suppressed(targets_of(leads)),
        workers=workers or fetch_workers(),
        batch=max(1, batch),
        wait=HEARTBEAT,
    )
    with closing(answers):  # stops the calls at once when the run stops
        for arrived in answers:
            outcomes = answers_settle(arrived, run) if arrived else []
            for answer, outcome in zip(arrived, outcomes, strict=True):
                run.count(outcome)
                if on_result is not None:
                    on_result(answer.target, outcome)
                stop.see(answer.error)
            run.checkpoint()
            stop.check()
    run.save()
    return run.run


def sync_leads(
    leads: QuerySet[Lead] | Iterable[Lead | int | Target],
    *,
    kind: str = "leads",
    client: KartraClient | None = None,
    arguments: dict | None = None,
) -> SyncRun:
    """Refresh ``leads`` now in a run of their own (for one-off callers: a shell, the tests);
    returns the finished run (``failed`` when Kartra refused the credentials or stayed
    unreachable). Without ``client``, one of :func:`sync_client`, closed at the end."""
    own_client = client is None
    client = client or sync_client()
    try:
        with sync_run(kind=kind, client=client, arguments=arguments) as recorder:
            leads_refresh(client, leads, recorder)
        return recorder.run
    finally:
        if own_client:
            client.close()


def due_refresh_run(client: KartraClient, *, limit: int) -> SyncRun | None:
    """Refresh up to ``limit`` due leads (see ``leads_due``) in a run of kind ``due`` (for
    the refresh loop and the beat task); returns the finished run, or None when no lead is
    due."""
    leads = leads_due(limit)
    if not leads:
        return None
    with sync_run(kind="due", client=client, arguments={"limit": limit}) as recorder:
        leads_refresh(client, leads, recorder)
    return recorder.run
