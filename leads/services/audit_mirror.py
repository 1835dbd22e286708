"""What the mirror holds about a batch of leads, read for an audit (reads only).

Each lead's profile, custom field values and relation rows are read into plain values
(:class:`MirrorLead`), with when each was last observed, so that comparing them with a
``get_lead`` snapshot (``.audit_compare``) is pure code. A batch takes a fixed number of
queries, whatever the number of leads and rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Prefetch, Q
from django.db.models.functions import Lower

from leads.models import (
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

from .changes import RELATION_SETS, lead_set_replaced_at

#: Lead columns an audit never compares (the raw JSON above all stays unread).
_UNREAD = ("mirror_raw",)


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
    views = {lead.pk: _lead_view(lead) for lead in leads}
    if views:
        _read_custom(views)
        _read_flags(views)
        _read_commerce(views)
        _read_calendars(views)
        _read_surveys(views)
    return list(views.values())


def _lead_view(lead: Lead) -> MirrorLead:
    profile = {
        f.attname: getattr(lead, f.attname)
        for f in Lead._meta.concrete_fields
        if f.attname not in _UNREAD and not f.attname.startswith("mirror_")
    }
    replaced = {key: lead_set_replaced_at(lead, key) for key in RELATION_SETS}
    return MirrorLead(
        pk=lead.pk,
        kartra_id=lead.kartra_id,
        status=lead.mirror_status,
        webhook_at=lead.mirror_webhook_at,
        profile=profile,
        profile_at=lead.mirror_profile_observed_at,
        sets_replaced={key: at for key, at in replaced.items() if at is not None},
    )


def _read_custom(views: dict[int, MirrorLead]) -> None:
    values = (
        CustomFieldValue.objects.filter(lead_id__in=views)
        .select_related("field")
        .prefetch_related("options")
    )
    for value in values:
        options = sorted((o.kartra_id, o.value) for o in value.options.all())
        seen = Seen((value.text, options), value.observed_at)
        custom = views[value.lead_id].custom
        if value.field.kartra_id is not None:
            custom[value.field.kartra_id] = seen
        if value.field.identifier:
            custom.setdefault(value.field.identifier, seen)


def _read_flags(views: dict[int, MirrorLead]) -> None:
    """Tags, lists, sequences and memberships, by name."""
    for lead_id, name, active, at in LeadTag.objects.filter(lead_id__in=views).values_list(
        "lead_id", "tag__name", "active", "observed_at"
    ):
        views[lead_id].tags[name] = Seen(active, at)
    for lead_id, name, active, at in ListSubscription.objects.filter(lead_id__in=views).values_list(
        "lead_id", "list__name", "active", "observed_at"
    ):
        views[lead_id].lists[name] = Seen(active, at)
    for lead_id, name, status, step, at in SequenceSubscription.objects.filter(
        lead_id__in=views
    ).values_list("lead_id", "sequence__name", "status", "step", "observed_at"):
        views[lead_id].sequences[name] = Seen((status, step), at)
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
    rows = Transaction.objects.filter(lead_id__in=views).values_list(
        "lead_id", "kartra_id", "product__name", "subscription__kartra_id", "observed_at",
        *TRANSACTION_FIELDS,
    )  # fmt: skip
    for lead_id, kartra_id, product, subscription, at, *values in rows:
        fields = dict(zip(TRANSACTION_FIELDS, values, strict=True))
        fields.update(product=product, subscription=subscription)
        views[lead_id].transactions[kartra_id] = Seen(fields, at)
    subscriptions = Subscription.objects.filter(lead_id__in=views).values_list(
        "lead_id", "kartra_id", "cancelled"
    )
    for lead_id, kartra_id, cancelled in subscriptions:
        views[lead_id].subscriptions[kartra_id] = cancelled


def _read_calendars(views: dict[int, MirrorLead]) -> None:
    rows = (
        CalendarSubscription.objects.filter(lead_id__in=views)
        .select_related("calendar", "calendar_class")
        .prefetch_related("events")
    )
    for row in rows:
        views[row.lead_id].calendars.append(
            CalendarRow(
                kartra_id=row.kartra_id,
                calendar=row.calendar.name,
                calendar_class=row.calendar_class.name if row.calendar_class_id else None,
                values={
                    "status": row.status,
                    "vendor_id": row.vendor_id,
                    "vendor_timezone": row.vendor_timezone,
                    "ics_calendar_link": row.ics_calendar_link,
                    "hosts": row.hosts,
                },
                events=[[e.starts_at, e.duration_minutes] for e in row.events.all()],
                at=row.observed_at,
            )
        )


def _read_surveys(views: dict[int, MirrorLead]) -> None:
    answers = SurveyAnswer.objects.select_related("question").prefetch_related("options")
    rows = (
        SurveyResult.objects.filter(lead_id__in=views)
        .select_related("survey")
        .prefetch_related(Prefetch("answers", queryset=answers))
    )
    for row in rows:
        result = {
            "score": row.score,
            "completion_time": row.completion_time,
            "completed_at": row.completed_at,
            "answers": {
                str(a.question.kartra_id): {
                    "correct": a.correct,
                    "options": sorted(o.kartra_id for o in a.options.all()),
                }
                for a in row.answers.all()
            },
        }
        key = (row.survey.kartra_id, row.survey.name)
        views[row.lead_id].surveys[key] = Seen(result, row.observed_at)
