"""A lead's timeline: purchases, calendar sessions, survey results, the changes the mirror
recorded (``leads.Change``) and the kinds other apps add (``events.lead_admin`` adds the
webhooks' activity) merged into one list, newest first, paged by a cursor so the hundredth
page costs what the first does.

Each kind is read by its own query, ordered by time and limited to one page plus one row;
the rows are merged in Python. Rows with no date (a transaction Kartra sent undated) are
left out of the timeline; the lead page's sections list them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from django.db.models import Q
from django.urls import reverse

from leads.models import (
    CalendarEvent,
    Change,
    ChangeKind,
    Lead,
    Source,
    SurveyResult,
    Transaction,
)
from leads.revenue import REFUND_TYPES, transaction_amount

PER_PAGE = 50


@dataclass(frozen=True)
class Kind:
    """One kind of timeline row: its query-string name, label and place among equal times."""

    name: str
    label: str
    rank: int  # among rows of the same instant, the higher rank is listed first


PURCHASES = Kind("purchases", "Purchases", 4)
CALENDAR = Kind("calendar", "Calendar", 3)
SURVEYS = Kind("surveys", "Surveys", 2)
# Rank 1 is the webhooks' activity (``events.lead_admin.ACTIVITY``).
CHANGES = Kind("changes", "Changes", 0)  # below the delivery's activity of the same instant


@dataclass(frozen=True)
class Position:
    """Where a page starts: just after the row at ``at`` of ``rank`` with key ``key``."""

    at: datetime
    rank: int
    key: int

    def token(self) -> str:
        micros = int(self.at.timestamp() * 1_000_000)
        return f"{micros}.{self.rank}.{self.key}"

    @classmethod
    def parse(cls, token: str | None) -> Position | None:
        """The position a ``token()`` names; None (the newest page) for anything else."""
        try:
            micros, rank, key = (int(part) for part in (token or "").split("."))
            at = datetime.fromtimestamp(micros / 1_000_000, tz=UTC)
        except (ValueError, OverflowError, OSError):
            return None
        return cls(at=at, rank=rank, key=key)


@dataclass(frozen=True)
class Entry:
    at: datetime
    kind: Kind
    key: int
    title: str
    detail: str = ""
    url: str = ""
    amount: Decimal | None = None
    negative: bool = False

    @property
    def position(self) -> Position:
        return Position(at=self.at, rank=self.kind.rank, key=self.key)


@dataclass
class TimelinePage:
    entries: list[Entry]
    kinds: tuple[Kind, ...]
    kind: Kind | None  # the one kind shown, or None for all
    is_first: bool
    next_token: str | None


def older_than(position: Position | None, rank: int, time: str, key: str = "pk") -> Q:
    """The rows of one kind that come after ``position`` in (time, rank, key) descending."""
    if position is None:
        return Q()
    if rank < position.rank:
        return Q(**{f"{time}__lte": position.at})
    if rank > position.rank:
        return Q(**{f"{time}__lt": position.at})
    return Q(**{f"{time}__lt": position.at}) | Q(**{time: position.at, f"{key}__lt": position.key})


def admin_url(name: str, pk: int) -> str:
    return reverse(f"admin:{name}_change", args=[pk])


def purchase_entries(lead: Lead, position: Position | None, limit: int) -> Iterable[Entry]:
    rows = (
        Transaction.objects.filter(lead=lead, transaction_date__isnull=False)
        .filter(older_than(position, PURCHASES.rank, "transaction_date"))
        .select_related("product")
        .annotate(amount_moved=transaction_amount())
        .order_by("-transaction_date", "-pk")[:limit]
    )
    for row in rows:
        product = str(row.product) if row.product_id else "unknown product"
        yield Entry(
            at=row.transaction_date,
            kind=PURCHASES,
            key=row.pk,
            title=f"{row.get_transaction_type_display().capitalize()}: {product}",
            detail=" · ".join(
                part
                for part in (
                    f"price point {row.price_point}" if row.price_point else "",
                    f"transaction {row.kartra_id}",
                )
                if part
            ),
            url=admin_url("leads_transaction", row.pk),
            amount=abs(row.amount_moved),
            negative=row.transaction_type in REFUND_TYPES,
        )


def calendar_entries(lead: Lead, position: Position | None, limit: int) -> Iterable[Entry]:
    rows = (
        CalendarEvent.objects.filter(subscription__lead=lead)
        .filter(older_than(position, CALENDAR.rank, "starts_at"))
        .select_related("subscription__calendar", "subscription__calendar_class")
        .order_by("-starts_at", "-pk")[:limit]
    )
    for row in rows:
        subscription = row.subscription
        calendar_class = subscription.calendar_class
        where = " · ".join(
            part
            for part in (str(subscription.calendar), calendar_class and calendar_class.name)
            if part
        )
        length = f"{row.duration_minutes} min" if row.duration_minutes else ""
        yield Entry(
            at=row.starts_at,
            kind=CALENDAR,
            key=row.pk,
            title=f"Calendar session ({subscription.get_status_display()})",
            detail=" · ".join(part for part in (where, length) if part),
            url=admin_url("leads_calendarsubscription", subscription.pk),
        )


def survey_entries(lead: Lead, position: Position | None, limit: int) -> Iterable[Entry]:
    rows = (
        SurveyResult.objects.filter(lead=lead, completed_at__isnull=False)
        .filter(older_than(position, SURVEYS.rank, "completed_at"))
        .select_related("survey")
        .order_by("-completed_at", "-pk")[:limit]
    )
    for row in rows:
        score = f"score {row.score.normalize():f}" if row.score is not None else ""
        yield Entry(
            at=row.completed_at,
            kind=SURVEYS,
            key=row.pk,
            title=f"Completed {row.survey.get_survey_type_display() or 'survey'}: {row.survey}",
            detail=score,
            url=admin_url("leads_survey", row.survey_id),
        )


def change_entries(lead: Lead, position: Position | None, limit: int) -> Iterable[Entry]:
    rows = (
        Change.objects.filter(lead=lead)
        .filter(older_than(position, CHANGES.rank, "observed_at"))
        .order_by("-observed_at", "-pk")[:limit]
    )
    for row in rows:
        by, url = change_origin(row)
        subject = row.name.replace("_", " ") if row.kind == ChangeKind.PROFILE else row.name
        yield Entry(
            at=row.observed_at,
            kind=CHANGES,
            key=row.pk,
            title=f"{row.get_kind_display().capitalize()} {subject}: "
            f"{change_value(row.old)} → {change_value(row.new)}",
            detail=f"by {by}",
            url=url,
        )


def change_origin(change: Change) -> tuple[str, str]:
    """What made ``change``, in words, and its admin page ("" when it has none)."""
    if change.ref is not None and change.source == Source.WEBHOOK:
        return f"delivery {change.ref}", admin_url("events_delivery", change.ref)
    if change.ref is not None and change.source == Source.SNAPSHOT:
        return f"refresh (sync run {change.ref})", admin_url("events_syncrun", change.ref)
    return change.get_source_display(), ""


def change_value(value) -> str:
    """A change's old or new value in a few words."""
    if value is None or value == "":
        return "—"
    if isinstance(value, dict):
        return ", ".join(f"{key}: {change_value(each)}" for key, each in value.items())
    if isinstance(value, list):
        return ", ".join(change_value(each) for each in value) or "—"
    text = str(value)
    return text if len(text) <= 80 else f"{text[:79]}…"


#: Reads one page (plus one row) of one kind's entries, after a position.
KindReader = Callable[[Lead, Position | None, int], Iterable[Entry]]

#: The lead's own kinds, in the order the page offers them.
OWN_SOURCES: dict[Kind, KindReader] = {
    CHANGES: change_entries,
    PURCHASES: purchase_entries,
    CALENDAR: calendar_entries,
    SURVEYS: survey_entries,
}
#: Kinds other apps add, offered before the lead's own (``events.lead_admin`` adds the
#: webhooks' activity). Filled at start-up by :func:`timeline_source_add`.
ADDED_SOURCES: dict[Kind, KindReader] = {}


def timeline_source_add(kind: Kind, source: KindReader) -> None:
    """Add a kind of row to every lead's timeline, read by ``source(lead, after, limit)``:
    the lead's rows of that kind after the position (see :func:`older_than`), newest
    first, at most ``limit``, in one query. Adding a kind again replaces its source."""
    ADDED_SOURCES[kind] = source


def timeline_sources() -> dict[Kind, KindReader]:
    """Every kind of row, in the order the page offers them."""
    return {**ADDED_SOURCES, **OWN_SOURCES}


def lead_timeline(
    lead: Lead, *, kind: str | None = None, after: str | None = None, per_page: int = PER_PAGE
) -> TimelinePage:
    """One page of the lead's timeline, newest first, of every kind or of ``kind`` only,
    starting after the row the ``after`` token names (from a previous page's
    ``next_token``). One query per kind shown, none of them counting."""
    sources = timeline_sources()
    kinds = tuple(sources)
    shown = next((each for each in kinds if each.name == kind), None)
    position = Position.parse(after)
    entries: list[Entry] = []
    for each in (shown,) if shown else kinds:
        entries.extend(sources[each](lead, position, per_page + 1))
    entries.sort(key=lambda entry: (entry.at, entry.kind.rank, entry.key), reverse=True)
    page = entries[:per_page]
    return TimelinePage(
        entries=page,
        kinds=kinds,
        kind=shown,
        is_first=position is None,
        next_token=page[-1].position.token() if len(entries) > per_page else None,
    )
