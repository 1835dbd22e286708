"""Which leads need a ``get_lead`` refresh, in what order, and how far behind each kind is
(reads only).

The due queue, first to last:

1. **requested**: a webhook delivery, an import or a person asked for a refresh, oldest
   request first (a lead whose refresh failed has its request moved ``RETRY_AFTER`` into
   the future, and waits until then);
2. **never refreshed**: known by a webhook or an import and never fetched, in the order the
   mirror learned of them;
3. **active and stale**: last refreshed longer ago than ``KARTRA_REFRESH_MAX_AGE`` and
   active (a recorded activity) within ``ACTIVE_WINDOW`` of that refresh, stalest first;
4. **stale**: every other lead refreshed longer ago than ``KARTRA_REFRESH_MAX_AGE``, stalest
   first.

Leads Kartra reported not found or deleted are not refreshed on schedule (a new delivery for
one requests a refresh, and ``kartra_sync --all`` or ``--id`` asks again).

"Active" is measured from the lead's last refresh, not from now, so that it is a property
of the row that a partial index can hold: every lead is refreshed at least every
``KARTRA_REFRESH_MAX_AGE``, so for a stale lead it means active in the month before it went
stale. Each class is read with one index scan that stops after the rows it needs
(``leads/migrations/0005_due_queue_indexes.py``, PostgreSQL), whatever the number of leads:
bench/refresh.py measures it on a million.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import DateTimeField, F, Func, Q, QuerySet
from django.db.models.lookups import GreaterThan, LessThanOrEqual
from django.utils import timezone

from leads.models import Lead, MirrorStatus

#: Share of the API rate the scheduled refresh may use; the rest is left for commands.
BUDGET_SHARE = 0.8
#: A stale lead active within this long before its last refresh is refreshed before the
#: other stale ones. The PostgreSQL index of that class has it written in its predicate.
ACTIVE_WINDOW = timedelta(days=30)
#: Statuses of leads Kartra no longer has: not refreshed on schedule.
GONE = (MirrorStatus.NOT_FOUND, MirrorStatus.DELETED)
#: Columns a refresh needs of a due lead (the rest, the raw JSON above all, stays unread).
TARGET_COLUMNS = ("pk", "kartra_id", "email")

REQUESTED = "requested"
NEVER = "never_refreshed"
ACTIVE_STALE = "active_stale"
STALE = "stale"
#: The classes of the due queue, in order, with what the admin calls them.
CLASSES = {
    REQUESTED: "Refresh requested (webhook, import or a person)",
    NEVER: "Never refreshed",
    ACTIVE_STALE: "Stale and recently active",
    STALE: "Stale, everyone else",
}


def leads_due(limit: int, *, now: datetime | None = None) -> list[Lead]:
    """Up to ``limit`` leads to refresh now, in the order of the due queue (see the module's
    docstring); only their primary key, Kartra id and email are read."""
    now = now or timezone.now()
    due: list[Lead] = []
    for name in CLASSES:
        room = limit - len(due)
        if room <= 0:
            break
        due += list(due_class(name, now=now).only(*TARGET_COLUMNS)[:room])
    return due


def due_class(name: str, *, now: datetime | None = None) -> QuerySet[Lead]:
    """The leads of one class of the due queue (a ``CLASSES`` key), in its order."""
    now = now or timezone.now()
    if name == REQUESTED:
        return leads_refresh_requested(now=now)
    scheduled = _scheduled()
    if name == NEVER:
        return scheduled.filter(mirror_refreshed_at__isnull=True).order_by("pk")
    stale = scheduled.filter(mirror_refreshed_at__lt=now - max_age())
    active_since = _Utc("mirror_refreshed_at") - ACTIVE_WINDOW
    if name == ACTIVE_STALE:
        active = GreaterThan(_Utc("mirror_last_activity_at"), active_since)
        return stale.filter(active).order_by("mirror_refreshed_at", "pk")
    if name == STALE:
        quiet = LessThanOrEqual(_Utc("mirror_last_activity_at"), active_since)
        return stale.filter(Q(mirror_last_activity_at__isnull=True) | Q(quiet)).order_by(
            "mirror_refreshed_at", "pk"
        )
    raise ValueError(f"no due class {name!r}")


def _scheduled() -> QuerySet[Lead]:
    """Leads refreshed on schedule: no request pending (or deferred), not gone."""
    return Lead.objects.filter(mirror_refresh_requested_at__isnull=True).exclude(
        mirror_status__in=GONE
    )


class _Utc(Func):
    """A timestamp column as UTC wall-clock time (``AT TIME ZONE 'UTC'``) on PostgreSQL:
    arithmetic on it is immutable, as an index predicate requires, where arithmetic on a
    ``timestamptz`` depends on the session's time zone. The active class is written as its
    index predicate is (``leads/migrations/0005_due_queue_indexes.py``), for the planner to
    match them. Other databases compare the column as it is."""

    template = "(%(expressions)s AT TIME ZONE 'UTC')"
    output_field = DateTimeField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return compiler.compile(self.source_expressions[0])


def leads_refresh_requested(*, now: datetime | None = None) -> QuerySet[Lead]:
    """Leads with a refresh request that is due, oldest request first. (A lead whose
    refresh failed has its request moved into the future, see ``settle.RETRY_AFTER``.)"""
    return Lead.objects.filter(mirror_refresh_requested_at__lte=now or timezone.now()).order_by(
        "mirror_refresh_requested_at", "pk"
    )


def leads_stale(*, older_than: timedelta, now: datetime | None = None) -> QuerySet[Lead]:
    """Leads never refreshed or last refreshed before ``now - older_than``, stalest first
    (never refreshed ones first), whatever their requests and status: what
    ``kartra_sync --stale`` refreshes."""
    cutoff = (now or timezone.now()) - older_than
    return Lead.objects.filter(
        Q(mirror_refreshed_at__isnull=True) | Q(mirror_refreshed_at__lt=cutoff)
    ).order_by(F("mirror_refreshed_at").asc(nulls_first=True), "pk")


def max_age() -> timedelta:
    return timedelta(seconds=settings.KARTRA_REFRESH_MAX_AGE)


@dataclass(frozen=True)
class Backlog:
    """How far behind one class of the due queue is: how many leads it holds (counted up
    to ``bound``; ``more`` when past it) and since when its first lead has been due."""

    name: str
    label: str
    count: int
    more: bool
    due_since: datetime | None

    def behind(self, now: datetime) -> timedelta | None:
        """How long the oldest due lead of the class has been waiting."""
        return None if self.due_since is None else max(now - self.due_since, timedelta(0))


def due_backlog(*, bound: int, now: datetime | None = None) -> list[Backlog]:
    """Each class of the due queue with its size (up to ``bound``) and since when its
    oldest lead is due: the request's time, the time the mirror first saw a lead never
    refreshed, the time a stale lead's refresh became overdue. Two index scans a class,
    counting from the index alone where the visibility map allows."""
    now = now or timezone.now()
    counts: dict[str, int] = {}
    backlog = []
    for name, label in CLASSES.items():
        leads = due_class(name, now=now)
        if name == STALE:
            # Counted as every scheduled stale lead less the active ones: the index holds
            # the first, not the activity that tells the classes apart.
            everyone = _scheduled().filter(mirror_refreshed_at__lt=now - max_age())
            count = _bounded(everyone, bound + counts[ACTIVE_STALE]) - counts[ACTIVE_STALE]
        else:
            count = _bounded(leads, bound)
        counts[name] = count
        first = leads.values_list(
            "mirror_refresh_requested_at", "mirror_first_seen", "mirror_refreshed_at"
        ).first()
        due_since = None
        if first is not None:
            requested_at, first_seen, refreshed_at = first
            due_since = {
                REQUESTED: requested_at,
                NEVER: first_seen,
            }.get(name, refreshed_at + max_age() if refreshed_at else None)
        backlog.append(Backlog(name, label, min(count, bound), count > bound, due_since))
    return backlog


def _bounded(leads: QuerySet[Lead], bound: int) -> int:
    """How many rows ``leads`` has, counting no further than ``bound + 1`` (the due
    classes' indexes hold the primary key: PostgreSQL can count from them alone)."""
    return leads.order_by().values("pk")[: bound + 1].count()


def refresh_budget(seconds: float) -> int:
    """How many ``get_lead`` calls fit in ``seconds`` at the configured rate, leaving a
    share for other callers (commands, the admin)."""
    return max(1, int(settings.KARTRA_API_RATE * seconds * BUDGET_SHARE))
