"""Pulls from Kartra's inbound API: refreshing leads with ``get_lead``, each run recorded.

A sync run (``events.models.SyncRun``) records its start and end, how many leads were
refreshed, unchanged, not found (or deleted) and failed, the API calls, 429s and retries the
client made meanwhile, and the errors. Commands, the refresh loop of ``kartra_serve``, the
Celery tasks and the admin all go through :func:`sync_run_start` and :func:`leads_refresh`.

``get_lead`` calls run in worker threads (HTTP and parsing only, bounded by the client's
rate limiter, ``.fetch``) while the calling thread applies the answers that arrived, in
batches, each in one transaction (``snapshots_apply``): the calls never wait for the
database, and database writes never run in parallel within one sync.
"""

import logging
import os
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone

from events.models import SyncRun, SyncRunStatus
from kartra_mirror.counters import counter_add, counters_add
from kartra_mirror.kartra import (
    CredentialsRefused,
    KartraClient,
    KartraError,
    KartraUnavailable,
    LeadDeleted,
    LeadNotFound,
    RateLimited,
    client_from_settings,
)
from leads.models import Lead, Source
from leads.normalize import PayloadError

from .fetch import Answer, answers_in_batches
from .observation import Observation
from .snapshot import lead_mark_gone, snapshots_apply
from .suppression import is_suppressed, snapshots_suppressed, suppressed_digests
from .sync_runs import HEARTBEAT, run_ended, run_started, sync_runs_sweep, this_host

logger = logging.getLogger(__name__)

REFRESHED = "refreshed"
UNCHANGED = "unchanged"
NOT_FOUND = "not_found"
DELETED = "deleted"
FAILED = "failed"
SUPPRESSED = "suppressed"  # an erased lead's answer, not applied (counted as unchanged)

#: ``get_lead`` calls in flight at once, at least; see :func:`fetch_workers`.
FETCH_WORKERS = 4
#: Answers applied in one transaction at most (fewer when fewer arrived meanwhile).
APPLY_BATCH = 100
#: Errors kept on a run (the counts keep counting past it).
MAX_ERRORS = 200
#: A run stops after this many leads in a row failed because Kartra was unreachable.
MAX_CONSECUTIVE_UNAVAILABLE = 20
#: Counts are saved on the run every this many leads, so the admin shows progress.
SAVE_EVERY = 25
#: A lead that failed is tried again after this long.
RETRY_AFTER = timedelta(minutes=15)


class SyncAborted(Exception):
    """A run stopped early: Kartra refused the credentials or stayed unreachable."""


def sync_client(**overrides: Any) -> KartraClient:
    """The client every sync uses: settings' URL, credentials, rate and timeout."""
    options: dict[str, Any] = {"timeout": settings.KARTRA_API_TIMEOUT}
    options.update(overrides)
    return client_from_settings(**options)


def fetch_workers() -> int:
    """``get_lead`` calls in flight by default: the configured rate, so that answers taking
    up to a second each (Kartra's are a few hundred milliseconds) keep the rate limiter
    busy; ``FETCH_WORKERS`` at least."""
    return max(FETCH_WORKERS, int(settings.KARTRA_API_RATE))


def credentials_configured() -> bool:
    """Whether Kartra credentials are set (otherwise ``kartra_serve`` runs the demo)."""
    return all(
        getattr(settings, name, "")
        for name in ("KARTRA_APP_ID", "KARTRA_API_KEY", "KARTRA_API_PASSWORD")
    )


# -- what to refresh -----------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One lead to ask Kartra about: by Kartra id when known, else by email."""

    kartra_id: int | None = None
    email: str = ""

    @classmethod
    def of(cls, lead: Lead) -> "Target":
        return cls(kartra_id=lead.kartra_id, email="" if lead.kartra_id else lead.email)

    def __str__(self) -> str:
        return f"lead {self.kartra_id}" if self.kartra_id is not None else f"<{self.email}>"

    @property
    def log_name(self) -> str:
        """How log lines name the lead: never by its email (personal data stays out of
        logs; the sync run's errors name it in full)."""
        return f"lead {self.kartra_id}" if self.kartra_id is not None else "a lead known by email"


def targets_of(leads: QuerySet[Lead] | Iterable[Lead | int | Target]) -> list[Target]:
    """Targets for a queryset of leads, Lead objects, lead primary keys or targets."""
    if isinstance(leads, QuerySet):
        rows = leads.values_list("kartra_id", "email")
        return [Target(kartra_id=k, email="" if k else e) for k, e in rows if k or e]
    items = list(leads)
    pks = [item for item in items if isinstance(item, int)]
    by_pk = {
        pk: Target(kartra_id=k, email="" if k else e)
        for pk, k, e in Lead.objects.filter(pk__in=pks).values_list("pk", "kartra_id", "email")
    }
    targets = []
    for item in items:
        if isinstance(item, Lead):
            item = Target.of(item)
        elif isinstance(item, int):
            item = by_pk.get(item, Target())
        if item.kartra_id is not None or item.email:
            targets.append(item)
    return targets


def targets_not_suppressed(targets: list[Target]) -> list[Target]:
    """``targets`` less the leads on the suppression list (erased: README, "Erasure"),
    which are not fetched from Kartra again."""
    found = suppressed_digests(
        emails=[target.email for target in targets],
        kartra_ids=[target.kartra_id for target in targets if target.kartra_id is not None],
    )
    kept = [t for t in targets if not is_suppressed(found, email=t.email, kartra_id=t.kartra_id)]
    if len(kept) < len(targets):
        skipped = len(targets) - len(kept)
        logger.info("%d erased leads on the suppression list not refreshed", skipped)
    return kept


# -- the run record ------------------------------------------------------------------------


class SyncRecorder:
    """Counts one run's outcomes on its ``SyncRun`` and takes the client's counters
    (calls, 429s, retries) as the difference since the run started. Every save is also
    the run's heartbeat (see ``sync_runs``)."""

    def __init__(self, run: SyncRun, client: KartraClient) -> None:
        self.run = run
        self.client = client
        self._baseline = client.stats.as_dict()
        self._reported = dict(self._baseline)  # client counters already added to /metrics
        self._outcomes: Counter[str] = Counter()  # lead outcomes not yet added to /metrics
        self._pending = 0
        self._saved_at = time.monotonic()

    def count(self, outcome: str) -> None:
        field = {
            REFRESHED: "leads_refreshed",
            UNCHANGED: "leads_unchanged",
            NOT_FOUND: "leads_not_found",
            DELETED: "leads_not_found",
            FAILED: "leads_failed",
            SUPPRESSED: "leads_unchanged",
        }[outcome]
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
    as run by this process, after marking aborted the runs whose process is gone."""
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


def sync_run_guarded(recorder: SyncRecorder, work: Callable[[], object]) -> SyncRun:
    """Run ``work`` within ``recorder``'s run and finish the run: ``failed`` when it raises
    :class:`SyncAborted`, ``aborted`` (then re-raised) when anything else stops it."""
    try:
        work()
    except SyncAborted as exc:
        recorder.error("run", str(exc))
        return recorder.finish(aborted=True)
    except BaseException as exc:
        recorder.crashed(exc)
        raise
    return recorder.finish()


# -- refreshing leads ----------------------------------------------------------------------


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
    Raises :class:`SyncAborted` (after recording it) when Kartra refuses the credentials or
    stays unreachable; the run is then marked failed. Does not finish the run.
    """
    unavailable = 0
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
            refused = None
            for answer, outcome in zip(arrived, outcomes, strict=True):
                run.count(outcome)
                if on_result is not None:
                    on_result(answer.target, outcome)
                if isinstance(answer.error, CredentialsRefused):
                    refused = refused or answer.error
                unavailable = unavailable + 1 if isinstance(answer.error, KartraUnavailable) else 0
            run.checkpoint()
            if refused is not None:
                raise SyncAborted(f"Kartra refused the credentials: {refused}")
            if unavailable >= MAX_CONSECUTIVE_UNAVAILABLE:
                raise SyncAborted(f"Kartra unreachable for {unavailable} leads in a row")
    run.save()
    return run.run


def answers_settle(answers: Sequence[Answer], run: SyncRecorder) -> list[str]:
    """Apply a batch of answers: the snapshots together, each not found / deleted mark, and
    each failure recorded, its lead's next try deferred; return each one's outcome. (A
    refresh settles the answers it fetched; an audit that repairs, those it compared.)"""
    outcomes: dict[int, str] = {}
    snapshots = [answer for answer in answers if answer.snapshot is not None]
    erased = snapshots_suppressed([answer.snapshot for answer in snapshots])
    outcomes.update((id(a), SUPPRESSED) for a, no in zip(snapshots, erased, strict=True) if no)
    snapshots = [answer for answer, no in zip(snapshots, erased, strict=True) if not no]
    for answer, outcome in zip(snapshots, _snapshots_settle(snapshots, run), strict=True):
        outcomes[id(answer)] = outcome
    for answer in answers:
        if answer.snapshot is None:
            outcomes[id(answer)] = _guarded(answer, run, _settle_error)
    _defer([answer.target for answer in answers if outcomes[id(answer)] == FAILED])
    return [outcomes[id(answer)] for answer in answers]


def _snapshots_settle(answers: Sequence[Answer], run: SyncRecorder) -> list[str]:
    """Apply the snapshots of ``answers`` in one transaction; should that fail, apply each
    alone, so that only the lead at fault fails."""
    if not answers:
        return []
    if len(answers) == 1:
        return [_guarded(answers[0], run, _snapshot_apply)]
    try:
        applied = snapshots_apply([(a.snapshot, _observation(a, run)) for a in answers])
    except Exception as exc:  # noqa: BLE001 - each lead is tried alone below
        logger.error("a batch of %d snapshots failed (%s); one at a time", len(answers),
                     type(exc).__name__)  # fmt: skip
        return [_guarded(answer, run, _snapshot_apply) for answer in answers]
    return [UNCHANGED if one.unchanged else REFRESHED for one in applied]


def _observation(answer: Answer, run: SyncRecorder) -> Observation:
    return Observation(at=answer.requested_at, source=Source.SNAPSHOT, ref=run.run.pk)


def _snapshot_apply(answer: Answer, run: SyncRecorder) -> str:
    (applied,) = snapshots_apply([(answer.snapshot, _observation(answer, run))])
    return UNCHANGED if applied.unchanged else REFRESHED


def _settle_error(answer: Answer, run: SyncRecorder) -> str:
    """A lead Kartra does not have is marked so; any other error is the lead's failure."""
    target, error = answer.target, answer.error
    if isinstance(error, LeadNotFound | LeadDeleted):
        deleted = isinstance(error, LeadDeleted)
        lead_mark_gone(
            kartra_id=target.kartra_id,
            email=target.email,
            deleted=deleted,
            requested_at=answer.requested_at,
        )
        return DELETED if deleted else NOT_FOUND
    assert error is not None
    _failure(target, error, run)
    return FAILED


def _guarded(
    answer: Answer, run: SyncRecorder, settle: Callable[[Answer, SyncRecorder], str]
) -> str:
    """``settle(answer, run)``; should it raise, the lead fails, and only this lead."""
    try:
        return settle(answer, run)
    except Exception as exc:  # noqa: BLE001 - one lead's failure must not stop the run
        _failure(answer.target, exc, run)
        return FAILED


def _failure(target: Target, exc: Exception, run: SyncRecorder) -> None:
    """Record why ``target`` failed on the run, in full; the log names the lead by id
    only, and says where an exception of ours was raised (its text may quote the lead's
    data)."""
    if isinstance(exc, KartraError):
        if not isinstance(exc, RateLimited | KartraUnavailable | CredentialsRefused):
            logger.warning("get_lead failed for %s: %s", target.log_name, type(exc).__name__)
    elif not isinstance(exc, PayloadError):
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        logger.error(
            "refreshing %s failed: %s at %s:%s",
            target.log_name, type(exc).__name__, frame.filename, frame.lineno,
        )  # fmt: skip
    run.error(str(target), exc)


def _defer(targets: Sequence[Target]) -> None:
    """Retry leads that failed in ``RETRY_AFTER``, not at the next pass: their refresh
    requests move to then (``leads_due`` takes requests that are due), so one lead Kartra
    keeps failing on never starves the others or spins the refresh loop. One statement."""
    ids = [target.kartra_id for target in targets if target.kartra_id is not None]
    emails = [target.email.lower() for target in targets if target.kartra_id is None]
    if not ids and not emails:
        return
    Lead.objects.annotate(email_ci=Lower("email")).filter(
        Q(kartra_id__in=ids) | Q(email_ci__in=emails)
    ).update(mirror_refresh_requested_at=timezone.now() + RETRY_AFTER)


def sync_leads(
    leads: QuerySet[Lead] | Iterable[Lead | int | Target],
    *,
    kind: str = "leads",
    client: KartraClient | None = None,
    arguments: dict | None = None,
) -> SyncRun:
    """Refresh ``leads`` now in a run of their own (for the admin's "Refresh from Kartra"
    action and other one-off callers); returns the finished run."""
    own_client = client is None
    client = client or sync_client()
    try:
        recorder = sync_run_start(kind=kind, client=client, arguments=arguments)
        return sync_run_guarded(recorder, lambda: leads_refresh(client, leads, recorder))
    finally:
        if own_client:
            client.close()


# -- passes for the refresh loop, the tasks and the commands -------------------------------


def catalog_sync_into(recorder: SyncRecorder) -> dict[str, int]:
    """Sync the catalogues within ``recorder``'s run; counts go to its arguments."""
    from .catalog_sync import catalog_sync

    def on_error(step: str, exc: Exception) -> None:
        recorder.error(f"catalogue {step}", exc)

    try:
        counts = catalog_sync(recorder.client, on_error=on_error)
    except CredentialsRefused as exc:
        recorder.error("catalogue", exc)
        raise SyncAborted(f"Kartra refused the credentials: {exc}") from None
    recorder.run.arguments = {**recorder.run.arguments, "catalog": counts}
    recorder.save()
    return counts


def catalog_sync_run(client: KartraClient) -> SyncRun:
    """A run that syncs the catalogues only."""
    recorder = sync_run_start(kind="catalog", client=client)
    return sync_run_guarded(recorder, lambda: catalog_sync_into(recorder))


def due_refresh_run(client: KartraClient, *, limit: int) -> SyncRun | None:
    """Refresh up to ``limit`` due leads (see ``leads_due``) in a run of kind ``due``;
    None when no lead is due."""
    from .due import leads_due

    leads = leads_due(limit)
    if not leads:
        return None
    recorder = sync_run_start(kind="due", client=client, arguments={"limit": limit})
    return sync_run_guarded(recorder, lambda: leads_refresh(client, leads, recorder))
