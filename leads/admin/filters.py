"""List filters for big tables: autocomplete boxes over catalogues, and value lists that
never scan a million rows to find their choices."""

from __future__ import annotations

from django.contrib import admin
from django.db import connections
from django.db.models import Exists, Model, Q, QuerySet, prefetch_related_objects
from django.utils.functional import cached_property

from leads.models import (
    TEXT_FIELD_TYPES,
    Calendar,
    CalendarSubscription,
    CustomField,
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
    Survey,
    SurveyResult,
    Tag,
    Transaction,
)
from leads.selectors import held_condition, lead_rows, leads_with_custom_value

# Kartra's documented lead sources (000_7661fa0f659e6da9.txt, "source").
KARTRA_SOURCES = (
    "single-optin",
    "double-optin",
    "helpdesk",
    "affiliate-signup",
    "checkout",
    "checkout-first",
    "import",
    "api",
    "manual",
)


def distinct_values(model: type[Model], field: str, *, limit: int = 100) -> list[str]:
    """The distinct non-empty values of an indexed column, at most ``limit`` of them.

    On PostgreSQL a recursive query hops from value to value through the index (a "loose
    index scan"), so a million rows with ten values cost ten index probes, not a scan.
    """
    connection = connections["default"]
    if connection.vendor != "postgresql":
        values = (
            model.objects.exclude(**{field: ""})
            .order_by(field)
            .values_list(field, flat=True)
            .distinct()[:limit]
        )
        return list(values)
    table = connection.ops.quote_name(model._meta.db_table)
    column = connection.ops.quote_name(model._meta.get_field(field).column)
    sql = f"""
        WITH RECURSIVE v(value) AS (
            (SELECT {column} FROM {table} WHERE {column} > '' ORDER BY {column} LIMIT 1)
            UNION ALL
            SELECT (SELECT {column} FROM {table} WHERE {column} > v.value
                    ORDER BY {column} LIMIT 1)
            FROM v WHERE v.value IS NOT NULL
        )
        SELECT value FROM v WHERE value IS NOT NULL LIMIT %s
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [limit])
        return [row[0] for row in cursor.fetchall()]


class ValuesFilter(admin.SimpleListFilter):
    """Choices from an indexed text column's distinct values, found without a scan.

    They are read when the list shows them, not when the filter is built: a segment's count
    or export applies the filter without showing it.
    """

    field: str
    known: tuple[str, ...] = ()

    def lookups(self, request, model_admin):
        return ()  # read by choices()

    def value_choices(self, model_admin) -> list[tuple[str, str]]:
        values = set(distinct_values(model_admin.model, self.field)) | set(self.known)
        return [(value, value) for value in sorted(values)]

    def has_output(self) -> bool:
        return True

    def choices(self, changelist):
        self.lookup_choices = self.value_choices(changelist.model_admin)
        yield from super().choices(changelist)

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        return queryset.filter(**{self.field: self.value()})


class SourceFilter(ValuesFilter):
    title = "source"
    parameter_name = "source"
    field = "source"
    known = KARTRA_SOURCES

    def value_choices(self, model_admin):
        return [*super().value_choices(model_admin), ("_none", "(none)")]

    def queryset(self, request, queryset):
        if self.value() == "_none":
            return queryset.filter(source="")
        return super().queryset(request, queryset)


class ActionFilter(ValuesFilter):
    title = "action"
    parameter_name = "action"
    field = "action"


class AutocompleteFilter(admin.ListFilter):
    """A filter over a catalogue too big for a list of links: a select box fed by the
    catalogue admin's autocomplete view (Django's own select2, no CDN).

    ``source`` names a foreign key to the catalogue, as the autocomplete view wants it:
    ``(app_label, model_name, field_name)``. ``statuses`` optionally adds links that narrow
    the relation (a sequence subscription's status, for instance).
    """

    template = "admin/kartra/autocomplete_filter.html"
    parameter_name: str
    catalogue: type[Model]
    source: tuple[str, str, str]
    status_parameter: str | None = None
    statuses: tuple[tuple[str, str], ...] = ()

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        for name in self.expected_parameters():
            if name in params:
                self.used_parameters[name] = params.pop(name)[-1]

    def expected_parameters(self):
        names = [self.parameter_name]
        if self.status_parameter:
            names.append(self.status_parameter)
        return names

    def has_output(self) -> bool:
        return True

    def value(self) -> int | None:
        raw = self.used_parameters.get(self.parameter_name)
        try:
            return int(raw) if raw not in (None, "") else None
        except (TypeError, ValueError):
            raise admin.options.IncorrectLookupParameters(raw) from None

    def status(self) -> str | None:
        if not self.status_parameter:
            return None
        return self.used_parameters.get(self.status_parameter) or None

    def selected_label(self) -> str:
        value = self.value()
        if value is None:
            return ""
        obj = self.catalogue._default_manager.filter(pk=value).first()
        return str(obj) if obj is not None else missing_label(value)

    def describe(self) -> str:
        """The chosen row and status in words, for a segment's summary; empty when unused."""
        parts = [self.selected_label()] if self.value() is not None else []
        status = self.status()
        if status is not None:
            parts.append(dict(self.statuses).get(status, status))
        return ", ".join(parts)

    def condition(self, value: int | None, status: str | None) -> Q | Exists:
        raise NotImplementedError

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        value, status = self.value(), self.status()
        if value is None and status is None:
            return queryset
        return queryset.filter(self.condition(value, status))

    def choices(self, changelist):
        self.clear_query_string = changelist.get_query_string(remove=self.expected_parameters())
        if not self.statuses:
            return
        yield {
            "selected": self.status() is None,
            "query_string": changelist.get_query_string(remove=[self.status_parameter]),
            "display": "Any status",
        }
        for value, label in self.statuses:
            yield {
                "selected": self.status() == value,
                "query_string": changelist.get_query_string({self.status_parameter: value}),
                "display": label,
            }


class LeadRelationFilter(AutocompleteFilter):
    """Leads with a row in a state table that points at the chosen catalogue row and that
    ``held`` accepts: what holding it means (``leads.selectors.held_condition``), shared
    with the API's lead filters and the catalogue counts."""

    relation: type[Model]
    relation_field: str
    held: Q = Q()

    def condition(self, value, status):
        lookups = {f"{self.relation_field}_id": value} if value is not None else {}
        if status is not None:
            lookups.update(self.status_lookup(status))
        return lead_rows(self.relation, self.held, **lookups)

    def status_lookup(self, status: str) -> dict[str, str]:
        return {}


class TagFilter(LeadRelationFilter):
    title = "tag"
    parameter_name = "tag"
    catalogue = Tag
    source = ("leads", "leadtag", "tag")
    relation = LeadTag
    relation_field = "tag"
    held = held_condition(LeadTag)


class MailingListFilter(LeadRelationFilter):
    title = "list"
    parameter_name = "list"
    catalogue = List
    source = ("leads", "listsubscription", "list")
    relation = ListSubscription
    relation_field = "list"
    held = held_condition(ListSubscription)


class MembershipFilter(LeadRelationFilter):
    title = "membership"
    parameter_name = "membership"
    catalogue = Membership
    source = ("leads", "membershipaccess", "membership")
    relation = MembershipAccess
    relation_field = "membership"
    held = held_condition(MembershipAccess)


class MembershipLevelFilter(LeadRelationFilter):
    title = "membership level"
    parameter_name = "membership_level"
    catalogue = MembershipLevel
    source = ("leads", "membershipaccess", "level")
    relation = MembershipAccess
    relation_field = "level"
    held = held_condition(MembershipAccess)


class SequenceFilter(LeadRelationFilter):
    """A sequence and the subscription's status in it (or in any sequence): in it in any
    status unless one is picked (``active`` is what ``held_condition`` holds), as the API's
    ``sequence`` and ``sequence_status``."""

    title = "sequence"
    parameter_name = "sequence"
    catalogue = Sequence
    source = ("leads", "sequencesubscription", "sequence")
    relation = SequenceSubscription
    relation_field = "sequence"
    held = Q()  # any status, unless one is picked
    status_parameter = "sequence_status"
    statuses = tuple(SequenceStatus.choices)

    def status_lookup(self, status):
        return {"status": status}


class ProductFilter(LeadRelationFilter):
    """Leads who bought the product: a sale or a rebill of it (``held_condition``)."""

    title = "product bought"
    parameter_name = "product"
    catalogue = Product
    source = ("leads", "transaction", "product")
    relation = Transaction
    relation_field = "product"
    held = held_condition(Transaction)


class CalendarFilter(LeadRelationFilter):
    title = "calendar"
    parameter_name = "calendar"
    catalogue = Calendar
    source = ("leads", "calendarsubscription", "calendar")
    relation = CalendarSubscription
    relation_field = "calendar"
    held = held_condition(CalendarSubscription)


class SurveyFilter(LeadRelationFilter):
    title = "survey"
    parameter_name = "survey"
    catalogue = Survey
    source = ("leads", "surveyresult", "survey")
    relation = SurveyResult
    relation_field = "survey"
    held = held_condition(SurveyResult)


def missing_label(pk: int) -> str:
    """What a filter shows for a row that is not in the mirror (deleted since a segment
    was saved, or a hand-written URL)."""
    return f"#{pk} (not in the mirror)"


class CustomValueFilter(AutocompleteFilter):
    """A custom field (``custom_field``, its primary key) and a value in it
    (``custom_value``): a text field's whole text, or one of a choice field's options, both
    case-insensitive (``leads.selectors.leads_with_custom_value``). The field alone lists
    the leads with any value in it.

    The field is picked in an autocomplete box; a choice field then lists its options, a
    text field gets a box for the value (a plain GET form keeping the list's other
    parameters, as Django's search box does).
    """

    template = "admin/kartra/custom_value_filter.html"
    title = "custom field"
    parameter_name = "custom_field"
    value_parameter = "custom_value"
    catalogue = CustomField
    source = ("leads", "customfieldvalue", "field")

    def expected_parameters(self):
        return [self.parameter_name, self.value_parameter]

    def custom_value(self) -> str | None:
        return (self.used_parameters.get(self.value_parameter) or "").strip() or None

    @cached_property
    def field(self) -> CustomField | None:
        """The chosen field, with its options when it may have some; None if none is chosen
        or it is not in the mirror."""
        pk = self.value()
        field = CustomField.objects.filter(pk=pk).first() if pk is not None else None
        if field is not None and field.field_type not in TEXT_FIELD_TYPES:
            prefetch_related_objects([field], "options")
        return field

    def selected_label(self) -> str:
        pk = self.value()
        if pk is None:
            return ""
        return str(self.field) if self.field is not None else missing_label(pk)

    def describe(self) -> str:
        if self.value() is None:
            return ""
        value = self.custom_value()
        return f"{self.selected_label()} = {value}" if value else f"{self.selected_label()} set"

    def queryset(self, request, queryset):
        if self.value() is None:
            if self.custom_value() is not None:
                raise admin.options.IncorrectLookupParameters("custom_value needs custom_field")
            return queryset
        if self.field is None:
            return queryset.none()
        return leads_with_custom_value(queryset, field=self.field, value=self.custom_value())

    @property
    def options(self) -> list:
        field = self.field
        if field is None or field.field_type in TEXT_FIELD_TYPES:
            return []
        return list(field.options.all())

    @property
    def takes_text(self) -> bool:
        """Whether the value is typed (text fields, and types Kartra added since)."""
        field = self.field
        return field is not None and field.is_text

    def choices(self, changelist):
        self.clear_query_string = changelist.get_query_string(remove=self.expected_parameters())
        # The value box's form sends the list's other parameters along, as hidden inputs.
        self.hidden_params = [
            (name, value)
            for name, values in changelist.filter_params.items()
            if name != self.value_parameter
            for value in values
        ]
        if self.field is None:
            return
        chosen = self.custom_value()
        yield {
            "selected": chosen is None,
            "query_string": changelist.get_query_string(remove=[self.value_parameter]),
            "display": "Any value",
        }
        for option in self.options:
            yield {
                "selected": chosen is not None and chosen.lower() == option.value.lower(),
                "query_string": changelist.get_query_string({self.value_parameter: option.value}),
                "display": option.value or "(empty)",
            }


class RelatedAutocompleteFilter(AutocompleteFilter):
    """Rows whose own foreign key (``field``) is the chosen catalogue row."""

    field: str

    def condition(self, value, status):
        return Q(**{f"{self.field}_id": value})


def related_filter(
    field: str, catalogue: type[Model], source: tuple[str, str, str], title: str | None = None
) -> type[RelatedAutocompleteFilter]:
    """An autocomplete filter on a state table's own foreign key to a catalogue."""
    return type(
        f"{catalogue.__name__}AutocompleteFilter",
        (RelatedAutocompleteFilter,),
        {
            "title": title or catalogue._meta.verbose_name,
            "parameter_name": f"{field}_id",
            "field": field,
            "catalogue": catalogue,
            "source": source,
        },
    )
