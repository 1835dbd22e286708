"""Which leads need a ``get_lead`` refresh, and how many fit in the API budget (reads only).

Order: leads whose refresh was requested (a webhook delivery, an import, the admin), oldest
request first; then leads never refreshed or refreshed longer ago than
``KARTRA_REFRESH_MAX_AGE`` seconds, most recently active first and stalest first. Leads
Kartra reported not found or deleted are not refreshed on schedule (a new delivery for one
requests a refresh, and ``kartra_sync --all`` or ``--id`` asks again).
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from leads.models import Lead, MirrorStatus

#: Share of the API rate the scheduled refresh may use; the rest is left for commands.
BUDGET_SHARE = 0.8


def leads_refresh_requested(*, now: datetime | None = None) -> QuerySet[Lead]:
    """Leads with a refresh request that is due, oldest request first. (A lead whose
    refresh failed has its request moved into the future, see ``sync.RETRY_AFTER``.)"""
    return Lead.objects.filter(mirror_refresh_requested_at__lte=now or timezone.now()).order_by(
        "mirror_refresh_requested_at", "pk"
    )


def leads_stale(*, older_than: timedelta, now: datetime | None = None) -> QuerySet[Lead]:
    """Leads never refreshed or last refreshed before ``now - older_than``, most recently
    active first (leads never active last), then stalest first."""
    cutoff = (now or timezone.now()) - older_than
    return Lead.objects.filter(
        Q(mirror_refreshed_at__isnull=True) | Q(mirror_refreshed_at__lt=cutoff)
    ).order_by(
        F("mirror_last_activity_at").desc(nulls_last=True),
        F("mirror_refreshed_at").asc(nulls_first=True),
        "pk",
    )


def leads_due(limit: int, *, now: datetime | None = None) -> list[Lead]:
    """Up to ``limit`` leads to refresh now: requested ones first, then stale ones."""
    if limit <= 0:
        return []
    now = now or timezone.now()
    requested = list(leads_refresh_requested(now=now)[:limit])
    room = limit - len(requested)
    if room <= 0:
        return requested
    stale = (
        leads_stale(older_than=timedelta(seconds=settings.KARTRA_REFRESH_MAX_AGE), now=now)
        .filter(mirror_refresh_requested_at__isnull=True)
        .exclude(mirror_status__in=[MirrorStatus.NOT_FOUND, MirrorStatus.DELETED])
    )
    return requested + list(stale[:room])


def refresh_budget(seconds: float) -> int:
    """How many ``get_lead`` calls fit in ``seconds`` at the configured rate, leaving a
    share for other callers (commands, the admin)."""
    return max(1, int(settings.KARTRA_API_RATE * seconds * BUDGET_SHARE))
