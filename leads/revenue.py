"""What the mirrored transactions mean, for every reader (the lead page, the dashboard, the
transaction admin, the API): which are sales and refunds, and what each moved; what a
subscription's transactions say of it (its facts, its status) and what it adds to MRR."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import (
    BigIntegerField,
    Case,
    CharField,
    DateTimeField,
    DecimalField,
    F,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Abs, Coalesce
from django.utils import timezone

from leads.models import Subscription, SubscriptionStatus, TransactionType

SALE_TYPES = (TransactionType.SALE, TransactionType.REBILL)
REFUND_TYPES = (
    TransactionType.REFUND,
    TransactionType.PARTIAL_REFUND,
    TransactionType.CHARGEBACK,
)

ZERO = Value(Decimal("0"), output_field=DecimalField(max_digits=14, decimal_places=2))


def transaction_amount():
    """What a transaction moved: ``amount``, which get_lead and webhooks both fill (the API
    reads it too); ``full_amount`` for a row stored before webhooks filled it."""
    return Coalesce("amount", "full_amount", ZERO)


def money_sums() -> dict[str, Coalesce]:
    """The aggregates ``sales`` (sales and rebills) and ``refunds`` (refunds, partial
    refunds, chargebacks), for ``aggregate()`` or a grouped ``annotate()``.

    Refund amounts are taken by absolute value: the docs do not say which sign Kartra
    sends, and a refund must lower the net either way.
    """
    amount = transaction_amount()
    return {
        "sales": Coalesce(Sum(amount, filter=Q(transaction_type__in=SALE_TYPES)), ZERO),
        "refunds": Coalesce(Sum(Abs(amount), filter=Q(transaction_type__in=REFUND_TYPES)), ZERO),
    }


def money_totals(transactions: QuerySet) -> dict[str, Decimal]:
    """Sales, refunds (``money_sums``) and net."""
    totals = transactions.aggregate(**money_sums())
    totals["net"] = totals["sales"] - totals["refunds"]
    return totals


# -- subscriptions ----------------------------------------------------------------------------
#
# A subscription's status is derived, never stored: from the facts its linked transactions
# tell (``subscription_facts``, written by ``leads.services.commerce``), by the rules of
# ``_status_rules``, at the time of reading (a trial ends on its own). The facts are
# recomputed from every linked transaction whenever one is written, so webhooks, IPNs and
# snapshots give the same status whichever order they arrive in.

#: The month MRR is counted in: a Gregorian year's average month, in days.
MONTH_DAYS = Decimal("365.2425") / 12
#: A billing period within this many days of a whole number of months is that many months
#: (calendar months are 28 to 31 days long).
MONTH_SLACK_DAYS = 3
#: The billing period assumed when Kartra's data gives none (no ``rebill_circle``, fewer
#: than two payments): a month, Kartra's usual rebill cycle.
DEFAULT_BILLING_DAYS = 30
CENT = Decimal("0.01")

#: The transaction types a subscription's facts are made of. One of them observed without a
#: subscription id (``get_lead`` sends none) is linked to its lead's one subscription of its
#: product and price point (``leads.services.commerce.transactions_write``).
SUBSCRIPTION_TYPES = (
    TransactionType.SALE,
    TransactionType.REBILL,
    TransactionType.FAILED,
    TransactionType.CANCELLATION,
)

#: The transaction columns ``subscription_facts`` reads.
FACT_SOURCES = (
    "subscription_id",
    "kartra_id",
    "transaction_type",
    "transaction_date",
    "observed_at",
    "amount",
    "full_amount",
    "base_amount",
    "price_point",
    "payments_left",
    "subscription_pay_number",
    "trial_payment",
    "trial_period",
    "rebill_circle",
)

#: The ``Subscription`` columns ``subscription_facts`` fills.
FACT_FIELDS = (
    "price_point",
    "cancelled",
    "cancelled_at",
    "cancellation_kartra_id",
    "first_sale_kartra_id",
    "first_sale_at",
    "payments_made",
    "payments_left",
    "last_payment_kartra_id",
    "last_payment_at",
    "failed_payments",
    "last_failure_kartra_id",
    "last_failure_at",
    "trial_ends_at",
    "recurring_amount",
    "billing_days",
    "monthly_amount",
)


def _when(row: dict):
    """When a transaction happened: Kartra's date, else when the mirror observed it."""
    return row["transaction_date"] or row["observed_at"]


def _charged(row: dict) -> Decimal | None:
    return row["amount"] if row["amount"] is not None else row["full_amount"]


def billing_days(payments: list[dict]) -> int:
    """The billing period of a subscription, in days, from its payments (oldest first).

    Kartra sends no billing period. It sends ``rebill_circle``, "days left for the next
    payment" (001, buy_product), which on a payment is the period: the newest payment that
    carries one (above 0) gives it, except a trial's first payment, whose next payment comes
    when the trial ends. Else the median gap between consecutive payments, in whole days;
    else ``DEFAULT_BILLING_DAYS``.
    """
    trial_sale = payments[0] if payments and payments[0]["trial_payment"] else None
    for row in reversed(payments):
        if row is not trial_sale and (row["rebill_circle"] or 0) > 0:
            return row["rebill_circle"]
    dates = [row["transaction_date"] for row in payments if row["transaction_date"]]
    gaps = sorted(
        round((later - earlier).total_seconds() / 86400)
        for earlier, later in zip(dates, dates[1:], strict=False)
    )
    gaps = [gap for gap in gaps if gap > 0]
    if gaps:
        return gaps[len(gaps) // 2]
    return DEFAULT_BILLING_DAYS


def monthly_amount(amount: Decimal | None, days: int | None) -> Decimal | None:
    """``amount`` charged every ``days`` days, over one month (``MONTH_DAYS``): a period
    within ``MONTH_SLACK_DAYS`` of a whole number of months counts as that many months
    (30 days, 31 days: one month; 365 days: twelve), any other in proportion (7 days:
    4.35 payments a month). Rounded to the cent."""
    if amount is None or not days:
        return None
    months = Decimal(days) / MONTH_DAYS
    whole = round(months)
    if whole >= 1 and abs(Decimal(days) - whole * MONTH_DAYS) <= MONTH_SLACK_DAYS:
        months = Decimal(whole)
    return (abs(amount) / months).quantize(CENT)


def subscription_facts(transactions: list[dict]) -> dict[str, Any]:
    """The ``FACT_FIELDS`` of one subscription, from its linked transactions (dicts of
    ``FACT_SOURCES``), in any order. Pure: the same transactions give the same facts.

    - first sale: the earliest ``sale``; payments: sales and rebills, counted, or the highest
      ``transaction_subscription_pay_number`` when that is more (the mirror may not hold
      every payment); last payment, last failure (``failed``): the newest; cancellation:
      the earliest ``cancellation``.
    - ``payments_left``: as the newest transaction that carries it says.
    - trial: the first sale says a trial (``trial_payment``/IPN ``trial`` not 0) of
      ``trial_period`` days: it ends that many days after the first sale.
    - recurring amount: what the newest rebill or failed rebill charged, else the first
      sale's amount (its ``base_amount`` after a trial: the trial's price is not the plan's).
    - billing period: :func:`billing_days`; monthly amount: :func:`monthly_amount`.
    """
    rows = sorted(transactions, key=lambda row: (_when(row), row["kartra_id"]))
    of_type = {kind: [r for r in rows if r["transaction_type"] == kind] for kind in TransactionType}
    payments = [row for row in rows if row["transaction_type"] in SALE_TYPES]
    first = of_type[TransactionType.SALE][0] if of_type[TransactionType.SALE] else None
    last_payment = payments[-1] if payments else None
    failures = of_type[TransactionType.FAILED]
    cancellation = of_type[TransactionType.CANCELLATION]
    cancellation = cancellation[0] if cancellation else None
    left = [row["payments_left"] for row in rows if row["payments_left"] is not None]
    numbers = [row["subscription_pay_number"] or 0 for row in payments]
    price_points = [row["price_point"] for row in rows if row["price_point"]]

    trial_ends_at = None
    trial = (
        first is not None
        and first["trial_payment"] is not False
        and (first["trial_period"] or 0) > 0
    )
    if trial and first["transaction_date"] is not None:
        trial_ends_at = first["transaction_date"] + timedelta(days=first["trial_period"])
    charges = [
        row
        for row in rows
        if row["transaction_type"] in (TransactionType.REBILL, TransactionType.FAILED)
        and _charged(row) is not None
    ]
    if charges:
        recurring = _charged(charges[-1])
    elif first is not None:
        recurring = first["base_amount"] if trial and first["base_amount"] else _charged(first)
    else:
        recurring = None
    days = billing_days(payments) if recurring is not None else None
    return {
        "price_point": (first or {}).get("price_point")
        or (price_points[-1] if price_points else ""),
        "cancelled": cancellation is not None,
        "cancelled_at": _when(cancellation) if cancellation else None,
        "cancellation_kartra_id": cancellation["kartra_id"] if cancellation else None,
        "first_sale_kartra_id": first["kartra_id"] if first else None,
        "first_sale_at": _when(first) if first else None,
        "payments_made": max(len(payments), *numbers, 0),
        "payments_left": left[-1] if left else None,
        "last_payment_kartra_id": last_payment["kartra_id"] if last_payment else None,
        "last_payment_at": _when(last_payment) if last_payment else None,
        "failed_payments": len(failures),
        "last_failure_kartra_id": failures[-1]["kartra_id"] if failures else None,
        "last_failure_at": _when(failures[-1]) if failures else None,
        "trial_ends_at": trial_ends_at,
        "recurring_amount": abs(recurring) if recurring is not None else None,
        "billing_days": days,
        "monthly_amount": monthly_amount(recurring, days),
    }


def _status_rules(now: datetime) -> list[tuple[str, Q, str, str]]:
    """The status rules, first match wins: (status, condition on the stored facts, the
    column naming the transaction that set it, the column of its time).

    1. cancelled: a cancellation is recorded (final: Kartra has no event that resumes one);
    2. failed payment: a payment failed and none was collected since (in the same second:
       none with a higher Kartra id);
    3. completed: no payments left (a plan of a fixed number of payments, all paid);
    4. trial: the trial has not ended yet;
    5. active: anything else (a payment seen, or only the subscription's id).
    """
    # Of a payment and a failure in the same second, the later is the higher Kartra id.
    failed = Q(last_failure_at__isnull=False) & (
        Q(last_payment_at__isnull=True)
        | Q(last_payment_at__lt=F("last_failure_at"))
        | Q(
            last_payment_at=F("last_failure_at"),
            last_payment_kartra_id__lt=F("last_failure_kartra_id"),
        )
    )
    return [
        (SubscriptionStatus.CANCELLED, Q(cancelled=True), "cancellation_kartra_id", "cancelled_at"),
        (SubscriptionStatus.FAILED_PAYMENT, failed, "last_failure_kartra_id", "last_failure_at"),
        (SubscriptionStatus.COMPLETED, Q(payments_left=0), "last_payment_kartra_id",
         "last_payment_at"),
        (SubscriptionStatus.TRIAL, Q(trial_ends_at__gt=now), "first_sale_kartra_id",
         "first_sale_at"),
    ]  # fmt: skip


def subscription_status_annotations(now: datetime) -> dict[str, Case]:
    """Annotations for a ``Subscription`` queryset: ``status`` (a ``SubscriptionStatus``
    value) as of ``now``, and what set it: ``status_set_by`` (Kartra's id of the
    transaction) and ``status_since`` (its time). An active subscription was set so by its
    last payment, else its first sale."""
    rules = _status_rules(now)
    text = CharField(max_length=16)
    return {
        "status": Case(
            *[When(condition, then=Value(status)) for status, condition, _, _ in rules],
            default=Value(SubscriptionStatus.ACTIVE),
            output_field=text,
        ),
        "status_set_by": Case(
            *[When(condition, then=F(by)) for _, condition, by, _ in rules],
            default=Coalesce("last_payment_kartra_id", "first_sale_kartra_id"),
            output_field=BigIntegerField(),
        ),
        "status_since": Case(
            *[When(condition, then=F(at)) for _, condition, _, at in rules],
            default=Coalesce("last_payment_at", "first_sale_at"),
            output_field=DateTimeField(),
        ),
    }


def mrr_sum() -> Coalesce:
    """MRR, for ``aggregate()`` over subscriptions annotated with their ``status``: the sum
    of the active subscriptions' ``monthly_amount`` (their recurring amount over a month,
    see :func:`monthly_amount`). Trials (not paying yet), failed payments (not collected),
    cancelled and completed subscriptions count nothing; a trial counts once it has ended."""
    return Coalesce(Sum("monthly_amount", filter=Q(status=SubscriptionStatus.ACTIVE)), ZERO)


def _counted_before(end: datetime) -> Case:
    """A subscription's ``monthly_amount`` if it was active just before ``end``, else 0,
    for ``Sum``: started (first sale, else a payment: only rebills may be known) before
    ``end``, and by then not cancelled, not failed, not completed and not in a trial, by
    the rules of ``_status_rules`` with each event dated before ``end``."""
    rules = {status: condition for status, condition, _, _ in _status_rules(end)}
    ended = [
        rules[SubscriptionStatus.CANCELLED]
        & (Q(cancelled_at__isnull=True) | Q(cancelled_at__lt=end)),
        rules[SubscriptionStatus.FAILED_PAYMENT] & Q(last_failure_at__lt=end),
        rules[SubscriptionStatus.COMPLETED]
        & (Q(last_payment_at__isnull=True) | Q(last_payment_at__lt=end)),
        rules[SubscriptionStatus.TRIAL],
    ]
    started = Q(first_sale_at__lt=end) | Q(first_sale_at__isnull=True, last_payment_at__lt=end)
    money = DecimalField(max_digits=14, decimal_places=2)
    # Conditions only in WHEN, first match wins (as in the status annotations): a NULL
    # fact falls through rather than being negated.
    return Case(
        *[When(condition, then=ZERO) for condition in ended],
        When(started, then=F("monthly_amount")),
        default=ZERO,
        output_field=money,
    )


def month_starts(now: datetime, months: int) -> list[datetime]:
    """The ends of the last ``months`` whole months before ``now``'s, oldest first, each as
    the first instant (in the current time zone) of the month after it: in December 2026,
    12 gives 1 Jan 2026 ... 1 Dec 2026, the ends of December 2025 ... November 2026."""
    local = timezone.localtime(now)
    year, month = local.year, local.month
    starts = []
    for back in range(months - 1, -1, -1):
        y, m = divmod(year * 12 + month - 1 - back, 12)
        starts.append(timezone.make_aware(datetime(y, m + 1, 1)))
    return starts


def mrr_series(
    queryset: QuerySet | None = None, *, now: datetime | None = None, months: int = 12
) -> list[tuple[date, Decimal]]:
    """MRR at the end of each of the last ``months`` whole months, then now, oldest first,
    over the subscriptions ``queryset`` (every one by default): one query.

    Derived on read from each subscription's stored facts, with the status rules of
    ``_status_rules``: a month counts a subscription's ``monthly_amount`` when its first
    sale (else a payment) came before the month ended and, by then, it had not been
    cancelled, had no unrecovered failure, had not made its last payment of a plan that
    ended (``payments_left`` 0) and was not in a trial. The mirror keeps one monthly
    amount and the last failure of each subscription, not their history: a past month
    counts today's amount, and a failure later recovered does not count against it. The
    last point is ``mrr_sum`` as of ``now``: the dashboard's MRR, to the cent.

    Each point is dated by its month's last day; the last by ``now``'s date.
    """
    now = now or timezone.now()
    queryset = Subscription.objects.all() if queryset is None else queryset
    ends = month_starts(now, months)
    sums = {f"m{n}": Coalesce(Sum(_counted_before(end)), ZERO) for n, end in enumerate(ends)}
    totals = queryset.annotate(**subscription_status_annotations(now)).aggregate(
        now=mrr_sum(), **sums
    )
    points = [
        (timezone.localtime(end).date() - timedelta(days=1), totals[f"m{n}"] or Decimal("0"))
        for n, end in enumerate(ends)
    ]
    return [*points, (timezone.localdate(now), totals["now"] or Decimal("0"))]
