"""The base serializer: read-only, and it says which relations it reads so that the base
viewset can load them in a fixed number of queries."""

from datetime import UTC
from functools import cached_property
from typing import Any, ClassVar

from django.core.exceptions import ImproperlyConfigured
from django.db import models
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import Field, SkipField
from rest_framework.relations import PKOnlyObject

from .addressing import Address, row_url


class UtcDateTimeField(serializers.DateTimeField):
    """A read-only datetime in UTC ISO 8601 (``2024-01-15T15:00:00Z``).

    The mirror stores UTC and the API always answers in UTC, whatever ``DJANGO_TIME_ZONE``
    says. Skipping DRF's per-value lookup of the current time zone makes a page of 500 rows
    noticeably cheaper to serialise.
    """

    def to_representation(self, value):
        if not value:
            return None
        if value.tzinfo is not UTC:  # the database's datetimes are in UTC already
            value = value.astimezone(UTC)
        return value.isoformat()[:-6] + "Z"


@extend_schema_field({"type": "string", "format": "uri"})
class RowUrlField(Field):
    """The url of a row's detail (``addressing.py``): of the row shown, or of the related row
    ``source`` names (a lead's tag shows the tag's url).

    ``address`` is how the row's kind is addressed, by default ``Address.of`` its model. It
    reads the row's primary key and, addressed by Kartra id, its ``kartra_id``: columns every
    query of the serializers loads, so a url costs no query.
    """

    def __init__(self, *, address: Address | None = None, **kwargs):
        kwargs.setdefault("source", "*")
        super().__init__(read_only=True, **kwargs)
        self.address = address

    def to_representation(self, row: models.Model) -> str:
        model = type(row)
        address = self.address or Address.of(model)
        kartra_id = row.kartra_id if address is Address.KARTRA else None
        return row_url(self.context, model, address, kartra_id, row.pk)

    def url_of_values(self, context: dict, model: type[models.Model], row: dict) -> str:
        """The url of a row read with ``QuerySet.values`` (see ``MirrorSerializer``)."""
        address = self.address or Address.of(model)
        kartra_id = row["kartra_id"] if address is Address.KARTRA else None
        return row_url(context, model, address, kartra_id, row[model._meta.pk.attname])

    def values_needed(self, model: type[models.Model]) -> tuple[str, ...]:
        """The columns ``url_of_values`` reads."""
        address = self.address or Address.of(model)
        pk = model._meta.pk.attname
        return (pk, "kartra_id") if address is Address.KARTRA else (pk,)


class KartraIdField(serializers.IntegerField):
    """A row's Kartra id, shown as its ``id``: null for a row Kartra has not numbered yet."""

    def __init__(self, **kwargs):
        kwargs.setdefault("source", "kartra_id")
        kwargs.setdefault("allow_null", True)
        super().__init__(read_only=True, **kwargs)


class MirrorSerializer(serializers.ModelSerializer):
    """A read-only model serializer.

    Besides ``model`` and ``fields``, its ``Meta`` may declare what the base viewset applies
    to the queryset before serialising (see ``MirrorViewSet.get_queryset``):

    - ``select_related``: forward relations the fields follow;
    - ``prefetch_related``: reverse and many-to-many relations (names or ``Prefetch``);
    - ``defer``: heavy columns the fields do not show (raw JSON, body bytes);
    - ``only``: the columns to load, when the fields show few of a wide table's (they must
      include the viewset's ordering fields, which the paging reads);
    - ``values``: like ``only``, but rows are read as dicts (``QuerySet.values``), which is
      several times cheaper than building model instances; every field must show one of
      these columns from its value alone (no request context: the fields of such rows are
      the class's, built once, not bound to a request), except the row's ``url``, which
      reads the columns that address it.
    """

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: UtcDateTimeField,
    }

    @cached_property
    def _representation_plan(self) -> list[tuple[str, Field, str | None]]:
        """(name, field, column) per readable field; ``column`` names the model column the
        field shows, None for anything else (DRF's general ``get_attribute`` reads it)."""
        columns = {f.attname for f in self.Meta.model._meta.concrete_fields if not f.is_relation}
        plan = []
        for field in self.fields.values():
            if field.write_only:
                continue
            attrs = field.source_attrs
            column = attrs[0] if len(attrs) == 1 and attrs[0] in columns else None
            plan.append((field.field_name, field, column))
        return plan

    _values_plans: ClassVar[dict[type, list[tuple[str, str | None, Any]]]] = {}

    def _values_plan(self) -> list[tuple[str, str | None, Any]]:
        """(name, column, convert) per field, for rows read with ``Meta.values``; ``convert``
        is None where DRF's field would return the column's value unchanged (an int of an
        integer column, a str of a text column, a bool of a boolean one). The row's url is
        (name, None, its ``RowUrlField``).

        Built once per class, from the fields of a serializer of no request: a row of plain
        columns needs nothing a field learns from the request, so a page of rows does not
        build the serializer's fields at all.
        """
        plan = self._values_plans.get(type(self))
        if plan is None:
            model_fields = {f.attname: f for f in self.Meta.model._meta.concrete_fields}
            plan = []
            for name, shown, column in type(self)(context={})._representation_plan:
                if (
                    isinstance(shown, RowUrlField)
                    and shown.source == "*"
                    and set(shown.values_needed(self.Meta.model)) <= set(self.Meta.values)
                ):
                    plan.append((name, None, shown))
                    continue
                if column is None or column not in self.Meta.values:
                    raise ImproperlyConfigured(
                        f"{type(self).__name__}.{name} shows no column of Meta.values"
                    )
                plan.append((name, column, _converter(shown, model_fields[column])))
            self._values_plans[type(self)] = plan
        return plan

    def to_representation(self, instance) -> dict[str, Any]:
        """DRF's ``to_representation``, reading plain columns directly.

        A column of a model instance is never a mapping, a callable or a related object,
        which is what DRF's ``get_attribute`` checks for on every value of every row; a page
        of 500 leads spent most of its serialisation time in those checks. A row read with
        ``Meta.values`` is a dict holding exactly the columns the fields show.
        """
        if type(instance) is dict and hasattr(self.Meta, "values"):
            representation = {}
            for name, column, convert in self._values_plan():
                if column is None:
                    representation[name] = convert.url_of_values(
                        self.context, self.Meta.model, instance
                    )
                    continue
                value = instance[column]
                representation[name] = value if value is None or convert is None else convert(value)
            return representation
        if not isinstance(instance, self.Meta.model):
            return super().to_representation(instance)
        representation = {}
        for name, field, column in self._representation_plan:
            if column is not None:
                value = check = getattr(instance, column)
            else:
                try:
                    value = field.get_attribute(instance)
                except SkipField:
                    continue
                check = value.pk if isinstance(value, PKOnlyObject) else value
            representation[name] = None if check is None else field.to_representation(value)
        return representation


# DRF fields that show a value of these model columns unchanged.
_UNCHANGED = (
    (serializers.IntegerField, models.IntegerField),
    (serializers.CharField, (models.CharField, models.TextField)),
    (serializers.BooleanField, models.BooleanField),
)


def _converter(field: Field, model_field: models.Field):
    """``field.to_representation``, or None where it returns a non-null value of
    ``model_field``'s column unchanged."""
    for field_class, model_field_classes in _UNCHANGED:
        if type(field).to_representation is field_class.to_representation and isinstance(
            model_field, model_field_classes
        ):
            return None
    return field.to_representation


class KartraSerializer(MirrorSerializer):
    """A mirrored Kartra object: `id` is Kartra's id of it (null until Kartra gives one),
    `url` the address of its detail."""

    # The schema shows the docstring of a serializer that has none: it speaks to callers.
    # ``Meta.fields`` names the two fields; a row with no endpoint of its own omits ``url``.
    id = KartraIdField()
    url = RowUrlField()


class CatalogBriefSerializer(serializers.Serializer):
    """A catalogue row as other rows point at it: its Kartra id, url and name."""

    id = KartraIdField()
    url = RowUrlField()
    name = serializers.CharField(read_only=True)


class LeadBriefSerializer(serializers.Serializer):
    """A lead as other rows point at it: its Kartra id, url and email."""

    id = KartraIdField()
    url = RowUrlField()
    email = serializers.CharField(read_only=True)


def inline_choice_field(choices: type[models.TextChoices]) -> serializers.ChoiceField:
    """A read-only choice field whose enum is written inline in the schema.

    Several models have a ``status`` with different choices, and drf-spectacular names enum
    components after the field: it would warn about the collision. It leaves an enum alone
    when it sits inside ``allOf``.
    """
    schema = {"allOf": [{"type": "string", "enum": list(choices.values)}]}
    field_class = type(f"{choices.__name__}Field", (serializers.ChoiceField,), {})
    return extend_schema_field(schema)(field_class)(choices=choices.choices, read_only=True)
