"""Bulk writers for the parts of a snapshot that carry Kartra ids: calendar registrations
(calendars, classes, events) and survey results (surveys, questions, options, answers).

They are the bulk counterparts of ``calendar_subscription_upsert`` and
``survey_result_upsert`` (which webhooks use, one row at a time) with the same rules: a row
observed after this observation is left alone; catalogue rows are found by Kartra id, an
id-less row of the same name is claimed, and a new name for a known id is a rename. The
number of queries does not depend on how many registrations, results, questions or options
a lead has.
"""

from collections.abc import Hashable, Sequence
from typing import Any

from django.db import models

from leads.models import (
    Calendar,
    CalendarClass,
    CalendarEvent,
    CalendarSubscription,
    Lead,
    Survey,
    SurveyAnswer,
    SurveyOption,
    SurveyQuestion,
    SurveyResult,
)
from leads.normalize import CalendarRecord, CatalogRef, SurveyRecord

from .catalog import changed_values
from .observation import Observation


def catalog_resolve_refs(
    model: type[models.Model],
    refs: Sequence[tuple[int | None, CatalogRef, dict[str, Any]]],
    *,
    parent: str | None = None,
) -> dict[tuple[int | None, int], models.Model]:
    """Resolve catalogue references that carry Kartra ids, in a constant number of queries.

    ``refs``: ``(parent pk or None, ref, extra values)``; refs without an id are skipped.
    Returns rows by ``(parent pk, kartra id)``. Extra values are written when not empty.
    """
    parent_id = f"{parent}_id" if parent else None
    wanted: dict[tuple[int | None, int], tuple[CatalogRef, dict]] = {}
    for scope, ref, extra in refs:
        if ref.kartra_id is not None:
            wanted[(scope, ref.kartra_id)] = (ref, extra)
    if not wanted:
        return {}

    def key(row: models.Model) -> tuple[int | None, int]:
        return (getattr(row, parent_id) if parent_id else None, row.kartra_id)

    def select() -> dict[tuple[int | None, int], models.Model]:
        query = model.objects.filter(kartra_id__in={k for _, k in wanted})
        if parent_id:
            query = query.filter(**{f"{parent_id}__in": {p for p, _ in wanted}})
        return {key(row): row for row in query if key(row) in wanted}

    found = select()
    missing = [k for k in wanted if k not in found]
    if missing:
        _claim_or_create(model, parent_id, missing, wanted)
        found = select()
    changed = []
    for k, row in found.items():
        ref, extra = wanted[k]
        values = {"name": ref.name, **extra}
        updates = changed_values(row, values)
        for field, value in updates.items():
            setattr(row, field, value)
        if updates:
            changed.append(row)
    if changed:
        fields = sorted({f for _, (ref, extra) in wanted.items() for f in ("name", *extra)})
        model.objects.bulk_update(changed, fields)
    return found


def _claim_or_create(model, parent_id, missing, wanted) -> None:
    """Give a missing id to the id-less row of the same name (first seen by name), else
    create the row."""
    query = model.objects.filter(
        kartra_id__isnull=True, name__in={wanted[k][0].name for k in missing}
    )
    if parent_id:
        query = query.filter(**{f"{parent_id}__in": {p for p, _ in missing}})
    unnamed = {((getattr(r, parent_id) if parent_id else None), r.name): r for r in query}
    claimed, created = [], []
    for k in missing:
        ref, extra = wanted[k]
        row = unnamed.pop((k[0], ref.name), None)
        if row is not None:
            row.kartra_id = k[1]
            claimed.append(row)
        else:
            scope = {parent_id: k[0]} if parent_id else {}
            values = {f: v for f, v in extra.items() if v is not None}
            created.append(model(kartra_id=k[1], name=ref.name, **scope, **values))
    model.objects.bulk_update(claimed, ["kartra_id"])
    model.objects.bulk_create(created, ignore_conflicts=True)


def stamp(model: type[models.Model], pks: list[int], observation: Observation) -> None:
    """Record that this observation confirmed these rows (one statement). Rows a snapshot
    confirmed unchanged still take its time, so an older delivery processed late cannot
    undo what the snapshot saw."""
    if pks:
        model.objects.filter(pk__in=pks).update(**observation.fields())


# -- calendars -----------------------------------------------------------------------------


def calendar_subscriptions_replace(
    lead: Lead, records: Sequence[CalendarRecord], *, observation: Observation
) -> None:
    """Make the lead's calendar registrations those of ``records`` (keyed by Kartra's
    subscription id): update or create them with their events, and delete the lead's
    registrations the snapshot no longer lists, except rows observed after it. A
    registration listed twice is applied once: the last listing wins."""
    numbered = {r.subscription_kartra_id: r for r in records if r.subscription_kartra_id}
    records = [r for r in records if r.subscription_kartra_id is None] + list(numbered.values())
    calendars = catalog_resolve_refs(
        Calendar,
        [
            (None, r.calendar, {"vendor_id": r.vendor_id, "vendor_timezone": r.vendor_timezone})
            for r in records
        ],
    )
    classes = catalog_resolve_refs(
        CalendarClass,
        [
            (calendars[(None, r.calendar.kartra_id)].pk, r.calendar_class, {})
            for r in records
            if r.calendar_class is not None and (None, r.calendar.kartra_id) in calendars
        ],
        parent="calendar",
    )
    rows = list(CalendarSubscription.objects.filter(lead=lead))
    by_id = {row.kartra_id: row for row in rows if row.kartra_id is not None}
    unnumbered = {(r.calendar_id, r.calendar_class_id): r for r in rows if r.kartra_id is None}
    others = {
        row.kartra_id: row
        for row in CalendarSubscription.objects.filter(
            kartra_id__in=[r.subscription_kartra_id for r in records if r.subscription_kartra_id]
        ).exclude(lead=lead)
    }
    events_now: dict[int, list] = {}
    for event in CalendarEvent.objects.filter(subscription__lead=lead).order_by("starts_at"):
        events_now.setdefault(event.subscription_id, []).append(
            (event.starts_at, event.duration_minutes)
        )
    create, changed, kept, confirmed = [], [], set(), []
    new_events: dict[int, tuple] = {}  # subscription number -> events to write
    for record in records:
        calendar = calendars.get((None, record.calendar.kartra_id))
        if calendar is None or record.subscription_kartra_id is None:
            continue  # get_lead always names both; anything else is left to webhooks
        klass = None
        if record.calendar_class is not None:
            klass = classes.get((calendar.pk, record.calendar_class.kartra_id))
        number = record.subscription_kartra_id
        row = by_id.get(number) or others.get(number)
        if row is None:
            # A webhook without a subscription id stored this registration unnumbered.
            row = unnumbered.pop((calendar.pk, klass.pk if klass else None), None)
        values = {
            "lead_id": lead.pk,
            "kartra_id": number,
            "calendar_id": calendar.pk,
            "calendar_class_id": klass.pk if klass else None,
            "status": record.status or "Active",
            "vendor_id": record.vendor_id,
            "vendor_timezone": record.vendor_timezone,
            "hosts": list(record.hosts),
            "ics_calendar_link": record.ics_calendar_link,
        }
        if row is None:
            create.append(CalendarSubscription(**values, **observation.fields()))
            if record.events:
                new_events[number] = record.events
            continue
        kept.add(row.pk)
        if observation.is_older_than(row.observed_at):
            continue
        confirmed.append(row.pk)
        diff = {k: v for k, v in values.items() if getattr(row, k) != v}
        if diff:
            for field, value in diff.items():
                setattr(row, field, value)
            changed.append(row)
        if record.events and sorted(record.events) != sorted(events_now.get(row.pk, [])):
            new_events[number] = record.events
    CalendarSubscription.objects.filter(lead=lead, observed_at__lte=observation.at).exclude(
        pk__in=kept
    ).delete()
    CalendarSubscription.objects.bulk_update(
        changed,
        ["lead", "kartra_id", "calendar", "calendar_class", "status", "vendor_id",
         "vendor_timezone", "hosts", "ics_calendar_link"],
    )  # fmt: skip
    stamp(CalendarSubscription, confirmed, observation)
    CalendarSubscription.objects.bulk_create(create)
    if new_events:
        _events_replace(new_events)


def _events_replace(events: dict[int, tuple]) -> None:
    """Write the events of these registrations (by subscription number), replacing theirs."""
    pks = dict(
        CalendarSubscription.objects.filter(kartra_id__in=events).values_list("kartra_id", "pk")
    )
    CalendarEvent.objects.filter(subscription_id__in=pks.values()).delete()
    CalendarEvent.objects.bulk_create(
        [
            CalendarEvent(subscription_id=pks[number], starts_at=start, duration_minutes=minutes)
            for number, rows in events.items()
            for start, minutes in rows
        ],
        ignore_conflicts=True,
    )


# -- surveys -------------------------------------------------------------------------------


def survey_results_replace(
    lead: Lead, records: Sequence[SurveyRecord], *, observation: Observation
) -> None:
    """Make the lead's survey results those of ``records`` (one per survey), with their
    questions, options and answers; delete results the snapshot no longer lists, except
    rows observed after it."""
    records = _one_result_per_survey(records)
    surveys = catalog_resolve_refs(
        Survey, [(None, r.survey, {"survey_type": r.survey_type}) for r in records]
    )
    records = [r for r in records if (None, r.survey.kartra_id) in surveys]
    survey_of = {id(r): surveys[(None, r.survey.kartra_id)] for r in records}
    existing = {row.survey_id: row for row in SurveyResult.objects.filter(lead=lead)}
    create, changed, applied, kept, confirmed = [], [], [], set(), []
    for record in records:
        survey = survey_of[id(record)]
        values = {
            "score": record.score,
            "completion_time": record.completion_time,
            "completed_at": record.completed_at,
        }
        row = existing.get(survey.pk)
        if row is None:
            create.append(SurveyResult(lead=lead, survey=survey, **values, **observation.fields()))
            applied.append(record)
            continue
        kept.add(row.pk)
        if observation.is_older_than(row.observed_at):
            continue
        confirmed.append(row.pk)
        diff = {k: v for k, v in values.items() if getattr(row, k) != v}
        if diff:  # a new result (a retake): its answers are written again too
            for field, value in diff.items():
                setattr(row, field, value)
            changed.append(row)
            applied.append(record)
    SurveyResult.objects.filter(lead=lead, observed_at__lte=observation.at).exclude(
        pk__in=kept
    ).delete()
    SurveyResult.objects.bulk_update(changed, ["score", "completion_time", "completed_at"])
    stamp(SurveyResult, confirmed, observation)
    SurveyResult.objects.bulk_create(create)
    if applied:
        _answers_replace(lead, applied, survey_of)


def _one_result_per_survey(records: Sequence[SurveyRecord]) -> list[SurveyRecord]:
    """The lead has one result per survey. A survey listed twice (a retake, say) keeps its
    latest completion; between listings of the same date, or without one, the last listed
    wins."""
    latest: dict[int | None, SurveyRecord] = {}
    for record in records:
        kept = latest.get(record.survey.kartra_id)
        if (
            kept is None
            or kept.completed_at is None
            or (record.completed_at is not None and record.completed_at >= kept.completed_at)
        ):
            latest[record.survey.kartra_id] = record
    return list(latest.values())


def _answers_replace(lead: Lead, records: list[SurveyRecord], survey_of: dict) -> None:
    questions = _upsert_children(
        SurveyQuestion,
        "survey",
        {
            (survey_of[id(r)].pk, a.question_kartra_id): {"title": a.question_title}
            for r in records
            for a in r.answers
        },
    )
    options = _upsert_children(
        SurveyOption,
        "question",
        {
            (questions[(survey_of[id(r)].pk, a.question_kartra_id)], o.kartra_id): {
                "value": o.value
            }
            for r in records
            for a in r.answers
            for o in a.options
        },
    )
    survey_ids = [survey_of[id(r)].pk for r in records]
    results = dict(
        SurveyResult.objects.filter(lead=lead, survey_id__in=survey_ids).values_list(
            "survey_id", "pk"
        )
    )
    SurveyAnswer.objects.filter(result_id__in=results.values()).delete()
    answers = [
        SurveyAnswer(
            result_id=results[survey_of[id(r)].pk],
            question_id=questions[(survey_of[id(r)].pk, a.question_kartra_id)],
            correct=a.correct,
        )
        for r in records
        for a in r.answers
    ]
    SurveyAnswer.objects.bulk_create(answers)
    answer_ids = {
        (result, question): pk
        for pk, result, question in SurveyAnswer.objects.filter(
            result_id__in=results.values()
        ).values_list("pk", "result_id", "question_id")
    }
    through = SurveyAnswer.options.through
    chosen = {
        (
            answer_ids[(results[survey_of[id(r)].pk], questions[(survey_of[id(r)].pk,
                                                                 a.question_kartra_id)])],
            options[(questions[(survey_of[id(r)].pk, a.question_kartra_id)], o.kartra_id)],
        )
        for r in records
        for a in r.answers
        for o in a.options
    }  # fmt: skip
    through.objects.bulk_create(
        [through(surveyanswer_id=a, surveyoption_id=o) for a, o in sorted(chosen)]
    )


def _upsert_children(
    model: type[models.Model], parent: str, wanted: dict[tuple[int, int], dict[str, Any]]
) -> dict[Hashable, int]:
    """Upsert rows unique on (parent, kartra_id); return their pks by that key."""
    if not wanted:
        return {}
    fields = sorted({f for values in wanted.values() for f in values})
    model.objects.bulk_create(
        [
            model(**{f"{parent}_id": p, "kartra_id": k}, **values)
            for (p, k), values in sorted(wanted.items())
        ],
        update_conflicts=True,
        unique_fields=[parent, "kartra_id"],
        update_fields=fields,
    )
    rows = model.objects.filter(
        **{f"{parent}_id__in": {p for p, _ in wanted}}, kartra_id__in={k for _, k in wanted}
    ).values_list("pk", f"{parent}_id", "kartra_id")
    return {(p, k): pk for pk, p, k in rows if (p, k) in wanted}
