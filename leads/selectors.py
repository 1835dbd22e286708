"""Reads over leads and segments shared by the admin and the API: a rule such as "holds this
tag", "bought this product", "has this value in a custom field" or "may edit this segment" is
written once, here.

What the transactions mean (which are sales and refunds, what each moved) is
``leads.revenue``'s: ``SALE_TYPES``, ``REFUND_TYPES``, ``transaction_amount``."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, Model, OuterRef, Q, QuerySet, Value
from django.db.models.functions import MD5, Lower
from django.db.models.lookups import Exact
from django.utils import timezone

from leads.models import (
    CHOICE_FIELD_TYPES,
    TEXT_FIELD_TYPES,
    CalendarStatus,
    CalendarSubscription,
    Change,
    CustomField,
    CustomFieldValue,
    Lead,
    LeadTag,
    ListSubscription,
    MembershipAccess,
    ProductSignup,
    Segment,
    SequenceStatus,
    SequenceSubscription,
    Subscription,
    SubscriptionStatus,
    SurveyResult,
    Transaction,
)
from leads.revenue import SALE_TYPES, mrr_sum, subscription_status_annotations

# -- what a lead holds ------------------------------------------------------------------------

#: The calendar registrations a lead holds: booked, awaiting approval or attended (not
#: declined, not cancelled).
HELD_CALENDAR_STATUSES = (CalendarStatus.ACTIVE, CalendarStatus.PENDING, CalendarStatus.COMPLETED)

#: What "the lead holds it" means, per relation: the column and the values it holds with.
#: Rows are never deleted when a relation ends (``leads.models.state``), so every reader
#: (the API's and the admin's lead filters, the catalogue counts, the lead page) must ask.
#: ``None``: every row holds (a survey result is a survey taken).
HELD: dict[type[Model], tuple[str, tuple] | None] = {
    LeadTag: ("active", (True,)),  # assigned, not unassigned since
    ListSubscription: ("active", (True,)),  # subscribed, not unsubscribed since
    MembershipAccess: ("active", (True,)),  # granted, not revoked since
    SequenceSubscription: ("status", (SequenceStatus.ACTIVE,)),  # active in it now
    # Bought the product: a sale or a rebill. A later refund or chargeback does not undo the
    # purchase; it is a transaction of its own (``transaction_type=refund``).
    Transaction: ("transaction_type", SALE_TYPES),
    CalendarSubscription: ("status", HELD_CALENDAR_STATUSES),
    SurveyResult: None,
}


def held_condition(relation: type[Model]) -> Q:
    """The condition on a row of ``relation`` (a key of ``HELD``) under which its lead holds
    what the row points at."""
    rule = HELD[relation]
    if rule is None:
        return Q()
    field, values = rule
    return Q(**{field: values[0]}) if len(values) == 1 else Q(**{f"{field}__in": values})


def is_held(row: Model) -> bool:
    """``held_condition`` of a row already read (the lead page filters what it lists)."""
    rule = HELD[type(row)]
    return rule is None or getattr(row, rule[0]) in rule[1]


def lead_rows(relation: type[Model], *conditions: Q, **lookups) -> Exists:
    """``EXISTS (a row of relation for the outer query's lead matching the conditions)``:
    no duplicate leads, unlike a join, and PostgreSQL can run it as a semi-join from either
    side."""
    return Exists(relation.objects.filter(*conditions, lead=OuterRef("pk"), **lookups))


def lead_holds(relation: type[Model], *conditions: Q, **lookups) -> Exists:
    """``lead_rows`` of the rows the lead holds (``held_condition``): ``lead_holds(LeadTag,
    tag__in=pks)`` is "holds one of these tags", ``lead_holds(Transaction, product=pk)``
    "bought this product"."""
    return lead_rows(relation, held_condition(relation), *conditions, **lookups)


def leads_holding(
    queryset: QuerySet[Lead], relation: type[Model], *conditions: Q, **lookups
) -> QuerySet[Lead]:
    """The leads of ``queryset`` holding a row of ``relation`` that matches (``lead_holds``)."""
    return queryset.filter(lead_holds(relation, *conditions, **lookups))


def text_equals_ci(value: str) -> Q:
    """A custom value's text equal to ``value``, case-insensitively, written as the index
    ``customvalue_text_md5_idx`` is (``leads/migrations/0007_custom_value_index``).

    The index holds an MD5 of the lowered text, because a btree entry cannot hold a long
    text-area value; the plain comparison beside it is what decides.
    """
    lowered = Lower(Value(value))
    return (
        ~Q(text="") & Q(Exact(MD5(Lower("text")), MD5(lowered))) & Q(Exact(Lower("text"), lowered))
    )


def leads_with_custom_value(
    queryset: QuerySet[Lead], *, field: CustomField, value: str | None
) -> QuerySet[Lead]:
    """The leads of ``queryset`` whose value in ``field`` is ``value``; with ``value`` None,
    the leads with any value in it.

    A text field matches its whole text; a choice field (drop-down, radio button, checkbox)
    matches when one of the chosen options has that value; both case-insensitively. A type
    Kartra added since matches either way. Reads the field's options (one query) for a
    choice field, so that the lead query names the options by primary key.
    """
    values = CustomFieldValue.objects.filter(lead=OuterRef("pk"), field=field)
    if value is None:
        return queryset.filter(Exists(values.filter(~Q(text="") | Q(options__isnull=False))))
    condition = Q()
    if field.field_type not in TEXT_FIELD_TYPES:
        wanted = value.lower()
        options = [option.pk for option in field.options.all() if option.value.lower() == wanted]
        if options:
            condition |= Q(options__in=options)
    if field.field_type not in CHOICE_FIELD_TYPES:
        condition |= text_equals_ci(value)
    if not condition:
        return queryset.none()
    return queryset.filter(Exists(values.filter(condition)))


def segments_visible_to(user) -> QuerySet[Segment]:
    """The segments ``user`` sees: every one for a superuser, else their own and the shared
    ones."""
    segments = Segment.objects.select_related("owner")
    if user.is_superuser:
        return segments
    return segments.filter(Q(owner=user.pk) | Q(shared=True))


def segment_is_editable_by(segment: Segment, user) -> bool:
    """Whether ``user`` may change or delete ``segment``: its owner, or a superuser (the
    model permission is checked besides)."""
    return user.is_superuser or (segment.owner_id is not None and segment.owner_id == user.pk)


def subscriptions_with_status(
    queryset: QuerySet[Subscription] | None = None, *, now: datetime | None = None
) -> QuerySet[Subscription]:
    """``queryset`` (every subscription by default) annotated with its ``status`` as of
    ``now`` and what set it (``status_set_by``, ``status_since``): the one reading of a
    subscription's status (``leads.revenue.subscription_status_annotations``) for the API,
    the admin and the dashboard."""
    queryset = Subscription.objects.all() if queryset is None else queryset
    return queryset.annotate(**subscription_status_annotations(now or timezone.now()))


def subscription_totals(
    queryset: QuerySet[Subscription] | None = None, *, now: datetime | None = None
) -> dict[str, Any]:
    """MRR (``leads.revenue.mrr_sum``), how many subscriptions are in each status, and the
    failed payments recorded on them, over ``queryset``: one query."""
    counts = {status: Count("pk", filter=Q(status=status)) for status in SubscriptionStatus.values}
    totals = subscriptions_with_status(queryset, now=now).aggregate(mrr=mrr_sum(), **counts)
    totals["mrr"] = totals["mrr"] or Decimal("0")
    return totals


def leads_signed_up(
    queryset: QuerySet[Lead],
    *,
    kind: str | None = None,
    products: set[int] | None = None,
    after: datetime | None = None,
    before: datetime | None = None,
) -> QuerySet[Lead]:
    """The leads of ``queryset`` that signed up as ``kind`` (a ``SignupKind``; any kind when
    None) for one of ``products`` (primary keys; any product when None), at or after
    ``after`` and at or before ``before``."""
    conditions = Q(lead=OuterRef("pk"))
    if kind:
        conditions &= Q(kind=kind)
    if products is not None:
        if not products:
            return queryset.none()
        conditions &= Q(product__in=products)
    if after is not None:
        conditions &= Q(signed_up_at__gte=after)
    if before is not None:
        conditions &= Q(signed_up_at__lte=before)
    return queryset.filter(Exists(ProductSignup.objects.filter(conditions)))


def changes_prunable() -> QuerySet[Change]:
    """The changes of the history past its retention: recorded more than
    ``KARTRA_HISTORY_DAYS`` ago (every one, when that is 0: no history is kept)."""
    days = settings.KARTRA_HISTORY_DAYS
    if days <= 0:
        return Change.objects.all()
    return Change.objects.filter(recorded_at__lt=timezone.now() - timedelta(days=days))
