"""The base serializer: read-only, and it says which relations it reads so that the base
viewset can load them in a fixed number of queries."""

from datetime import UTC

from django.db import models
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


class UtcDateTimeField(serializers.DateTimeField):
    """A read-only datetime in UTC ISO 8601 (``2024-01-15T15:00:00Z``).

    The mirror stores UTC and the API always answers in UTC, whatever ``DJANGO_TIME_ZONE``
    says. Skipping DRF's per-value lookup of the current time zone makes a page of 500 rows
    noticeably cheaper to serialise.
    """

    def to_representation(self, value):
        if not value:
            return None
        text = value.astimezone(UTC).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text


class MirrorSerializer(serializers.ModelSerializer):
    """A read-only model serializer.

    Besides ``model`` and ``fields``, its ``Meta`` may declare what the base viewset applies
    to the queryset before serialising (see ``MirrorViewSet.get_queryset``):

    - ``select_related``: forward relations the fields follow;
    - ``prefetch_related``: reverse and many-to-many relations (names or ``Prefetch``);
    - ``defer``: heavy columns the fields do not show (raw JSON, body bytes);
    - ``only``: the columns to load, when the fields show few of a wide table's (they must
      include the viewset's ordering fields, which the paging reads).
    """

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: UtcDateTimeField,
    }


class CatalogBriefSerializer(serializers.Serializer):
    """A catalogue row as other rows point at it: its Kartra id and name."""

    id = serializers.IntegerField(read_only=True)
    kartra_id = serializers.IntegerField(read_only=True, allow_null=True)
    name = serializers.CharField(read_only=True)


class LeadBriefSerializer(serializers.Serializer):
    """A lead as other rows point at it."""

    id = serializers.IntegerField(read_only=True)
    kartra_id = serializers.IntegerField(read_only=True, allow_null=True)
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
