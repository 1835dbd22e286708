"""Filter building blocks shared by the apps' FilterSets.

Every value that reaches SQL is validated by a form field first, so odd input (a 30-digit
id, a NUL byte) is a 400 and never a database error.
"""

from __future__ import annotations

import functools
from datetime import UTC

from django import forms
from django.template import loader
from django_filters import rest_framework as filters
from django_filters.fields import IsoDateTimeField
from drf_spectacular.contrib.django_filters import DjangoFilterExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import filters as filters_drf

from .pagination import INT64_MAX, INT64_MIN

INT64_SCHEMA = {"type": "integer", "format": "int64", "minimum": INT64_MIN, "maximum": INT64_MAX}
MAX_VALUES = 20  # values of one repeated parameter


class Int64Field(forms.IntegerField):
    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", INT64_MIN)
        kwargs.setdefault("max_value", INT64_MAX)
        super().__init__(**kwargs)


@extend_schema_field(INT64_SCHEMA)
class Int64Filter(filters.NumberFilter):
    """A Kartra id or another integer that fits the bigint columns."""

    field_class = Int64Field


class UtcDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time, normalised to UTC.

    PostgreSQL refuses offsets beyond ±15:59 that ISO 8601 allows, and a datetime at the edge
    of the calendar may not exist in UTC: either is a 400, never a database error.
    """

    def to_python(self, value):
        parsed = super().to_python(value)
        try:
            return parsed.astimezone(UTC) if parsed is not None else None
        except OverflowError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class DateTimeFilter(filters.IsoDateTimeFilter):
    """An ISO 8601 date-time, with its zone (UTC when it has none)."""

    field_class = UtcDateTimeField


class RepeatedParameterWidget(forms.SelectMultiple):
    """A repeated query parameter: omitted when the query string does not name it (an HTML
    ``<select multiple>`` can never tell, so Django's widget always says it is present)."""

    def value_omitted_from_data(self, data, files, name) -> bool:
        return name not in data


class MultipleValueField(forms.MultipleChoiceField):
    """A repeated query parameter (``?tag=a&tag=b``) of free values, each cleaned by
    ``item_field``."""

    widget = RepeatedParameterWidget

    def __init__(self, *, item_field: forms.Field, **kwargs):
        self.item_field = item_field
        super().__init__(**kwargs)

    def valid_value(self, value) -> bool:
        return True

    def clean(self, value):
        values = [item for item in super().clean(value) if item.strip()]
        if len(values) > MAX_VALUES:
            raise forms.ValidationError(f"At most {MAX_VALUES} values.")
        return [self.item_field.clean(item) for item in values]


class MultipleValueFilter(filters.MultipleChoiceFilter):
    """Filter on a repeated parameter; pass ``method`` to say what the values select."""

    field_class = MultipleValueField

    def __init__(self, *args, item_field: forms.Field, **kwargs):
        kwargs["item_field"] = item_field
        super().__init__(*args, **kwargs)


@extend_schema_field({"type": "string", "maxLength": 255})
class NamesFilter(MultipleValueFilter):
    """Catalogue rows by name, repeatable."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, item_field=forms.CharField(max_length=255), **kwargs)


@extend_schema_field(INT64_SCHEMA)
class IdsFilter(MultipleValueFilter):
    """Catalogue rows by Kartra id, repeatable."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, item_field=Int64Field(), **kwargs)


class MirrorFilterSet(filters.FilterSet):
    """django-filter's FilterSet, which a request narrows to the filters it names.

    django-filter deep-copies every filter of a FilterSet, and its form every form field,
    for each FilterSet it builds: for the 36 filters of the leads that costs more than the
    query they build. A filter the query string does not name can neither narrow the rows
    nor fail validation, so ``FilterBackend`` builds ``narrowed(named_filters(...))``: a
    subclass holding the named filters only (made once per set of names).
    """

    @classmethod
    def named_filters(cls, data, prefix: str | None = None) -> frozenset[str]:
        """The filters whose parameters appear in ``data`` (a range filter reads two)."""
        return frozenset(
            name
            for name, filter_ in cls.base_filters.items()
            if not filter_.field.widget.value_omitted_from_data(
                data, {}, f"{prefix}-{name}" if prefix else name
            )
        )

    @classmethod
    def narrowed(cls, names: frozenset[str]) -> type[MirrorFilterSet]:
        """This FilterSet with only the filters ``names`` (a subset of ``base_filters``)."""
        return _narrowed(cls, frozenset(names))


@functools.lru_cache(maxsize=1024)
def _narrowed(filterset_class: type[MirrorFilterSet], names: frozenset[str]) -> type:
    # A plain subclass with fewer ``base_filters``: django-filter's own constructor and form
    # build it, so nothing here depends on how they work inside.
    subclass = type(filterset_class.__name__, (filterset_class,), {"__module__": __name__})
    subclass.base_filters = {
        name: filter_ for name, filter_ in filterset_class.base_filters.items() if name in names
    }
    return subclass


class FilterBackend(filters.DjangoFilterBackend):
    """django-filter's backend, building the FilterSet of the filters the request names
    (``MirrorFilterSet.narrowed``) and none when it names none (unfiltered pages and detail
    lookups, which DRF also runs through the filter backends)."""

    filterset_base = MirrorFilterSet

    def get_filterset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is None:
            return None
        names = filterset_class.named_filters(request.query_params)
        if not names:
            return None
        kwargs = self.get_filterset_kwargs(request, queryset, view)
        return filterset_class.narrowed(names)(**kwargs)

    def to_html(self, request, queryset, view):
        # The browsable API's filter form shows every filter, not only the named ones.
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is None:
            return None
        filterset = filterset_class(data=request.query_params, queryset=queryset, request=request)
        template = loader.get_template(self.template)
        return template.render({"filter": filterset}, request)


class FilterSchema(DjangoFilterExtension):
    """drf-spectacular's reading of the FilterSets, which leaves out the help text of a filter
    whose type is declared with ``extend_schema_field`` (``Int64Filter``, ``IdsFilter``, ...).
    This one keeps it: it says what the value is (whose Kartra id, of what)."""

    target_class = FilterBackend
    priority = 1

    def resolve_filter_field(self, auto_schema, model, filterset_class, field_name, filter_field):
        parameters = super().resolve_filter_field(
            auto_schema, model, filterset_class, field_name, filter_field
        )
        if help_text := filter_field.extra.get("help_text"):
            for parameter in parameters:
                parameter.setdefault("description", help_text)
        return parameters


class SearchFilter(filters_drf.SearchFilter):
    """DRF's ``search``, documented only on the endpoints that declare ``search_fields``."""

    def get_schema_operation_parameters(self, view) -> list[dict]:
        fields = getattr(view, "search_fields", None)
        if not fields:
            return []
        (parameter,) = super().get_schema_operation_parameters(view)
        parameter["description"] = (
            f"Words each found (case-insensitive) in one of: {', '.join(fields)}."
        )
        return [parameter]
