"""Everything the lead's admin page shows besides its form rows: the profile card at the top,
the timeline, and the sections of detail below, read in a fixed number of queries whatever
the number of tags, transactions or activity rows. Other apps add parts of their own
(:func:`lead_page_part_add`: ``events.lead_admin`` adds the webhook deliveries and the
last audit's drift)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import F, Prefetch

from leads.models import (
    CalendarSubscription,
    CustomFieldValue,
    Lead,
    LeadTag,
    ListSubscription,
    MembershipAccess,
    ProductSignup,
    SequenceSubscription,
    Subscription,
    SubscriptionStatus,
    SurveyAnswer,
    SurveyResult,
    Transaction,
)
from leads.revenue import SALE_TYPES, money_totals, transaction_amount
from leads.selectors import is_held, subscriptions_with_status

from .timeline import lead_timeline

TRANSACTIONS_SHOWN = 100
CUSTOM_VALUES_IN_CARD = 8


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


@dataclass
class Profile:
    """The card at the top of the lead page: who the lead is and where they stand."""

    tags: list[LeadTag]
    lists: list[ListSubscription]
    sequences: list[SequenceSubscription]
    memberships: list[MembershipAccess]
    custom_values: list[CustomFieldValue]
    more_custom_values: int
    totals: dict[str, Decimal]
    last_purchase: Transaction | None
    subscriptions: list[Subscription]  # annotated with their status; the open ones first
    mrr: Decimal  # the lead's part of MRR: its active subscriptions' monthly amounts
    failed_payments: int  # recorded on the lead's subscriptions
    signups: list[ProductSignup]  # affiliate and JV sign-ups


NEWEST_FIRST = (F("transaction_date").desc(nulls_last=True), "-kartra_id")


def last_purchase(transactions: list[Transaction], shown_all: bool, lead: Lead):
    """The newest sale or rebill: among the transactions the page lists when it lists them
    all, else read on its own."""
    found = next((txn for txn in transactions if txn.transaction_type in SALE_TYPES), None)
    if found is not None or shown_all:
        return found
    return (
        Transaction.objects.filter(lead=lead, transaction_type__in=SALE_TYPES)
        .select_related("product")
        .annotate(amount_moved=transaction_amount())
        .order_by(*NEWEST_FIRST)
        .first()
    )


def lead_relations(lead: Lead) -> dict[str, Any]:
    """Every row of the lead's relations the page lists, each read with what it points at."""
    transactions = list(
        Transaction.objects.filter(lead=lead)
        .select_related("product")
        .annotate(amount_moved=transaction_amount())
        .order_by(*NEWEST_FIRST)[: TRANSACTIONS_SHOWN + 1]
    )
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
        "custom_values": list(
            CustomFieldValue.objects.filter(lead=lead)
            .select_related("field")
            .prefetch_related("options")
            .order_by("field__identifier")
        ),
        "tags": list(
            LeadTag.objects.filter(lead=lead).select_related("tag").order_by("-active", "tag__name")
        ),
        "lists": list(
            ListSubscription.objects.filter(lead=lead)
            .select_related("list")
            .order_by("-active", "list__name")
        ),
        "sequences": list(
            SequenceSubscription.objects.filter(lead=lead)
            .select_related("sequence")
            .order_by("sequence__name")
        ),
        "memberships": list(
            MembershipAccess.objects.filter(lead=lead)
            .select_related("membership", "level")
            .order_by("-active", "membership__name")
        ),
        "transactions": transactions[:TRANSACTIONS_SHOWN],
        "all_transactions_shown": len(transactions) <= TRANSACTIONS_SHOWN,
        "totals": money_totals(Transaction.objects.filter(lead=lead)),
        "calendar_subscriptions": calendar_subscriptions,
        "survey_results": SurveyResult.objects.filter(lead=lead)
        .select_related("survey")
        .prefetch_related(Prefetch("answers", queryset=answers.order_by("question__kartra_id")))
        .order_by(F("completed_at").desc(nulls_last=True), "pk"),
    }


def lead_profile(lead: Lead, relations: dict[str, Any]) -> Profile:
    """The card: what the lead holds now (``leads.selectors.is_held``), taken from the rows
    the sections list."""
    custom_values = relations["custom_values"]
    return Profile(
        tags=[link for link in relations["tags"] if is_held(link)],
        lists=[subscription for subscription in relations["lists"] if is_held(subscription)],
        sequences=[each for each in relations["sequences"] if is_held(each)],
        memberships=[access for access in relations["memberships"] if is_held(access)],
        custom_values=custom_values[:CUSTOM_VALUES_IN_CARD],
        more_custom_values=max(len(custom_values) - CUSTOM_VALUES_IN_CARD, 0),
        totals=relations["totals"],
        last_purchase=last_purchase(
            relations["transactions"], relations["all_transactions_shown"], lead
        ),
        **subscriptions_summary(lead),
        signups=list(
            ProductSignup.objects.filter(lead=lead)
            .select_related("product")
            .order_by("kind", "-signed_up_at")
        ),
    )


#: The order the card lists subscriptions in: those that still bill (or should) first.
STATUS_ORDER = [
    SubscriptionStatus.FAILED_PAYMENT,
    SubscriptionStatus.ACTIVE,
    SubscriptionStatus.TRIAL,
    SubscriptionStatus.COMPLETED,
    SubscriptionStatus.CANCELLED,
]


def subscriptions_summary(lead: Lead) -> dict[str, Any]:
    """The lead's subscriptions with their status, its part of MRR and its failed
    payments: one query."""
    subscriptions = sorted(
        subscriptions_with_status(Subscription.objects.filter(lead=lead)).select_related("product"),
        key=lambda sub: (STATUS_ORDER.index(sub.status), -sub.kartra_id),
    )
    active = [sub for sub in subscriptions if sub.status == SubscriptionStatus.ACTIVE]
    return {
        "subscriptions": subscriptions,
        "mrr": sum((sub.monthly_amount or Decimal("0") for sub in active), Decimal("0")),
        "failed_payments": sum(sub.failed_payments for sub in subscriptions),
    }


#: What a part other apps add to the lead page reads: the lead's entries of the page's
#: template context.
LeadPagePart = Callable[[Lead], dict[str, Any]]
#: Those parts, by name; filled at start-up by :func:`lead_page_part_add`.
LEAD_PAGE_PARTS: dict[str, LeadPagePart] = {}


def lead_page_part_add(name: str, part: LeadPagePart) -> None:
    """Add ``part(lead)``'s context entries to every lead page (the templates show them),
    read in a fixed number of queries. Adding a name again replaces its part."""
    LEAD_PAGE_PARTS[name] = part


def lead_page_sections(
    lead: Lead, *, timeline_kind: str | None = None, timeline_after: str | None = None
) -> dict[str, Any]:
    """The profile card, one page of the timeline, the detail sections and the parts other
    apps add."""
    relations = lead_relations(lead)
    sections = {
        **relations,
        "profile": lead_profile(lead, relations),
        "timeline": lead_timeline(lead, kind=timeline_kind, after=timeline_after),
        "transactions_shown": TRANSACTIONS_SHOWN,
        "raw_json": pretty_json(lead.mirror_raw),
    }
    for part in LEAD_PAGE_PARTS.values():
        sections.update(part(lead))
    return sections
