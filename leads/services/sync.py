"""Pulls from Kartra's inbound API: refreshing leads with ``get_lead``, each run recorded.

A sync run (``events.models.SyncRun``) records its start and end, how many leads were
refreshed, unchanged, not found (or deleted) and failed, the API calls, 429s and retries the
client made meanwhile, and the errors. Commands, the refresh loop of ``kartra_serve``, the
Celery tasks and the admin all go through :func:`sync_run_start` and :func:`leads_refresh`.

``get_lead`` calls run a few at a time in worker threads (HTTP only, bounded by the client's
rate limiter); every snapshot is applied to the database by the calling thread, so
database writes never run in parallel within one sync.
"""

import hashlib
import json
import logging
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.db.models.functions import Lower
from django.utils import timezone

from events.models import SyncRun, SyncRunStatus
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
from leads.models import Lead, MirrorStatus, Source
from leads.normalize import PayloadError, parse_lead_details

from .snapshot import lead_apply_snapshot, lead_mark_gone

logger = logging.getLogger(__name__)

REFRESHED = "refreshed"
UNCHANGED = "unchanged"
NOT_FOUND = "not_found"
DELETED = "deleted"
FAILED = "failed"

#: ``get_lead`` calls in flight at once; the rate limiter still caps the calls per second.
FETCH_WORKERS = 4
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


# -- the run record ------------------------------------------------------------------------


class SyncRecorder:
    """Counts one run's outcomes on its ``SyncRun`` and takes the client's counters
    (calls, 429s, retries) as the difference since the run started."""

    def __init__(self, run: SyncRun, client: KartraClient) -> None:
        self.run = run
        self.client = client
        self._baseline = client.stats.as_dict()
        self._pending = 0

    def count(self, outcome: str) -> None:
        field = {
            REFRESHED: "leads_refreshed",
            UNCHANGED: "leads_unchanged",
            NOT_FOUND: "leads_not_found",
            DELETED: "leads_not_found",
            FAILED: "leads_failed",
        }[outcome]
        setattr(self.run, field, getattr(self.run, field) + 1)
        self._pending += 1
        if self._pending >= SAVE_EVERY:
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
        self.run.save()
        self._pending = 0

    def finish(self, *, aborted: bool = False) -> SyncRun:
        run = self.run
        if aborted:
            run.status = SyncRunStatus.FAILED
        elif run.leads_failed or run.errors:
            run.status = SyncRunStatus.PARTIAL
        else:
            run.status = SyncRunStatus.SUCCEEDED
        run.finished_at = timezone.now()
        self.save()
        return run


def sync_run_start(
    *, kind: str, client: KartraClient, arguments: dict | None = None
) -> SyncRecorder:
    """Open a sync run of ``kind`` (``all``, ``due``, ``catalog``, ``leads``, ...)."""
    run = SyncRun.objects.create(kind=kind, arguments=arguments or {}, started_at=timezone.now())
    return SyncRecorder(run, client)


# -- refreshing leads ----------------------------------------------------------------------


@dataclass
class _Fetched:
    target: Target
    requested_at: datetime
    details: dict | None = None
    error: KartraError | None = None


def _fetch(client: KartraClient, target: Target) -> _Fetched:
    requested_at = timezone.now()
    try:
        if target.kartra_id is not None:
            details = client.get_lead(lead_id=target.kartra_id)
        else:
            details = client.get_lead(email=target.email)
    except KartraError as exc:
        return _Fetched(target, requested_at, error=exc)
    return _Fetched(target, requested_at, details=details)


def _fetched_in_order(
    client: KartraClient, targets: Iterable[Target], workers: int
) -> Iterator[Future]:
    """Futures of ``get_lead`` answers in the order of ``targets``, a few requests ahead."""
    ahead = max(1, workers) * 2
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="get-lead") as pool:
        queue: deque[Future] = deque()
        iterator = iter(targets)
        try:
            for target in iterator:
                queue.append(pool.submit(_fetch, client, target))
                if len(queue) >= ahead:
                    yield queue.popleft()
            while queue:
                yield queue.popleft()
        finally:
            for future in queue:
                future.cancel()


def leads_refresh(
    client: KartraClient,
    leads: QuerySet[Lead] | Iterable[Lead | int | Target],
    run: SyncRecorder,
    *,
    workers: int = FETCH_WORKERS,
    on_result: Callable[[Target, str], None] | None = None,
) -> SyncRun:
    """Refresh each lead from a ``get_lead`` snapshot, counting outcomes on ``run``.

    ``leads``: a queryset, Lead objects, lead primary keys or :class:`Target` (a Kartra id or
    an email not in the mirror yet). ``on_result(target, outcome)`` is called per lead.
    Raises :class:`SyncAborted` (after recording it) when Kartra refuses the credentials or
    stays unreachable; the run is then marked failed. Does not finish the run.
    """
    unavailable = 0
    for future in _fetched_in_order(client, targets_of(leads), workers):
        fetched = future.result()
        outcome = _settle(fetched, run)
        run.count(outcome)
        if on_result is not None:
            on_result(fetched.target, outcome)
        if isinstance(fetched.error, CredentialsRefused):
            raise SyncAborted(f"Kartra refused the credentials: {fetched.error}")
        unavailable = unavailable + 1 if isinstance(fetched.error, KartraUnavailable) else 0
        if unavailable >= MAX_CONSECUTIVE_UNAVAILABLE:
            raise SyncAborted(f"Kartra unreachable for {unavailable} leads in a row")
    run.save()
    return run.run


def _settle(fetched: _Fetched, run: SyncRecorder) -> str:
    """Apply one answer: a snapshot, a not found / deleted mark, or a recorded failure."""
    outcome = _settle_once(fetched, run)
    if outcome == FAILED:
        _defer(fetched.target)
    return outcome


def _settle_once(fetched: _Fetched, run: SyncRecorder) -> str:
    target, error = fetched.target, fetched.error
    try:
        if isinstance(error, LeadNotFound | LeadDeleted):
            deleted = isinstance(error, LeadDeleted)
            lead_mark_gone(
                kartra_id=target.kartra_id,
                email=target.email,
                deleted=deleted,
                requested_at=fetched.requested_at,
            )
            return DELETED if deleted else NOT_FOUND
        if error is not None:
            if not isinstance(error, RateLimited | KartraUnavailable | CredentialsRefused):
                logger.warning("get_lead failed for %s: %s", target.log_name, type(error).__name__)
            run.error(str(target), error)
            return FAILED
        assert fetched.details is not None
        snapshot = parse_lead_details(fetched.details)
        unchanged = _same_as_last_snapshot(snapshot.profile.kartra_id, fetched.details)
        lead_apply_snapshot(
            snapshot=snapshot, requested_at=fetched.requested_at, sync_run_id=run.run.pk
        )
        return UNCHANGED if unchanged else REFRESHED
    except PayloadError as exc:
        run.error(str(target), exc)
        return FAILED
    except Exception as exc:  # noqa: BLE001 - one lead's failure must not stop the run
        # The exception's text may quote the lead's data: it goes to the sync run only; the
        # log line says where it was raised.
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        logger.error(
            "refreshing %s failed: %s at %s:%s",
            target.log_name, type(exc).__name__, frame.filename, frame.lineno,
        )  # fmt: skip
        run.error(str(target), exc)
        return FAILED


def _defer(target: Target) -> None:
    """Retry a lead that failed in ``RETRY_AFTER``, not at the next pass: its refresh
    request moves to then (``leads_due`` takes requests that are due), so one lead Kartra
    keeps failing on never starves the others or spins the refresh loop."""
    leads = Lead.objects.all()
    if target.kartra_id is not None:
        leads = leads.filter(kartra_id=target.kartra_id)
    else:
        leads = leads.annotate(email_ci=Lower("email")).filter(email_ci=target.email.lower())
    leads.update(mirror_refresh_requested_at=timezone.now() + RETRY_AFTER)


def details_digest(details: dict) -> str:
    """A stable digest of a ``lead_details`` object (key order does not matter)."""
    canonical = json.dumps(details, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _same_as_last_snapshot(kartra_id: int | None, details: dict) -> bool:
    """True when the lead's last stored observation is a snapshot with the same content:
    nothing about the lead changed in Kartra since (the snapshot is applied anyway, which
    re-asserts it over any delivery processed out of order)."""
    row = (
        Lead.objects.filter(kartra_id=kartra_id)
        .values_list("mirror_raw", "mirror_raw_source", "mirror_status")
        .first()
    )
    if row is None:
        return False
    raw, source, status = row
    return (
        source == Source.SNAPSHOT
        and status == MirrorStatus.ACTIVE
        and details_digest(raw) == details_digest(details)
    )


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
    recorder = sync_run_start(kind=kind, client=client, arguments=arguments)
    try:
        leads_refresh(client, leads, recorder)
    except SyncAborted as exc:
        recorder.error("run", str(exc))
        return recorder.finish(aborted=True)
    finally:
        if own_client:
            client.close()
    return recorder.finish()


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
    try:
        catalog_sync_into(recorder)
    except SyncAborted:
        return recorder.finish(aborted=True)
    return recorder.finish()


def due_refresh_run(client: KartraClient, *, limit: int) -> SyncRun | None:
    """Refresh up to ``limit`` due leads (see ``leads_due``) in a run of kind ``due``;
    None when no lead is due."""
    from .due import leads_due

    leads = leads_due(limit)
    if not leads:
        return None
    recorder = sync_run_start(kind="due", client=client, arguments={"limit": limit})
    try:
        leads_refresh(client, leads, recorder)
    except SyncAborted as exc:
        recorder.error("run", str(exc))
        return recorder.finish(aborted=True)
    return recorder.finish()
