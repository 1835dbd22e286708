"""What the mirrored transactions mean, for every reader (the lead page, the dashboard, the
transaction admin): which are sales and refunds, and what each moved."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import DecimalField, Q, QuerySet, Sum, Value
from django.db.models.functions import Abs, Coalesce

from leads.models import TransactionType

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
