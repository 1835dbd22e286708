"""The leads' FilterSet: a lead's own columns, and what it holds (tags, lists, sequences,
memberships, products bought, calendars, sign-ups, custom field values).

Every filter is backed by an index on PostgreSQL (``leads/migrations/0002_api_indexes`` adds
the ones the models do not declare). Relation filters take Kartra ids or names, never the
mirror's primary keys, and ask ``leads.selectors`` what "holds" means.
"""

from __future__ import annotations

from django import forms
from django.db.models import Q, QuerySet, Value
from django.db.models.functions import Lower
from django.db.models.lookups import Exact
from django_filters import rest_framework as filters

from kartra_mirror.api.filters import (
    DateTimeFilter,
    IdsFilter,
    Int64Filter,
    MirrorFilterSet,
    NamesFilter,
)
from leads.models import (
    Calendar,
    CalendarSubscription,
    Consent,
    CustomField,
    GdprStatus,
    Lead,
    LeadTag,
    List,
    ListSubscription,
    Membership,
    MembershipAccess,
    MembershipLevel,
    Product,
    Sequence,
    SequenceStatus,
    SequenceSubscription,
    SignupKind,
    Tag,
    Transaction,
    TransactionType,
)
from leads.selectors import (
    held_condition,
    lead_rows,
    leads_signed_up,
    leads_with_custom_value,
)

MATCH_CHOICES = (("all", "all of them"), ("any", "any of them"))


class LeadFilterForm(forms.Form):
    """The lead filters' form: a value needs the custom field it is a value of."""

    def clean(self):
        data = super().clean()
        if data.get("custom_value") and not data.get("custom_field"):
            self.add_error("custom_value", "Give `custom_field` too: the field of this value.")
        return data


def catalog_pks(model, names: list[str], ids: list[int]) -> list[set[int]]:
    """The primary keys each requested name or Kartra id stands for, in request order.

    A name can stand for several rows (a renamed tag keeps its old name on an id-less row);
    an unknown one stands for none. Resolving names first, in one small query, lets
    PostgreSQL plan the lead query with the statistics of those very rows: a join on the
    name would be planned for an average tag, which a rare or a huge one is not.
    """
    if not (names or ids):
        return []
    # Only the conditions asked for: an empty ``IN ()`` costs the ORM more than the query.
    wanted = (Q(name__in=names) if names else Q()) | (Q(kartra_id__in=ids) if ids else Q())
    rows = list(model.objects.filter(wanted).values_list("pk", "name", "kartra_id"))
    by_name = [{pk for pk, row_name, _ in rows if row_name == name} for name in names]
    return by_name + [{pk for pk, _, kartra_id in rows if kartra_id == i} for i in ids]


def holds_all(queryset: QuerySet, model, field: str, groups: list[set[int]], held: Q):
    """Leads with, for every group, a row of ``model`` pointing at one of its rows and
    matching ``held`` (``leads.selectors.held_condition``, or a status asked for)."""
    for pks in groups:
        queryset = queryset.filter(lead_rows(model, held, **{f"{field}__in": pks}))
    return queryset if all(groups) else queryset.none()


def holds_any(queryset: QuerySet, model, field: str, groups: list[set[int]], held: Q):
    """Leads with a row of ``model`` pointing at a row of any group and matching ``held``."""
    pks = set().union(*groups)
    if not pks:
        return queryset.none()
    return queryset.filter(lead_rows(model, held, **{f"{field}__in": pks}))


class LeadFilterSet(MirrorFilterSet):
    email = filters.CharFilter(method="filter_email", help_text="Email, case-insensitive exact.")
    name = filters.CharFilter(
        method="filter_name", help_text="Part of the first or last name, case-insensitive."
    )
    id = Int64Filter(field_name="kartra_id", help_text="Kartra id.")

    tag = NamesFilter(method="filter_tags", help_text="Holds the tag of this name (repeatable).")
    tag_id = IdsFilter(
        method="filter_tags", help_text="Holds the tag of this Kartra id (repeatable)."
    )
    tag_match = filters.ChoiceFilter(
        choices=MATCH_CHOICES,
        method="filter_nothing",
        help_text="With several tags: the lead holds all of them (default) or any.",
    )
    list = NamesFilter(
        method="filter_lists", help_text="Subscribed (active) to a list of this name."
    )
    list_id = IdsFilter(
        method="filter_lists", help_text="Subscribed (active) to a list of this Kartra id."
    )
    sequence = NamesFilter(method="filter_sequences", help_text="In a sequence of this name.")
    sequence_id = IdsFilter(method="filter_sequences", help_text="In a sequence of this Kartra id.")
    sequence_status = filters.ChoiceFilter(
        choices=SequenceStatus.choices,
        method="filter_sequences",
        help_text="With `sequence`/`sequence_id`: in that status there; alone: in any sequence.",
    )
    membership = NamesFilter(
        method="filter_memberships", help_text="Active access to the membership of this name."
    )
    membership_id = IdsFilter(
        method="filter_memberships",
        help_text="Active access to the membership of this Kartra id.",
    )
    membership_level_id = IdsFilter(
        method="filter_memberships",
        help_text="Active access to the level of this Kartra id; level ids are unique within "
        "a membership only, so with `membership`/`membership_id` the level of those.",
    )
    product = NamesFilter(
        method="filter_products",
        help_text="Bought the product of this name: a sale or a rebill of it (a refund does "
        "not undo a purchase).",
    )
    product_id = IdsFilter(
        method="filter_products",
        help_text="Bought the product of this Kartra id: a sale or a rebill of it.",
    )
    calendar = NamesFilter(
        method="filter_calendars",
        help_text="Registered (active, pending or completed) to the calendar of this name.",
    )
    calendar_id = IdsFilter(
        method="filter_calendars",
        help_text="Registered (active, pending or completed) to the calendar of this Kartra id.",
    )
    transaction_type = filters.ChoiceFilter(
        choices=TransactionType.choices,
        method="filter_transaction_type",
        help_text="Has a transaction of this type.",
    )

    affiliate_product_id = IdsFilter(
        method="filter_signups",
        help_text="Signed up as an affiliate of the product of this Kartra id (repeatable: "
        "any of them).",
    )
    jv_product_id = IdsFilter(
        method="filter_signups",
        help_text="Signed up as a JV partner of the product of this Kartra id (repeatable: "
        "any of them).",
    )
    signup = filters.ChoiceFilter(
        choices=SignupKind.choices,
        method="filter_signups",
        help_text="Signed up as an affiliate or a JV partner of any product.",
    )
    signed_up_after = DateTimeFilter(
        method="filter_signups",
        help_text="With the sign-up filters: signed up at or after this time; alone: any "
        "sign-up then.",
    )
    signed_up_before = DateTimeFilter(
        method="filter_signups",
        help_text="With the sign-up filters: signed up at or before this time; alone: any "
        "sign-up then.",
    )

    source = filters.CharFilter()
    gdpr_lead_status = filters.TypedChoiceFilter(choices=GdprStatus.choices, coerce=int)
    consent = filters.ChoiceFilter(
        choices=Consent.choices,
        help_text="Agreed to be contacted, read one way whichever source sent it "
        "(`gdpr_lead_communications` means the opposite in webhooks and get_lead).",
    )
    blacklisted = filters.BooleanFilter()
    deleted = filters.BooleanFilter(field_name="lead_deleted")
    joined_after = DateTimeFilter(field_name="date_joined", lookup_expr="gte")
    joined_before = DateTimeFilter(field_name="date_joined", lookup_expr="lte")
    score_min = Int64Filter(field_name="score", lookup_expr="gte")
    score_max = Int64Filter(field_name="score", lookup_expr="lte")
    updated_since = DateTimeFilter(
        field_name="mirror_updated",
        lookup_expr="gte",
        help_text="Mirror row changed at or after this time: pull only what changed.",
    )
    custom_field = filters.CharFilter(
        method="filter_custom_value",
        help_text="Has a value in the custom field of this identifier (with `custom_value`: "
        "that value).",
    )
    custom_value = filters.CharFilter(
        method="filter_nothing",
        help_text="With `custom_field`: a text field's whole text, or one of a choice field's "
        "options; case-insensitive.",
    )

    class Meta:
        model = Lead
        form = LeadFilterForm
        fields = (
            "email",
            "name",
            "id",
            "tag",
            "tag_id",
            "tag_match",
            "list",
            "list_id",
            "sequence",
            "sequence_id",
            "sequence_status",
            "membership",
            "membership_id",
            "membership_level_id",
            "product",
            "product_id",
            "calendar",
            "calendar_id",
            "transaction_type",
            "affiliate_product_id",
            "jv_product_id",
            "signup",
            "signed_up_after",
            "signed_up_before",
            "source",
            "gdpr_lead_status",
            "consent",
            "blacklisted",
            "deleted",
            "joined_after",
            "joined_before",
            "score_min",
            "score_max",
            "updated_since",
            "custom_field",
            "custom_value",
        )

    def filter_nothing(self, queryset: QuerySet, name: str, value) -> QuerySet:
        """A modifier read by another filter's method."""
        return queryset

    def filter_email(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # Written as the unique index lead_email_ci_unique is: lower(email), email <> ''.
        return queryset.filter(Exact(Lower("email"), Lower(Value(value))), ~Q(email=""))

    def filter_name(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Q(first_name__icontains=value) | Q(last_name__icontains=value))

    def _values(self, *names: str) -> list[list]:
        data = self.form.cleaned_data
        return [data.get(name) or [] for name in names]

    def filter_tags(self, queryset: QuerySet, name: str, value) -> QuerySet:
        names, ids = self._values("tag", "tag_id")
        if name == "tag_id" and names:
            return queryset  # applied with the names
        groups = catalog_pks(Tag, names, ids)
        match = holds_any if self.form.cleaned_data.get("tag_match") == "any" else holds_all
        return match(queryset, LeadTag, "tag", groups, held_condition(LeadTag))

    def filter_lists(self, queryset: QuerySet, name: str, value) -> QuerySet:
        names, ids = self._values("list", "list_id")
        if name == "list_id" and names:
            return queryset
        groups = catalog_pks(List, names, ids)
        held = held_condition(ListSubscription)
        return holds_any(queryset, ListSubscription, "list", groups, held)

    def filter_sequences(self, queryset: QuerySet, name: str, value) -> QuerySet:
        names, ids = self._values("sequence", "sequence_id")
        status = self.form.cleaned_data.get("sequence_status")
        first = "sequence" if names else "sequence_id" if ids else "sequence_status"
        if name != first:
            return queryset
        # In the sequence in any status, unless one is asked (``active``: held_condition's).
        condition = Q(status=status) if status else Q()
        if not (names or ids):
            return queryset.filter(lead_rows(SequenceSubscription, condition))
        groups = catalog_pks(Sequence, names, ids)
        return holds_any(queryset, SequenceSubscription, "sequence", groups, condition)

    def filter_memberships(self, queryset: QuerySet, name: str, value) -> QuerySet:
        names, ids, level_ids = self._values("membership", "membership_id", "membership_level_id")
        if name == "membership_id" and names:
            return queryset
        if name == "membership_level_id":
            levels = MembershipLevel.objects.filter(kartra_id__in=level_ids)
            if names or ids:  # level ids are unique within a membership: those named
                memberships = set().union(*catalog_pks(Membership, names, ids))
                levels = levels.filter(membership__in=memberships)
            pks = set(levels.values_list("pk", flat=True))
            held = held_condition(MembershipAccess)
            return holds_any(queryset, MembershipAccess, "level", [pks], held)
        groups = catalog_pks(Membership, names, ids)
        return holds_any(
            queryset, MembershipAccess, "membership", groups, held_condition(MembershipAccess)
        )

    def filter_products(self, queryset: QuerySet, name: str, value) -> QuerySet:
        names, ids = self._values("product", "product_id")
        if name == "product_id" and names:
            return queryset
        groups = catalog_pks(Product, names, ids)
        return holds_any(queryset, Transaction, "product", groups, held_condition(Transaction))

    def filter_calendars(self, queryset: QuerySet, name: str, value) -> QuerySet:
        names, ids = self._values("calendar", "calendar_id")
        if name == "calendar_id" and names:
            return queryset
        groups = catalog_pks(Calendar, names, ids)
        held = held_condition(CalendarSubscription)
        return holds_any(queryset, CalendarSubscription, "calendar", groups, held)

    def filter_transaction_type(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(lead_rows(Transaction, transaction_type=value))

    #: The sign-up filters, in the order one of them applies them all.
    SIGNUP_FILTERS = (
        "affiliate_product_id",
        "jv_product_id",
        "signup",
        "signed_up_after",
        "signed_up_before",
    )

    def filter_signups(self, queryset: QuerySet, name: str, value) -> QuerySet:
        """Affiliate and JV sign-ups (``leads.selectors.leads_signed_up``), applied once,
        by the first sign-up filter given: a product filter per kind, a kind, a period."""
        data = self.form.cleaned_data
        if name != next(f for f in self.SIGNUP_FILTERS if data.get(f) not in (None, "", [])):
            return queryset
        period = {"after": data.get("signed_up_after"), "before": data.get("signed_up_before")}
        kinds = {SignupKind.AFFILIATE: "affiliate_product_id", SignupKind.JV: "jv_product_id"}
        for kind, products in kinds.items():
            if data.get(products):
                pks = set().union(*catalog_pks(Product, [], data[products]))
                queryset = leads_signed_up(queryset, kind=kind, products=pks, **period)
        if not any(data.get(products) for products in kinds.values()):
            queryset = leads_signed_up(queryset, kind=data.get("signup") or None, **period)
        return queryset

    def filter_custom_value(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        field = CustomField.objects.filter(identifier=value).first()
        if field is None:
            return queryset.none()
        chosen = self.form.cleaned_data.get("custom_value") or None
        return leads_with_custom_value(queryset, field=field, value=chosen)
