"""Filter building blocks shared by the apps' FilterSets.

Every value that reaches SQL is validated by a form field first, so odd input (a 30-digit
id, a NUL byte) is a 400 and never a database error.
"""

from datetime import UTC
from typing import ClassVar

from django import forms
from django_filters import rest_framework as filters
from django_filters.fields import IsoDateTimeField
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


class MultipleValueField(forms.MultipleChoiceField):
    """A repeated query parameter (``?tag=a&tag=b``) of free values, each cleaned by
    ``item_field``."""

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
    """django-filter's FilterSet with its form class built once per FilterSet class.

    django-filter builds the form class (one form field per filter) on every request; the
    fields depend only on the filter declarations, and each form instance deep-copies them
    anyway. Saves a couple of milliseconds on every filtered request.
    """

    _form_classes: ClassVar[dict[type, type]] = {}

    def get_form_class(self):
        form_class = self._form_classes.get(type(self))
        if form_class is None:
            form_class = self._form_classes[type(self)] = super().get_form_class()
        return form_class


class FilterBackend(filters.DjangoFilterBackend):
    """django-filter's backend, skipped when the request names none of the filters.

    Building a FilterSet and its form costs a few milliseconds per request; unfiltered pages
    and detail lookups (which DRF also runs through the filter backends) need none of it.
    """

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is None or request.query_params.keys().isdisjoint(
            filterset_class.base_filters
        ):
            return queryset
        return super().filter_queryset(request, queryset, view)


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
