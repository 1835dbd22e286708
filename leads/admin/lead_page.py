"""Everything the lead's admin page shows besides its profile, read in a fixed number of
queries whatever the number of tags, transactions or activity rows."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, Prefetch, Q, Sum, Value
from django.db.models.functions import Abs, Coalesce

from events.models import Activity, Delivery
from leads.models import (
    CalendarSubscription,
    CustomFieldValue,
    Lead,
    LeadTag,
    ListSubscription,
    MembershipAccess,
    SequenceSubscription,
    SurveyAnswer,
    SurveyResult,
    Transaction,
)

from .filters import REFUND_TYPES, SALE_TYPES

ACTIVITY_PER_PAGE = 50
TRANSACTIONS_SHOWN = 100
DELIVERIES_SHOWN = 20

ZERO = Value(Decimal("0"), output_field=DecimalField(max_digits=14, decimal_places=2))


def transaction_amount():
    """What a transaction moved: ``amount``, which get_lead and webhooks both fill (the API
    reads it too); ``full_amount`` for a row stored before webhooks filled it."""
    return Coalesce("amount", "full_amount", ZERO)


def money_totals(transactions) -> dict[str, Decimal]:
    """Sales (sales and rebills), refunds (refunds, partial refunds, chargebacks) and net.

    Refund amounts are taken by absolute value: the docs do not say which sign Kartra
    sends, and a refund must lower the net either way.
    """
    amount = transaction_amount()
    totals = transactions.aggregate(
        sales=Coalesce(Sum(amount, filter=Q(transaction_type__in=SALE_TYPES)), ZERO),
        refunds=Coalesce(Sum(Abs(amount), filter=Q(transaction_type__in=REFUND_TYPES)), ZERO),
    )
    totals["net"] = totals["sales"] - totals["refunds"]
    return totals


@dataclass
class ActivityPage:
    rows: list[Activity]
    number: int
    has_previous: bool
    has_next: bool
    per_page: int = ACTIVITY_PER_PAGE


def lead_activity_page(lead: Lead, *, page: int) -> ActivityPage:
    """One page of the lead's timeline, newest first, without counting the whole timeline."""
    page = max(page, 1)
    offset = (page - 1) * ACTIVITY_PER_PAGE
    rows = list(
        Activity.objects.filter(lead=lead)
        .select_related("asset", "product", "transaction")
        .order_by("-occurred_at", "-id")[offset : offset + ACTIVITY_PER_PAGE + 1]
    )
    return ActivityPage(
        rows=rows[:ACTIVITY_PER_PAGE],
        number=page,
        has_previous=page > 1,
        has_next=len(rows) > ACTIVITY_PER_PAGE,
    )


def hosts_text(hosts: Any) -> str:
    """``[{host_first_name, host_last_name, host_email_address}]`` as readable text."""
    if not isinstance(hosts, list):
        return ""
    names = []
    for host in hosts:
        if not isinstance(host, dict):
            names.append(str(host))
            continue
        name = " ".join(
            str(host.get(key) or "") for key in ("host_first_name", "host_last_name")
        ).strip()
        email = host.get("host_email_address") or ""
        names.append(f"{name} <{email}>" if name and email else name or email)
    return ", ".join(name for name in names if name)


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def lead_page_sections(lead: Lead, *, activity_page: int = 1) -> dict[str, Any]:
    """The lead page's sections, each a list read with its related rows joined."""
    transactions = Transaction.objects.filter(lead=lead)
    calendar_subscriptions = list(
        CalendarSubscription.objects.filter(lead=lead)
        .select_related("calendar", "calendar_class")
        .prefetch_related("events")
        .order_by("calendar__name", "pk")
    )
    for subscription in calendar_subscriptions:
        subscription.hosts_text = hosts_text(subscription.hosts)
    answers = SurveyAnswer.objects.select_related("question").prefetch_related("options")
    return {
        "custom_values": CustomFieldValue.objects.filter(lead=lead)
        .select_related("field")
        .prefetch_related("options")
        .order_by("field__identifier"),
        "tags": LeadTag.objects.filter(lead=lead)
        .select_related("tag")
        .order_by("-active", "tag__name"),
        "lists": ListSubscription.objects.filter(lead=lead)
        .select_related("list")
        .order_by("-active", "list__name"),
        "sequences": SequenceSubscription.objects.filter(lead=lead)
        .select_related("sequence")
        .order_by("sequence__name"),
        "memberships": MembershipAccess.objects.filter(lead=lead)
        .select_related("membership", "level")
        .order_by("-active", "membership__name"),
        "transactions": transactions.select_related("product")
        .annotate(amount_moved=transaction_amount())
        .order_by("-transaction_date", "-kartra_id")[:TRANSACTIONS_SHOWN],
        "transactions_shown": TRANSACTIONS_SHOWN,
        "totals": money_totals(transactions),
        "calendar_subscriptions": calendar_subscriptions,
        "survey_results": SurveyResult.objects.filter(lead=lead)
        .select_related("survey")
        .prefetch_related(Prefetch("answers", queryset=answers.order_by("question__kartra_id")))
        .order_by("-completed_at", "pk"),
        "activity": lead_activity_page(lead, page=activity_page),
        "deliveries": Delivery.objects.filter(lead=lead)
        .defer("body", "headers", "traceback")
        .order_by("-received_at", "-id")[:DELIVERIES_SHOWN],
        "deliveries_shown": DELIVERIES_SHOWN,
        "raw_json": pretty_json(lead.mirror_raw),
    }
