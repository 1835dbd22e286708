"""Pulls from Kartra's inbound API: refreshing leads with ``get_lead``, each pull a sync run.

Commands, the refresh loop of ``kartra_serve``, the Celery tasks and the demo refresh leads
with :func:`leads_refresh` inside a sync run (``.sync_runs.sync_run``, which records the
counts and errors and finishes the run); :func:`sync_leads` and :func:`due_refresh_run` are
the whole of it for one-off callers and for the due queue.

``get_lead`` calls run in worker threads (HTTP and parsing only, bounded by the client's
rate limiter, ``.fetch``) while the calling thread settles the answers that arrived, in
batches, each in one transaction (``.settle``): the calls never wait for the database, and
database writes never run in parallel within one sync.
"""

import logging
from collections.abc import Callable, Iterable
from contextlib import closing
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from events.models import SyncRun
from kartra_mirror.kartra import (
    CredentialsRefused,
    KartraClient,
    KartraUnavailable,
    client_from_settings,
)
from leads.models import Lead

from .due import leads_due
from .fetch import answers_in_batches
from .settle import answers_settle
from .suppression import is_suppressed, suppressed_digests
from .sync_runs import (
    HEARTBEAT,
    SyncAborted,
    SyncRecorder,
    sync_run,
)

__all__ = [
    "APPLY_BATCH",
    "MAX_CONSECUTIVE_UNAVAILABLE",
    "Target",
    "credentials_configured",
    "due_refresh_run",
    "fetch_workers",
    "leads_refresh",
    "sync_client",
    "sync_leads",
    "targets_not_suppressed",
    "targets_of",
]

logger = logging.getLogger(__name__)

#: ``get_lead`` calls in flight at once, at least; see :func:`fetch_workers`.
FETCH_WORKERS = 4
#: Answers applied in one transaction at most (fewer when fewer arrived meanwhile).
APPLY_BATCH = 100
#: A run stops after this many leads in a row failed because Kartra was unreachable.
MAX_CONSECUTIVE_UNAVAILABLE = 20


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
    Raises :class:`SyncAborted` when Kartra refuses the credentials or stays unreachable,
    after counting the batch (``sync_run`` then records the reason and ends the run
    ``failed``). Saves the counts; does not finish the run.
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
