"""The admin index's dashboard: is the mirror healthy, how far it is from Kartra, what came
in, what sold.

Each chart is one GROUP BY per page view over an indexed, date-bounded column
(received_at, date_joined, transaction_date, started_at). The days before today change
rarely, so their rows are kept in Django's cache for ``HISTORY_SECONDS`` and the query
then reads today only: a busy account's month of deliveries is aggregated once every few
minutes, not on every visit, and today's figures are always live.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from leads.models import Lead, Transaction, TransactionType
from leads.revenue import money_sums, mrr_series
from leads.selectors import subscription_totals
from leads.services.due import ACTIVE_STALE, NEVER, REQUESTED, STALE, due_backlog

from .charts import ALERT, PALETTE, Chart, Series, bar_chart
from .models import AuditRun, Delivery, DeliveryStatus, SyncRun

DAYS = 30
ACTIONS_SHOWN = 6  # the busiest actions get a colour each; the rest are "other"
DUE_BOUND = 100_000
HISTORY_SECONDS = 300  # how stale the days before today may be (late or replayed rows)


@dataclass
class Window:
    days: list[date]
    start: datetime
    today_start: datetime

    @classmethod
    def last(cls, days: int, *, now: datetime | None = None) -> Window:
        today = timezone.localdate(now)
        first = today - timedelta(days=days - 1)
        start = timezone.make_aware(datetime.combine(first, time.min))
        today_start = timezone.make_aware(datetime.combine(today, time.min))
        return cls(
            days=[first + timedelta(days=i) for i in range(days)],
            start=start,
            today_start=today_start,
        )

    def align(self, by_day: dict[date, Any], default: Any = 0) -> list[Any]:
        return [by_day.get(day, default) for day in self.days]


def _day(value: date | datetime | str) -> date:
    # TruncDate gives a date on every backend Django supports; keep this tolerant anyway.
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value


def daily_rows(name: str, window: Window, query: Callable[[datetime], Any]) -> list[dict]:
    """The rows of ``query(since)`` (a GROUP BY day) over the window, in one query: the
    whole window when the cache has no history for it, else today only."""
    key = f"kartra-dashboard:{name}:{window.days[0]}:{len(window.days)}"
    history = cache.get(key)
    if history is None:
        rows = list(query(window.start))
        today = window.days[-1]
        cache.set(key, [row for row in rows if _day(row["day"]) < today], HISTORY_SECONDS)
        return rows
    return history + list(query(window.today_start))


def deliveries_chart(window: Window) -> Chart:
    rows = daily_rows(
        "deliveries",
        window,
        lambda since: (
            Delivery.objects.filter(received_at__gte=since)
            .annotate(day=TruncDate("received_at"))
            .values("day", "action")
            .annotate(n=Count("*"), failed=Count("status", filter=Q(status=DeliveryStatus.FAILED)))
            .order_by()
        ),
    )
    per_action: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    failed: dict[date, int] = defaultdict(int)
    for row in rows:
        day = _day(row["day"])
        per_action[row["action"] or "(unparsed)"][day] += row["n"]
        failed[day] += row["failed"]
    ranked = sorted(per_action, key=lambda action: -sum(per_action[action].values()))
    shown, rest = ranked[:ACTIONS_SHOWN], ranked[ACTIONS_SHOWN:]
    series = [
        Series(action, window.align(per_action[action]), PALETTE[i % len(PALETTE)])
        for i, action in enumerate(shown)
    ]
    if rest:
        other = {day: sum(per_action[action].get(day, 0) for action in rest) for day in window.days}
        series.append(Series("other", window.align(other), PALETTE[-1]))
    total = sum(sum(values.values()) for values in per_action.values())
    chart = bar_chart(
        f"Deliveries per day by action ({total:,} in {len(window.days)} days)",
        window.days,
        series,
        line=Series("failed", window.align(failed), ALERT),
    )
    return chart


def new_leads_chart(window: Window) -> Chart:
    rows = daily_rows(
        "new-leads",
        window,
        lambda since: (
            Lead.objects.filter(date_joined__gte=since)
            .annotate(day=TruncDate("date_joined"))
            .values("day")
            .annotate(n=Count("pk"))
            .order_by()
        ),
    )
    by_day = {_day(row["day"]): row["n"] for row in rows}
    return bar_chart(
        f"New leads per day ({sum(by_day.values()):,} joined in {len(window.days)} days)",
        window.days,
        [Series("joined", window.align(by_day), PALETTE[3])],
    )


def revenue_chart(window: Window) -> Chart:
    rows = daily_rows(
        "revenue",
        window,
        lambda since: (
            Transaction.objects.filter(transaction_date__gte=since)
            .annotate(day=TruncDate("transaction_date"))
            .values("day")
            .annotate(**money_sums())
            .order_by()
        ),
    )
    sales = {_day(row["day"]): row["sales"] for row in rows}
    refunds = {_day(row["day"]): -row["refunds"] for row in rows}
    net = {day: sales.get(day, 0) + refunds.get(day, 0) for day in window.days}
    total = sum(net.values(), Decimal("0"))
    return bar_chart(
        f"Revenue per day (net {total:,.2f} in {len(window.days)} days)",
        window.days,
        [
            Series("sales", window.align(sales, Decimal("0")), PALETTE[0]),
            Series("refunds", window.align(refunds, Decimal("0")), PALETTE[2]),
        ],
        line=Series("net", window.align(net, Decimal("0")), "#333333"),
        value_text=lambda value: f"{value:,.2f}",
    )


def churn_chart(window: Window) -> Chart:
    """Failed payments (IPN ``failed``) and cancellations per day, by the transactions'
    dates: what is slipping away."""
    kinds = (TransactionType.FAILED, TransactionType.CANCELLATION)
    rows = daily_rows(
        "churn",
        window,
        lambda since: (
            Transaction.objects.filter(transaction_date__gte=since, transaction_type__in=kinds)
            .annotate(day=TruncDate("transaction_date"))
            .values("day")
            .annotate(
                failed=Count("pk", filter=Q(transaction_type=TransactionType.FAILED)),
                cancelled=Count("pk", filter=Q(transaction_type=TransactionType.CANCELLATION)),
            )
            .order_by()
        ),
    )
    failed: dict[date, int] = defaultdict(int)
    cancelled: dict[date, int] = defaultdict(int)
    for row in rows:
        failed[_day(row["day"])] += row["failed"]
        cancelled[_day(row["day"])] += row["cancelled"]
    return bar_chart(
        f"Failed payments and cancellations per day ({sum(failed.values()):,} failed, "
        f"{sum(cancelled.values()):,} cancelled in {len(window.days)} days)",
        window.days,
        [
            Series("failed payments", window.align(failed), ALERT),
            Series("cancellations", window.align(cancelled), PALETTE[2]),
        ],
    )


def subscriptions_health(*, now: datetime | None = None) -> dict[str, Any]:
    """MRR now and the subscriptions in each status (``leads.selectors.subscription_totals``):
    one query. Its history is ``mrr_chart``'s, derived from the subscriptions' facts."""
    return subscription_totals(now=now)


def mrr_chart(*, now: datetime | None = None) -> Chart:
    """MRR at the end of each of the last 12 months and now (``leads.revenue.mrr_series``,
    one query); the last bar is the MRR figure above it."""
    points = mrr_series(now=now)
    months, now_point = points[:-1], points[-1]
    today = now_point[0]
    return bar_chart(
        f"MRR at the end of each month ({now_point[1]:,.2f} now)",
        [day for day, _ in points],
        [
            Series("MRR at the month's end", [amount for _, amount in months] + [0], PALETTE[0]),
            Series("MRR now", [0] * len(months) + [now_point[1]], PALETTE[3]),
        ],
        value_text=lambda value: f"{value:,.2f}",
        day_label=lambda day: "now" if day == today else f"{day:%b '%y}",
        day_title=lambda day: f"{day:%a %d %b}" if day == today else f"end of {day:%B %Y}",
        label_every=1,
    )


def sync_chart(window: Window, audits: Sequence[dict] = ()) -> Chart:
    """API calls and 429s per day: the sync runs' and the audits' (``audit_rows``)."""
    rows = daily_rows(
        "sync",
        window,
        lambda since: (
            SyncRun.objects.filter(started_at__gte=since)
            .annotate(day=TruncDate("started_at"))
            .values("day")
            .annotate(calls=Sum("api_calls"), throttled=Sum("throttled"))
            .order_by()
        ),
    )
    calls: dict[date, int] = defaultdict(int)
    throttled: dict[date, int] = defaultdict(int)
    for row in [*rows, *audits]:
        calls[_day(row["day"])] += row["calls"] or 0
        throttled[_day(row["day"])] += row["throttled"] or 0
    return bar_chart(
        f"Kartra API calls per day ({sum(calls.values()):,} calls, "
        f"{sum(throttled.values()):,} answered 429)",
        window.days,
        [Series("API calls", window.align(calls), PALETTE[1])],
        line=Series("429 Too Many Requests", window.align(throttled), ALERT),
    )


def audit_rows(window: Window) -> list[dict]:
    """Per day of the window: the audits' leads compared and differing, and their calls."""
    return daily_rows(
        "audits",
        window,
        lambda since: (
            AuditRun.objects.filter(started_at__gte=since)
            .annotate(day=TruncDate("started_at"))
            .values("day")
            .annotate(
                compared=Sum("leads_compared"),
                differing=Sum("leads_differing"),
                calls=Sum("api_calls"),
                throttled=Sum("throttled"),
            )
            .order_by()
        ),
    )


def drift_chart(window: Window, rows: Sequence[dict]) -> Chart:
    """Each audited day as a bar of 100%: the share of the compared leads that differed
    from Kartra, and the share that agreed."""
    compared = {_day(row["day"]): row["compared"] or 0 for row in rows}
    differing = {_day(row["day"]): row["differing"] or 0 for row in rows}
    differed = {day: 100.0 * differing[day] / n for day, n in compared.items() if n}
    agreed = {day: 100.0 - share for day, share in differed.items()}
    total, drifted = sum(compared.values()), sum(differing.values())
    share = f", {100.0 * drifted / total:.1f}%" if total else ""
    return bar_chart(
        f"Drift from Kartra: audited leads that differed ({drifted:,} of {total:,} "
        f"in {len(window.days)} days{share})",
        window.days,
        [
            Series("differed", window.align(differed, 0.0), ALERT),
            Series("agreed", window.align(agreed, 0.0), PALETTE[1]),
        ],
        value_text=lambda value: f"{value:.1f}%",
    )


def sync_health(*, now: datetime | None = None) -> dict[str, Any]:
    """The last sync run and the refresh backlog: each class of the due queue with its
    size, counted up to ``DUE_BOUND``, and how long its oldest lead has been due."""
    now = now or timezone.now()
    backlog = due_backlog(bound=DUE_BOUND, now=now)
    sizes = {row.name: row for row in backlog}
    scheduled = [sizes[name] for name in (NEVER, ACTIVE_STALE, STALE)]
    due = sum(row.count for row in scheduled)
    requested = sizes[REQUESTED]
    return {
        "last_run": SyncRun.objects.order_by("-started_at", "-id").first(),
        "backlog": [
            {
                "label": row.label,
                "count": row.count,
                "more": row.more,
                "behind": duration_text(row.behind(now)),
            }
            for row in backlog
        ],
        "due": min(due, DUE_BOUND),
        "due_more": due > DUE_BOUND or any(row.more for row in scheduled),
        "never_refreshed": sizes[NEVER].count,
        "requested": requested.count,
        "requested_more": requested.more,
        "max_age_hours": round(settings.KARTRA_REFRESH_MAX_AGE / 3600, 1),
        "bound": DUE_BOUND,
    }


def duration_text(duration: timedelta | None) -> str:
    """``2 d 3 h``, ``3 h 12 min``, ``12 min``, ``under a minute``; ``-`` for None."""
    if duration is None:
        return "-"
    minutes = int(duration.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min" if minutes else "under a minute"


def dashboard(*, now: datetime | None = None, days: int = DAYS) -> dict[str, Any]:
    """Everything the dashboard shows: four charts, the sync health figures, MRR and the
    subscriptions by status (with the charts of failed payments and cancellations and of
    MRR over the last 12 months), and the drift from Kartra (its chart and the last audit)."""
    window = Window.last(days, now=now)
    audits = audit_rows(window)
    return {
        "charts": [
            deliveries_chart(window),
            new_leads_chart(window),
            revenue_chart(window),
            sync_chart(window, audits),
        ],
        "health": sync_health(now=now),
        "subscriptions": {
            **subscriptions_health(now=now),
            "chart": churn_chart(window),
            "mrr_chart": mrr_chart(now=now),
        },
        "drift": {
            "chart": drift_chart(window, audits),
            "last": AuditRun.objects.order_by("-started_at", "-id").first(),
        },
        "days": days,
    }
