"""FilterSets over the rows that tie a lead to the catalogues (transactions, subscriptions,
calendar registrations, survey results) and over the change feed: by the lead's Kartra id
and the related row's."""

from django_filters import rest_framework as filters

from kartra_mirror.api.filters import DateTimeFilter, Int64Filter, MirrorFilterSet
from leads.models import (
    CalendarStatus,
    CalendarSubscription,
    Change,
    ChangeKind,
    Source,
    Subscription,
    SubscriptionStatus,
    SurveyResult,
    Transaction,
    TransactionType,
)

LEAD_HELP = "Lead's Kartra id."


class TransactionFilterSet(MirrorFilterSet):
    lead = Int64Filter(field_name="lead__kartra_id", help_text=LEAD_HELP)
    product = Int64Filter(field_name="product__kartra_id", help_text="Product's Kartra id.")
    subscription = Int64Filter(
        field_name="subscription__kartra_id", help_text="Subscription's Kartra id."
    )
    transaction_type = filters.ChoiceFilter(choices=TransactionType.choices)
    date_after = DateTimeFilter(field_name="transaction_date", lookup_expr="gte")
    date_before = DateTimeFilter(field_name="transaction_date", lookup_expr="lte")
    amount_min = filters.NumberFilter(field_name="amount", lookup_expr="gte")
    amount_max = filters.NumberFilter(field_name="amount", lookup_expr="lte")

    class Meta:
        model = Transaction
        fields = (
            "lead",
            "product",
            "subscription",
            "transaction_type",
            "date_after",
            "date_before",
            "amount_min",
            "amount_max",
        )


class SubscriptionFilterSet(MirrorFilterSet):
    """Over ``leads.selectors.subscriptions_with_status``: ``status`` is derived as of the
    request."""

    lead = Int64Filter(field_name="lead__kartra_id", help_text=LEAD_HELP)
    product = Int64Filter(field_name="product__kartra_id", help_text="Product's Kartra id.")
    status = filters.ChoiceFilter(
        choices=SubscriptionStatus.choices, help_text="In this status now."
    )

    class Meta:
        model = Subscription
        fields = ("lead", "product", "status")


class CalendarSubscriptionFilterSet(MirrorFilterSet):
    lead = Int64Filter(field_name="lead__kartra_id", help_text=LEAD_HELP)
    calendar = Int64Filter(field_name="calendar__kartra_id", help_text="Calendar's Kartra id.")
    status = filters.ChoiceFilter(choices=CalendarStatus.choices)
    id = Int64Filter(field_name="kartra_id", help_text="Kartra id.")

    class Meta:
        model = CalendarSubscription
        fields = ("lead", "calendar", "status", "id")


class SurveyResultFilterSet(MirrorFilterSet):
    lead = Int64Filter(field_name="lead__kartra_id", help_text=LEAD_HELP)
    survey = Int64Filter(field_name="survey__kartra_id", help_text="Survey's Kartra id.")

    class Meta:
        model = SurveyResult
        fields = ("lead", "survey")


class ChangeFilterSet(MirrorFilterSet):
    """The change feed's filters; every one keeps the feed's order (by id)."""

    lead = Int64Filter(field_name="lead__kartra_id", help_text=LEAD_HELP)
    kind = filters.ChoiceFilter(choices=ChangeKind.choices)
    name = filters.CharFilter(help_text="The field, tag, list, ... that changed (exact).")
    source = filters.ChoiceFilter(choices=Source.choices)
    observed_after = DateTimeFilter(field_name="observed_at", lookup_expr="gte")
    observed_before = DateTimeFilter(field_name="observed_at", lookup_expr="lte")

    class Meta:
        model = Change
        fields = ("lead", "kind", "name", "source", "observed_after", "observed_before")
