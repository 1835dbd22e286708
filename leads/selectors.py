"""Reads over leads and segments shared by the admin and the API: a rule such as "has this
value in a custom field" or "may edit this segment" is written once, here."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet, Value
from django.db.models.functions import MD5, Lower
from django.db.models.lookups import Exact

from leads.models import (
    CHOICE_FIELD_TYPES,
    TEXT_FIELD_TYPES,
    CustomField,
    CustomFieldValue,
    Lead,
    Segment,
)


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
