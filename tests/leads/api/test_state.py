"""Calendar subscriptions and survey results: a lead's state, listed across leads."""

import pytest

from leads.models import CalendarStatus
from tests import factories as f
from tests.kartra_mirror.api.conftest import detail_url, get, ids, results

pytestmark = pytest.mark.django_db


def test_calendar_subscriptions_filters_and_events(client_reader):
    event = f.CalendarEventFactory(subscription__lead__kartra_id=5)
    mine = event.subscription
    other = f.CalendarSubscriptionFactory(status=CalendarStatus.CANCELLED)
    unnumbered = f.CalendarSubscriptionFactory(kartra_id=None)  # a webhook without the id
    path = "calendar-subscriptions/"
    assert ids(client_reader, path, lead=5) == [mine.kartra_id]
    assert ids(client_reader, path, calendar=other.calendar.kartra_id) == [other.kartra_id]
    assert ids(client_reader, path, status="Cancelled") == [other.kartra_id]
    assert ids(client_reader, path, id=mine.kartra_id) == [mine.kartra_id]
    body = get(client_reader, f"{path}{mine.kartra_id}/").json()
    assert body["url"] == detail_url(f"{path}{mine.kartra_id}/")
    assert body["lead"]["id"] == 5
    assert body["events"][0]["duration_minutes"] == 30
    assert body["calendar_class"]["name"] == mine.calendar_class.name
    assert body["calendar_class"]["url"] == detail_url(
        f"calendar-classes/mirror-{mine.calendar_class.pk}/"
    )
    assert ids(client_reader, path, ordering="id") == [mine.kartra_id, other.kartra_id, None]
    (row,) = results(client_reader, path, lead=unnumbered.lead.kartra_id)
    assert row["id"] is None and row["url"] == detail_url(f"{path}mirror-{unnumbered.pk}/")


def test_survey_results_filters_and_answers(client_reader):
    answer = f.SurveyAnswerFactory(result__lead__kartra_id=8)
    answer.options.add(f.SurveyOptionFactory(question=answer.question, value="Daily"))
    other = f.SurveyResultFactory()
    mine = answer.result
    assert ids(client_reader, "survey-results/", key="url", lead=8) == [
        detail_url(f"survey-results/mirror-{mine.pk}/")
    ]
    assert ids(client_reader, "survey-results/", key="url", survey=other.survey.kartra_id) == [
        detail_url(f"survey-results/mirror-{other.pk}/")
    ]
    (row,) = results(client_reader, "survey-results/", lead=8)
    assert row["id"] is None  # Kartra gives a survey result no id
    assert row["lead"]["id"] == 8
    assert row["survey"]["name"] == mine.survey.name
    assert row["survey"]["id"] == mine.survey.kartra_id
    assert row["answers"][0]["options"][0]["value"] == "Daily"
    assert row["score"] == "80.00"
