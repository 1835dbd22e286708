"""What a pull from Kartra's inbound API asks for and with what: the leads to ask
``get_lead`` about (:class:`Target`, less the erased ones), the client every sync uses and
how many calls it keeps in flight.

The pull itself, recorded as a sync run, is ``events.sync.refresh``: ``.fetch`` makes the
calls, ``.settle`` applies the answers.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from kartra_mirror.kartra import KartraClient, client_from_settings
from leads.models import Lead

from .suppression import is_suppressed, suppressed_digests

__all__ = [
    "Target",
    "credentials_configured",
    "fetch_workers",
    "sync_client",
    "targets_not_suppressed",
    "targets_of",
]

logger = logging.getLogger(__name__)

#: ``get_lead`` calls in flight at once, at least; see :func:`fetch_workers`.
FETCH_WORKERS = 4


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
