"""What the mirror holds about a batch of leads, read for an audit (reads only).

Each lead's profile, custom field values and relation rows are read into plain values
(:class:`MirrorLead`), with when each was last observed, so that comparing them with a
``get_lead`` snapshot (``events.audit.compare``) is pure code. A batch takes a fixed number of
queries, whatever the number of leads and rows.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from operator import attrgetter
from typing import Any

from django.db import connection
from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower

from leads.models import (
    CalendarEvent,
    CalendarSubscription,
    CustomFieldValue,
    Lead,
    LeadTag,
    ListSubscription,
    MembershipAccess,
    SequenceSubscription,
    Subscription,
    SurveyAnswer,
    SurveyResult,
    Transaction,
)

from .replaced import lead_sets_replaced

#: Lead columns an audit never compares (the raw JSON above all stays unread).
_UNREAD = ("mirror_raw",)


#: How a flag row reads, by relation: (active, inactive).
FLAG_WORDS = {
    "tag": ("assigned", "unassigned"),
    "list": ("subscribed", "unsubscribed"),
    "membership": ("active", "inactive"),
}


def item_name(item: Any) -> str:
    """A tag or list name, or a membership's ``name / level``."""
    if isinstance(item, tuple):
        return " / ".join(part for part in item if part)
    return item


def calendar_row_values(row) -> dict[str, Any]:
    return {
        "calendar": row.calendar,
        "class": row.calendar_class,
        **row.values,
        "events": row.events,
    }


@dataclass(frozen=True)
class Seen:
    """A mirrored value and when it was last observed."""

    value: Any
    at: datetime | None


@dataclass(frozen=True)
class CalendarRow:
    """A calendar registration as the mirror holds it."""

    kartra_id: int | None
    calendar: str
    calendar_class: str | None
    values: dict[str, Any]  # status, vendor_id, vendor_timezone, ics_calendar_link, hosts
    events: list[list[Any]]  # [start, minutes], by start
    at: datetime


@dataclass
class MirrorLead:
    """One lead of the mirror in plain values; relation rows keyed as ``get_lead`` names
    them (by name, or by Kartra id where it gives one)."""

    pk: int
    kartra_id: int | None
    status: str
    webhook_at: datetime | None
    profile: dict[str, Any]
    profile_at: datetime | None
    sets_replaced: dict[str, datetime]
    custom: dict[int | str, Seen] = field(default_factory=dict)  # text, option ids, values
    tags: dict[str, Seen] = field(default_factory=dict)  # active
    lists: dict[str, Seen] = field(default_factory=dict)  # active
    sequences: dict[str, Seen] = field(default_factory=dict)  # (status, step)
    memberships: dict[tuple[str, str | None], Seen] = field(default_factory=dict)  # active
    transactions: dict[int, Seen] = field(default_factory=dict)  # field values
    subscriptions: dict[int, bool] = field(default_factory=dict)  # cancelled
    calendars: list[CalendarRow] = field(default_factory=list)
    surveys: dict[tuple[int | None, str], Seen] = field(default_factory=dict)  # (id, name)

    def replaced_after(self, key: str, at: datetime) -> bool:
        """Whether a snapshot requested after ``at`` listed the relation set ``key``."""
        replaced = self.sets_replaced.get(key)
        return replaced is not None and replaced > at


def mirror_leads(*, kartra_ids: Iterable[int], emails: Iterable[str] = ()) -> list[MirrorLead]:
    """The mirror's leads with these Kartra ids or (any case) emails, with every relation."""
    ids, lowered = set(kartra_ids), {email.lower() for email in emails if email}
    if not ids and not lowered:
        return []
    leads = list(
        Lead.objects.defer(*_UNREAD)
        .annotate(email_ci=Lower("email"))
        .filter(Q(kartra_id__in=ids) | Q(email_ci__in=lowered))
    )
    return list(mirror_views(leads, parts=PARTS).values())


def mirror_views(
    leads: Iterable[Lead],
    *,
    parts: Iterable[str],
    unread: Mapping[int, Collection[str]] | None = None,
    rows: Mapping[str, Mapping[int, Collection[int]]] | None = None,
) -> dict[int, MirrorLead]:
    """Views of ``leads`` (as they are in memory) by primary key, with the relation
    ``parts`` (``PARTS`` names) read from the database: one or two queries per part, none
    for a part no lead needs. ``unread``: by primary key, parts of a lead left out (empty
    in its view). ``rows``: for a part of ``FLAG_PARTS``, by primary key, the only rows of
    a lead to read, named by their catalogue row's primary key (the tags whose flags a
    batch writes); one more query where a part has leads read whole as well."""
    views = {lead.pk: _lead_view(lead) for lead in leads}
    for part in parts:
        needed = {pk: view for pk, view in views.items() if part not in (unread or {}).get(pk, ())}
        listed = {pk: r for pk, r in (rows or {}).get(part, {}).items() if pk in needed}
        whole = {pk: view for pk, view in needed.items() if pk not in listed}
        if whole:
            _READERS[part](whole)
        if listed:
            _read_flags(part, needed, listed)
    return views


#: The lead columns a view's profile holds: Kartra's, not the mirror's bookkeeping.
_PROFILE_COLUMNS = tuple(
    f.attname
    for f in Lead._meta.concrete_fields
    if f.attname not in _UNREAD and not f.attname.startswith("mirror_")
)


_profile_of = attrgetter(*_PROFILE_COLUMNS)


def _lead_view(lead: Lead) -> MirrorLead:
    return MirrorLead(
        pk=lead.pk,
        kartra_id=lead.kartra_id,
        status=lead.mirror_status,
        webhook_at=lead.mirror_webhook_at,
        profile=dict(zip(_PROFILE_COLUMNS, _profile_of(lead), strict=True)),
        profile_at=lead.mirror_profile_observed_at,
        sets_replaced=lead_sets_replaced(lead),
    )


def _read_custom(views: dict[int, MirrorLead]) -> None:
    # Plain values, not model instances: the change history reads this for every batch.
    chosen = CustomFieldValue.options.through.objects.filter(customfieldvalue__lead_id__in=views)
    options: dict[int, list] = {}
    for value_id, kartra_id, text in chosen.values_list(
        "customfieldvalue_id", "customfieldoption__kartra_id", "customfieldoption__value"
    ):
        options.setdefault(value_id, []).append((kartra_id, text))
    values = CustomFieldValue.objects.filter(lead_id__in=views).values_list(
        "pk", "lead_id", "field__kartra_id", "field__identifier", "text", "observed_at"
    )
    for pk, lead_id, field_id, identifier, text, at in values:
        seen = Seen((text, sorted(options.get(pk, ()))), at)
        custom = views[lead_id].custom
        if field_id is not None:
            custom[field_id] = seen
        if identifier:
            custom.setdefault(identifier, seen)


#: The parts whose rows are a lead's flag on a catalogue row: each one's model and the
#: relation to the catalogue.
FLAG_PARTS = {"tags": (LeadTag, "tag"), "lists": (ListSubscription, "list")}


def _read_flags(
    part: str, views: dict[int, MirrorLead], rows: Mapping[int, Collection[int]] | None = None
) -> None:
    """The ``part`` (``FLAG_PARTS``) of ``views``, or, by primary key, only the ``rows``
    (catalogue primary keys) of those listed (one condition on the (lead, row) pairs)."""
    model, catalog = FLAG_PARTS[part]
    # The pairs alone: with the leads' ids beside them, PostgreSQL may scan each catalogue
    # row's flags for the leads instead of looking each pair up in the unique index.
    condition = Q(lead_id__in=views) if rows is None else _pairs(model, f"{catalog}_id", rows)
    chosen = model.objects.filter(condition)
    for lead_id, name, active, at in chosen.values_list(
        "lead_id", f"{catalog}__name", "active", "observed_at"
    ):
        getattr(views[lead_id], part)[name] = Seen(active, at)


def _pairs(model, column: str, rows: Mapping[int, Collection[int]]) -> RawSQL:
    """A condition that holds for the rows of ``model`` whose (``lead_id``, ``column``)
    is one of the pairs ``rows`` lists (by lead, the values of ``column``): one array per
    column on PostgreSQL, one JSON document elsewhere, whatever the number of pairs."""
    table = connection.ops.quote_name(model._meta.db_table)
    lhs = f"({table}.lead_id, {table}.{column})"
    pairs = [(lead, item) for lead, items in rows.items() for item in items]
    if connection.vendor == "postgresql":
        leads, items = [lead for lead, _ in pairs], [item for _, item in pairs]
        sql, params = f"{lhs} IN (SELECT * FROM UNNEST(%s::bigint[], %s::bigint[]))", (leads, items)
    else:
        # json_extract, not ->> (SQLite 3.38+): the JSON functions JSONField needs anyway.
        pair = "json_extract(value, '$[0]'), json_extract(value, '$[1]')"
        sql, params = f"{lhs} IN (SELECT {pair} FROM json_each(%s))", (json.dumps(pairs),)
    return RawSQL(sql, params, output_field=BooleanField())


def _read_sequences(views: dict[int, MirrorLead]) -> None:
    for lead_id, name, status, step, at in SequenceSubscription.objects.filter(
        lead_id__in=views
    ).values_list("lead_id", "sequence__name", "status", "step", "observed_at"):
        views[lead_id].sequences[name] = Seen((status, step), at)


def _read_memberships(views: dict[int, MirrorLead]) -> None:
    for lead_id, name, level, active, at in MembershipAccess.objects.filter(
        lead_id__in=views
    ).values_list("lead_id", "membership__name", "level__name", "active", "observed_at"):
        views[lead_id].memberships[(name, level)] = Seen(active, at)


#: Transaction columns a transaction record may fill (``TransactionRecord.fields``): every
#: one but the keys, links and bookkeeping.
TRANSACTION_FIELDS = tuple(
    f.attname
    for f in Transaction._meta.concrete_fields
    if not f.is_relation
    and f.attname
    not in ("id", "kartra_id", "raw", "observed_at", "observed_source", "observed_ref")
)


def _read_commerce(views: dict[int, MirrorLead]) -> None:
    # Unordered: the model's order (by date) would make PostgreSQL walk the date index.
    rows = Transaction.objects.filter(lead_id__in=views).order_by().values_list(
        "lead_id", "kartra_id", "product__name", "subscription__kartra_id", "observed_at",
        *TRANSACTION_FIELDS,
    )  # fmt: skip
    for lead_id, kartra_id, product, subscription, at, *values in rows:
        fields = dict(zip(TRANSACTION_FIELDS, values, strict=True))
        fields.update(product=product, subscription=subscription)
        views[lead_id].transactions[kartra_id] = Seen(fields, at)
    subscriptions = (
        Subscription.objects.filter(lead_id__in=views)
        .order_by()
        .values_list("lead_id", "kartra_id", "cancelled")
    )
    for lead_id, kartra_id, cancelled in subscriptions:
        views[lead_id].subscriptions[kartra_id] = cancelled


def _read_calendars(views: dict[int, MirrorLead]) -> None:
    events: dict[int, list] = {}
    for subscription_id, starts_at, minutes in (
        CalendarEvent.objects.filter(subscription__lead_id__in=views)
        .order_by("starts_at")
        .values_list("subscription_id", "starts_at", "duration_minutes")
    ):
        events.setdefault(subscription_id, []).append([starts_at, minutes])
    rows = CalendarSubscription.objects.filter(lead_id__in=views).values_list(
        "pk", "lead_id", "kartra_id", "calendar__name", "calendar_class__name", "status",
        "vendor_id", "vendor_timezone", "ics_calendar_link", "hosts", "observed_at",
    )  # fmt: skip
    for pk, lead_id, kartra_id, calendar, calendar_class, *values, at in rows:
        keys = ("status", "vendor_id", "vendor_timezone", "ics_calendar_link", "hosts")
        views[lead_id].calendars.append(
            CalendarRow(
                kartra_id=kartra_id,
                calendar=calendar,
                calendar_class=calendar_class,
                values=dict(zip(keys, values, strict=True)),
                events=events.get(pk, []),
                at=at,
            )
        )


def _read_surveys(views: dict[int, MirrorLead]) -> None:
    chosen: dict[int, list] = {}
    for answer_id, option in SurveyAnswer.options.through.objects.filter(
        surveyanswer__result__lead_id__in=views
    ).values_list("surveyanswer_id", "surveyoption__kartra_id"):
        chosen.setdefault(answer_id, []).append(option)
    answers: dict[int, dict] = {}
    for pk, result_id, question, correct in SurveyAnswer.objects.filter(
        result__lead_id__in=views
    ).values_list("pk", "result_id", "question__kartra_id", "correct"):
        answers.setdefault(result_id, {})[str(question)] = {
            "correct": correct,
            "options": sorted(chosen.get(pk, ())),
        }
    rows = SurveyResult.objects.filter(lead_id__in=views).values_list(
        "pk", "lead_id", "survey__kartra_id", "survey__name", "score", "completion_time",
        "completed_at", "observed_at",
    )  # fmt: skip
    for pk, lead_id, survey_id, survey, score, completion_time, completed_at, at in rows:
        result = {
            "score": score,
            "completion_time": completion_time,
            "completed_at": completed_at,
            "answers": answers.get(pk, {}),
        }
        views[lead_id].surveys[(survey_id, survey)] = Seen(result, at)


#: How each part of a lead's view is read, by the name ``mirror_views`` takes.
_READERS = {
    "custom": _read_custom,
    "tags": partial(_read_flags, "tags"),
    "lists": partial(_read_flags, "lists"),
    "sequences": _read_sequences,
    "memberships": _read_memberships,
    "transactions": _read_commerce,
    "calendars": _read_calendars,
    "surveys": _read_surveys,
}
#: Every part of a lead's view.
PARTS = tuple(_READERS)
#: The ``lead_details`` key (002) each part of a lead's view is mirrored from.
PART_KEYS = {part: "custom_fields" if part == "custom" else part for part in PARTS}
