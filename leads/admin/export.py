"""Leads as CSV, streamed in chunks: profile columns, tags, lists and one column per custom
field. Memory and queries per chunk stay fixed however many leads are exported."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Iterator
from itertools import islice

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from leads.models import CustomField, CustomFieldValue, Lead, LeadTag, ListSubscription
from leads.selectors import held_condition

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
    "consent",
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


def lead_csv_rows(queryset: QuerySet[Lead], *, chunk_size: int = CHUNK_SIZE) -> Iterator[list]:
    """The header, then one row per lead of ``queryset`` in primary key order.

    The leads come from one query read ``chunk_size`` rows at a time (a server-side cursor
    on PostgreSQL), so the filters run once whatever the number of leads; each chunk then
    costs three queries of plain tuples (active tags, active lists, custom values with the
    chosen options), not model instances.
    """
    fields = list(CustomField.objects.order_by("identifier"))
    text_fields = {field.pk for field in fields if field.is_text}
    yield [*PROFILE_COLUMNS, "tags", "lists", *(f"custom:{f.identifier}" for f in fields)]
    leads = (
        queryset.order_by("pk").values_list("pk", *PROFILE_COLUMNS).iterator(chunk_size=chunk_size)
    )
    while chunk := list(islice(leads, chunk_size)):
        pks = [row[0] for row in chunk]
        tags = _names_by_lead(
            LeadTag.objects.filter(held_condition(LeadTag), lead__in=pks).values_list(
                "lead_id", "tag__name"
            ),
            order="tag__name",
        )
        lists = _names_by_lead(
            ListSubscription.objects.filter(
                held_condition(ListSubscription), lead__in=pks
            ).values_list("lead_id", "list__name"),
            order="list__name",
        )
        values = _custom_values(pks, text_fields)
        for pk, *profile in chunk:
            yield [
                *profile,
                "; ".join(tags.get(pk, ())),
                "; ".join(lists.get(pk, ())),
                *(values.get((pk, field.pk), "") for field in fields),
            ]


def _names_by_lead(rows: QuerySet, *, order: str) -> dict[int, list[str]]:
    names: dict[int, list[str]] = defaultdict(list)
    for lead_id, name in rows.order_by("lead_id", order):
        names[lead_id].append(name)
    return names


def _custom_values(pks: list[int], text_fields: set[int]) -> dict[tuple[int, int], str]:
    """``{(lead pk, field pk): text}``: a text field's text, a choice field's options."""
    rows = (
        CustomFieldValue.objects.filter(lead__in=pks)
        .order_by("lead_id", "field_id", "options__kartra_id")
        .values_list("lead_id", "field_id", "text", "options__value")
    )
    texts: dict[tuple[int, int], str] = {}
    options: dict[tuple[int, int], list[str]] = defaultdict(list)
    for lead_id, field_id, text, option in rows:
        if field_id in text_fields:
            texts[(lead_id, field_id)] = text
        elif option is not None:
            options[(lead_id, field_id)].append(option)
    return {**texts, **{key: "; ".join(chosen) for key, chosen in options.items()}}


def csv_stream(rows: Iterable[Iterable[object]], *, batch: int = CHUNK_SIZE) -> Iterator[str]:
    """CSV text of ``rows``, ``batch`` rows at a time: one write to the client per batch
    rather than per row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for count, row in enumerate(rows, start=1):
        writer.writerow([_cell(value) for value in row])
        if count % batch == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


def lead_csv_response(queryset: QuerySet[Lead], *, name: str = "leads") -> StreamingHttpResponse:
    """The leads of ``queryset`` as a streamed CSV download named ``<name>-<time>.csv``."""
    filename = f"{name}-{timezone.now():%Y%m%d-%H%M%S}.csv"
    return StreamingHttpResponse(
        csv_stream(lead_csv_rows(queryset)),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
