"""Calendar subscriptions and survey results: a lead's state, listed across leads."""

import pytest

from leads.models import CalendarStatus
from tests import factories as f

from .conftest import get, ids, results

pytestmark = pytest.mark.django_db


def test_calendar_subscriptions_filters_and_events(client_reader):
    event = f.CalendarEventFactory(subscription__lead__kartra_id=5)
    mine = event.subscription
    other = f.CalendarSubscriptionFactory(status=CalendarStatus.CANCELLED)
    assert ids(client_reader, "calendar-subscriptions/", lead=5) == [mine.id]
    assert ids(client_reader, "calendar-subscriptions/", calendar=other.calendar.kartra_id) == [
        other.id
    ]
    assert ids(client_reader, "calendar-subscriptions/", status="Cancelled") == [other.id]
    assert ids(client_reader, "calendar-subscriptions/", kartra_id=mine.kartra_id) == [mine.id]
    body = get(client_reader, f"calendar-subscriptions/{mine.id}/").json()
    assert body["lead"]["kartra_id"] == 5
    assert body["events"][0]["duration_minutes"] == 30
    assert body["calendar_class"]["name"] == mine.calendar_class.name
    assert ids(client_reader, "calendar-subscriptions/", ordering="id") == [mine.id, other.id]


def test_survey_results_filters_and_answers(client_reader):
    answer = f.SurveyAnswerFactory(result__lead__kartra_id=8)
    answer.options.add(f.SurveyOptionFactory(question=answer.question, value="Daily"))
    other = f.SurveyResultFactory()
    mine = answer.result
    assert ids(client_reader, "survey-results/", lead=8) == [mine.id]
    assert ids(client_reader, "survey-results/", survey=other.survey.kartra_id) == [other.id]
    (row,) = results(client_reader, "survey-results/", lead=8)
    assert row["survey"]["name"] == mine.survey.name
    assert row["answers"][0]["options"][0]["value"] == "Daily"
    assert row["score"] == "80.00"
