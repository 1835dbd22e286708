"""Survey and quiz results observed by a batch, with their questions, options and answers.

A lead has one result per survey. A result this batch wrote gets its answers written again
(a retake); one a newer observation holds keeps its own. Statements per batch do not
depend on its size.
"""

from collections.abc import Hashable
from typing import Any

from django.db import connection, models

from leads.models import Lead, Survey, SurveyAnswer, SurveyOption, SurveyQuestion, SurveyResult
from leads.normalize import SurveyRecord

from .catalog import catalog_resolve_many
from .upsert import applied_keys, rows_insert, rows_upsert, upsert_observed


def surveys_write(changes, leads: dict[int, Lead]) -> dict[int, SurveyResult]:
    """Upsert the results of ``changes`` (``RecordChange`` of ``SurveyRecord``) and replace
    the answers of those this batch wrote. Returns each change's stored result, by ``id()``
    of its record."""
    changes = _latest_per_survey(changes)
    if not changes:
        return {}
    surveys = catalog_resolve_many(
        Survey,
        [((None, *_ref(c.record)), {"survey_type": c.record.survey_type}) for c in changes],
    )
    survey_of = {id(c.record): surveys[(None, *_ref(c.record))].pk for c in changes}
    rows = [
        {
            "lead_id": leads[c.lead].pk,
            "survey_id": survey_of[id(c.record)],
            "score": c.record.score,
            "completion_time": c.record.completion_time,
            "completed_at": c.record.completed_at,
            **c.observation.fields(),
        }
        for c in changes
    ]
    unique = ("lead_id", "survey_id")
    upsert_observed(
        SurveyResult, rows, unique=unique, update=("score", "completion_time", "completed_at")
    )
    written = applied_keys(SurveyResult, rows, unique=unique)
    applied = [
        (written[key], c.record)
        for c in changes
        if (key := (leads[c.lead].pk, survey_of[id(c.record)])) in written
    ]
    if applied:
        _answers_replace(applied, survey_of)
    stored = {
        (row.lead_id, row.survey_id): row
        for row in SurveyResult.objects.filter(
            lead_id__in={r["lead_id"] for r in rows}, survey_id__in=set(survey_of.values())
        ).select_related("survey")
    }
    return {
        id(c.record): stored[(leads[c.lead].pk, survey_of[id(c.record)])]
        for c in changes
        if (leads[c.lead].pk, survey_of[id(c.record)]) in stored
    }


def _ref(record: SurveyRecord) -> tuple[int | None, str]:
    return (record.survey.kartra_id, record.survey.name)


def _latest_per_survey(changes):
    """One change per lead and survey. Of a survey listed twice in one snapshot (a retake,
    say) the latest completion stands; between listings of the same date, or without one,
    the last listed. Across observations, the newest."""
    latest = {}
    for c in changes:
        key = (c.lead, c.record.survey.kartra_id, c.record.survey.name)
        kept = latest.get(key)
        if kept is None or kept.observation.at < c.observation.at or _completed_later(kept, c):
            latest[key] = c
    return list(latest.values())


def _completed_later(kept, c) -> bool:
    """``c`` lists the same survey in the same observation, completed later (or the kept
    listing has no completion date)."""
    if kept.observation != c.observation:
        return False
    if kept.record.completed_at is None:
        return True
    return c.record.completed_at is not None and c.record.completed_at >= kept.record.completed_at


def _answers_replace(applied: list[tuple[int, SurveyRecord]], survey_of: dict) -> None:
    """Write the questions and options the records name, and replace the answers of these
    results (by pk) with theirs."""
    questions = _upsert_children(
        SurveyQuestion,
        "survey",
        {
            (survey_of[id(r)], a.question_kartra_id): {"title": a.question_title}
            for _, r in applied
            for a in r.answers
        },
    )
    options = _upsert_children(
        SurveyOption,
        "question",
        {
            (questions[(survey_of[id(r)], a.question_kartra_id)], o.kartra_id): {"value": o.value}
            for _, r in applied
            for a in r.answers
            for o in a.options
        },
    )
    results = [pk for pk, _ in applied]
    old = SurveyAnswer.objects.filter(result_id__in=results)
    through = SurveyAnswer.options.through
    through.objects.filter(surveyanswer__in=old).delete()
    # Their options gone, the answers go in one statement; Django's delete() would read
    # them first and delete them a hundred at a time.
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {connection.ops.quote_name(SurveyAnswer._meta.db_table)} "
            f"WHERE result_id IN ({', '.join(['%s'] * len(results))})",
            results,
        )
    answers = {
        (pk, questions[(survey_of[id(r)], a.question_kartra_id)]): a
        for pk, r in applied
        for a in r.answers
    }
    rows_insert(
        SurveyAnswer,
        [
            {"result_id": result, "question_id": question, "correct": a.correct}
            for (result, question), a in answers.items()
        ],
    )
    answer_ids = {
        (result, question): pk
        for pk, result, question in SurveyAnswer.objects.filter(result_id__in=results).values_list(
            "pk", "result_id", "question_id"
        )
    }
    chosen = sorted(
        {
            (answer_ids[(result, question)], options[(question, o.kartra_id)])
            for (result, question), a in answers.items()
            for o in a.options
        }
    )
    rows_insert(through, [{"surveyanswer_id": a, "surveyoption_id": o} for a, o in chosen])


def _upsert_children(
    model: type[models.Model], parent: str, wanted: dict[tuple[int, int], dict[str, Any]]
) -> dict[Hashable, int]:
    """Upsert rows unique on (parent, kartra_id); return their pks by that key."""
    if not wanted:
        return {}
    fields = sorted({f for values in wanted.values() for f in values})
    rows_upsert(
        model,
        [{f"{parent}_id": p, "kartra_id": k, **values} for (p, k), values in wanted.items()],
        unique=[f"{parent}_id", "kartra_id"],
        update=fields,
    )
    rows = model.objects.filter(
        **{f"{parent}_id__in": {p for p, _ in wanted}}, kartra_id__in={k for _, k in wanted}
    ).values_list("pk", f"{parent}_id", "kartra_id")
    return {(p, k): pk for pk, p, k in rows if (p, k) in wanted}
