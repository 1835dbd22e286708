"""Leads as CSV, streamed in chunks: profile columns, tags, lists and one column per custom
field. Memory and queries per chunk stay fixed however many leads are exported."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from django.db.models import Prefetch, QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from leads.models import CustomField, CustomFieldValue, Lead, LeadTag, ListSubscription

CHUNK_SIZE = 500
PROFILE_COLUMNS = (
    "kartra_id",
    "email",
    "first_name",
    "middle_name",
    "last_name",
    "phone_country_code",
    "phone",
    "company",
    "address",
    "city",
    "zip",
    "state",
    "country",
    "source",
    "score",
    "date_joined",
    "blacklisted",
    "gdpr_lead_status",
    "lead_deleted",
    "mirror_last_activity_at",
    "mirror_refreshed_at",
)
# Cells a spreadsheet would run as a formula (CSV injection); a lead's name comes from a form.
_FORMULA_STARTS = ("=", "@", "\t", "\r")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    text = str(value)
    risky = text.startswith(_FORMULA_STARTS) or (
        text[:1] in ("+", "-") and not text[1:].replace(" ", "").replace(".", "").isdigit()
    )
    return f"'{text}" if risky else text


def _custom_value_text(value: CustomFieldValue) -> str:
    if value.field.is_text:
        return value.text
    return "; ".join(option.value for option in value.options.all())


def lead_csv_rows(queryset: QuerySet[Lead], *, chunk_size: int = CHUNK_SIZE) -> Iterator[list]:
    """The header, then one row per lead of ``queryset`` in primary key order."""
    fields = list(CustomField.objects.order_by("identifier"))
    yield [*PROFILE_COLUMNS, "tags", "lists", *(f"custom:{f.identifier}" for f in fields)]
    chunk_query = queryset.order_by("pk").prefetch_related(
        Prefetch(
            "tag_links",
            queryset=LeadTag.objects.filter(active=True)
            .select_related("tag")
            .order_by("tag__name"),
            to_attr="active_tags",
        ),
        Prefetch(
            "list_subscriptions",
            queryset=ListSubscription.objects.filter(active=True)
            .select_related("list")
            .order_by("list__name"),
            to_attr="active_lists",
        ),
        Prefetch(
            "custom_values",
            queryset=CustomFieldValue.objects.select_related("field").prefetch_related("options"),
            to_attr="custom_value_rows",
        ),
    )
    last_pk = 0
    while True:
        chunk = list(chunk_query.filter(pk__gt=last_pk)[:chunk_size])
        if not chunk:
            return
        for lead in chunk:
            values = {row.field_id: _custom_value_text(row) for row in lead.custom_value_rows}
            yield [
                *(getattr(lead, column) for column in PROFILE_COLUMNS),
                "; ".join(link.tag.name for link in lead.active_tags),
                "; ".join(sub.list.name for sub in lead.active_lists),
                *(values.get(field.pk, "") for field in fields),
            ]
        last_pk = chunk[-1].pk


class _Echo:
    """A file-like object whose write returns what it was given, for csv.writer."""

    def write(self, value: str) -> str:
        return value


def csv_stream(rows: Iterable[Iterable[object]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    for row in rows:
        yield writer.writerow([_cell(value) for value in row])


def lead_csv_response(queryset: QuerySet[Lead]) -> StreamingHttpResponse:
    filename = f"leads-{timezone.now():%Y%m%d-%H%M%S}.csv"
    return StreamingHttpResponse(
        csv_stream(lead_csv_rows(queryset)),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
