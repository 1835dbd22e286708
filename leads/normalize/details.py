"""Catalogue references, memberships, calendars and surveys, shared by webhooks and
``get_lead``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .customfields import parse_options
from .errors import PayloadError
from .records import (
    AnswerRecord,
    CalendarRecord,
    CatalogRef,
    MembershipRecord,
    SurveyRecord,
)
from .values import (
    INT,
    SMALLINT,
    as_list,
    child,
    first_key,
    is_empty,
    open_choice,
    require_dict,
    to_datetime,
    to_decimal,
    to_id,
    to_int,
    to_ref_id,
    to_text,
)

CATALOG_NAME_MAX = 255  # CatalogItem.name, MembershipLevel.name, CalendarClass.name
ASSET_NAME_MAX = 512  # Asset.name: pages, forms, videos, tracking and split test links
QUESTION_TITLE_MAX = 1024  # SurveyQuestion.title
TIMEZONE_MAX = 64  # Calendar.vendor_timezone
ICS_LINK_MAX = 1024  # CalendarSubscription.ics_calendar_link
CALENDAR_STATUS_MAX = 64  # CalendarSubscription.status
SURVEY_TYPE_MAX = 64  # Survey.survey_type

#: 002's five statuses; any other is kept as sent (``open_choice``).
CALENDAR_STATUSES = {
    "active": "Active",
    "pending": "Pending",
    "completed": "Completed",
    "declined": "Declined",
    "cancelled": "Cancelled",
    "canceled": "Cancelled",
}

#: 002 documents ``survey_type`` as 1 (survey) or 2 (quiz); the words are accepted too and any
#: other value is kept as sent.
SURVEY_TYPES = {"1": "survey", "2": "quiz", "survey": "survey", "quiz": "quiz"}


def parse_optional_ref(
    obj: dict,
    path: str,
    id_key: str,
    name_keys: tuple[str, ...],
    *,
    max_length: int = CATALOG_NAME_MAX,
) -> CatalogRef | None:
    """``CatalogRef`` from ``obj[id_key]`` and the first of ``name_keys`` present, or
    ``None`` when there is neither an id (0 and empty mean none) nor a name."""
    kartra_id = to_ref_id(obj.get(id_key), child(path, id_key))
    name_key, name_value = first_key(obj, *name_keys)
    name = to_text(name_value, child(path, name_key or name_keys[0]), max_length)
    if kartra_id is None and not name:
        return None
    return CatalogRef(kartra_id=kartra_id, name=name)


def parse_ref(
    obj: dict,
    path: str,
    id_key: str,
    name_keys: tuple[str, ...],
    *,
    max_length: int = CATALOG_NAME_MAX,
) -> CatalogRef:
    """Like :func:`parse_optional_ref`, but a reference with neither id nor name is a
    :class:`PayloadError`."""
    ref = parse_optional_ref(obj, path, id_key, name_keys, max_length=max_length)
    if ref is None:
        raise PayloadError(path, obj, f"needs {id_key} or {name_keys[0]}")
    return ref


def parse_membership(obj: Any, path: str) -> MembershipRecord:
    """``{membership_id, membership_name, level_id, level_name}`` (001, membership_granted /
    membership_revoked). External memberships have no level: ``level`` is ``None`` when
    neither a level id (0 and empty count as none) nor a level name is given."""
    obj = require_dict(obj, path)
    membership = parse_ref(obj, path, "membership_id", ("membership_name",))
    level = parse_optional_ref(obj, path, "level_id", ("level_name",))
    return MembershipRecord(membership=membership, level=level)


def _hosts(value: Any, path: str) -> tuple[dict, ...]:
    hosts = []
    for index, item in enumerate(as_list(value, path)):
        item_path = child(path, index)
        host = require_dict(item, item_path)
        hosts.append(
            {
                "first_name": to_text(
                    host.get("host_first_name"), child(item_path, "host_first_name")
                ),
                "last_name": to_text(
                    host.get("host_last_name"), child(item_path, "host_last_name")
                ),
                "email": to_text(
                    host.get("host_email_address"), child(item_path, "host_email_address")
                ),
            }
        )
    return tuple(hosts)


def _events(value: Any, path: str) -> tuple[tuple[datetime, int | None], ...]:
    """``[{event_date: "YYYY-MM-DD HH:MM" (EST), event_duration: minutes}]`` (002)."""
    events = []
    for index, item in enumerate(as_list(value, path)):
        item_path = child(path, index)
        event = require_dict(item, item_path)
        date_path = child(item_path, "event_date")
        starts_at = to_datetime(event.get("event_date"), date_path)
        if starts_at is None:
            raise PayloadError(date_path, event.get("event_date"), "value required")
        duration = to_int(event.get("event_duration"), child(item_path, "event_duration"), bits=INT)
        events.append((starts_at, duration))
    return tuple(events)


def parse_calendar(obj: Any, path: str) -> CalendarRecord:
    """A calendar registration.

    Webhooks (001, calendar_subscribe/complete/cancel) send ``calendar_id``,
    ``calendar_name``, ``class_id``, ``class_name`` and, per ``kartra-facts.md``, maybe
    ``hosts``, ``vendor_timezone``, ``calendar_subscription_id``, ``events``. ``get_lead``
    (002) adds ``subscription_id``, ``calendar_subscription_status``, ``vendor_id`` and
    ``ics_calendar_link``.
    """
    obj = require_dict(obj, path)
    calendar = parse_ref(obj, path, "calendar_id", ("calendar_name",))
    calendar_class = parse_optional_ref(obj, path, "class_id", ("class_name",))
    sub_key, sub_value = first_key(obj, "subscription_id", "calendar_subscription_id")
    status_value = obj.get("calendar_subscription_status")
    status = None
    if not is_empty(status_value):
        status = open_choice(
            status_value,
            child(path, "calendar_subscription_status"),
            CALENDAR_STATUSES,
            CALENDAR_STATUS_MAX,
        )
    return CalendarRecord(
        calendar=calendar,
        calendar_class=calendar_class,
        subscription_kartra_id=to_ref_id(sub_value, child(path, sub_key or "subscription_id")),
        status=status,
        vendor_id=to_ref_id(obj.get("vendor_id"), child(path, "vendor_id")),
        vendor_timezone=to_text(
            obj.get("vendor_timezone"), child(path, "vendor_timezone"), TIMEZONE_MAX
        ),
        hosts=_hosts(obj.get("hosts"), child(path, "hosts")),
        events=_events(obj.get("events"), child(path, "events")),
        ics_calendar_link=to_text(
            obj.get("ics_calendar_link"), child(path, "ics_calendar_link"), ICS_LINK_MAX
        ),
    )


def _correct(value: Any, field: str) -> int:
    """``question_correct``: 0 not subject to score, 1 correct, 2 incorrect (002)."""
    number = to_int(value, field, bits=SMALLINT)
    if number is None:
        return 0
    if number not in (0, 1, 2):
        raise PayloadError(field, value, "expected 0, 1 or 2")
    return number


def _answer(item: Any, path: str) -> AnswerRecord:
    question = require_dict(item, path)
    options = parse_options(question.get("answers"), child(path, "answers"))
    return AnswerRecord(
        question_kartra_id=to_id(question.get("question_id"), child(path, "question_id")),
        question_title=to_text(
            question.get("question_title"), child(path, "question_title"), QUESTION_TITLE_MAX
        ),
        correct=_correct(question.get("question_correct"), child(path, "question_correct")),
        options=options,
    )


def parse_survey(obj: Any, path: str) -> SurveyRecord:
    """A survey or quiz result: 002's ``surveys`` entries and the ``survey_complete``
    webhook's ``survey`` (``kartra-facts.md``). ``survey_score`` ``"N/A"`` (surveys that are
    not quizzes) -> ``None``; ``survey_type`` ``1``/``2`` -> ``"survey"``/``"quiz"``."""
    obj = require_dict(obj, path)
    survey = parse_ref(obj, path, "survey_id", ("survey_name",))
    questions = as_list(obj.get("questions"), child(path, "questions"))
    # A question listed twice is answered once (a lead has one answer per question): the
    # last listing wins, in the place of the first.
    answers: dict[int, AnswerRecord] = {}
    for index, item in enumerate(questions):
        answer = _answer(item, child(child(path, "questions"), index))
        answers[answer.question_kartra_id] = answer
    return SurveyRecord(
        survey=survey,
        survey_type=open_choice(
            obj.get("survey_type"), child(path, "survey_type"), SURVEY_TYPES, SURVEY_TYPE_MAX
        )
        or None,
        score=to_decimal(obj.get("survey_score"), child(path, "survey_score"), max_digits=12),
        completion_time=to_int(
            obj.get("survey_completion_time"), child(path, "survey_completion_time"), bits=INT
        ),
        completed_at=to_datetime(
            obj.get("survey_completion_date"), child(path, "survey_completion_date")
        ),
        answers=tuple(answers.values()),
    )
