"""Pinned SQL query counts: no endpoint issues a query per row or per relation.

Each count covers the whole request: the token with its user and the user's permissions (1),
the page (1), and one query per prefetched relation. A count that grows with
the number of rows or relations is an N+1 regression.
"""

import pytest

from tests import factories as f

from .conftest import API
from .test_access import ENDPOINTS

pytestmark = pytest.mark.django_db

AUTH = 1  # the token, its user and the user's permissions (kartra_mirror/auth.py)

# endpoint -> queries for one list page (beyond AUTH)
LIST_QUERIES = {
    "leads": 1,
    "custom-fields": 2,  # + options
    "tags": 1,
    "lists": 1,
    "sequences": 1,
    "memberships": 2,  # + levels
    "membership-levels": 1,
    "products": 2,  # + price points
    "transactions": 1,
    "subscriptions": 1,
    "calendars": 2,  # + classes
    "calendar-classes": 1,
    "calendar-subscriptions": 2,  # + events
    "surveys": 3,  # + questions + their options
    "survey-results": 3,  # + answers (with questions) + their options
    "assets": 1,
    "activity": 1,
    "changes": 1,
    "deliveries": 1,
    "sync-runs": 1,
}

# Relations that make the nested lists of each endpoint's rows longer.
NESTED = {
    "custom-fields": lambda row: f.CustomFieldOptionFactory(field=row),
    "memberships": lambda row: f.MembershipLevelFactory(membership=row),
    "products": lambda row: f.PricePointFactory(product=row),
    "calendars": lambda row: f.CalendarClassFactory(calendar=row),
    "calendar-subscriptions": lambda row: f.CalendarEventFactory(subscription=row),
    "surveys": lambda row: f.SurveyOptionFactory(question__survey=row),
    "survey-results": lambda row: f.SurveyAnswerFactory(
        result=row, options=[f.SurveyOptionFactory()]
    ),
}


@pytest.mark.parametrize("rows", [2, 20])
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_list_query_count_is_pinned(client_staff, django_assert_num_queries, endpoint, rows):
    make = ENDPOINTS[endpoint][0]
    for row in make.create_batch(rows):
        for _ in range(rows // 2):
            if endpoint in NESTED:
                NESTED[endpoint](row)
    with django_assert_num_queries(AUTH + LIST_QUERIES[endpoint]):
        response = client_staff.get(f"{API}{endpoint}/", {"page_size": rows})
    assert response.status_code == 200
    assert len(response.json()["results"]) == rows


# The lead, then one query per relation: custom values, their options, tags, lists,
# sequences, memberships, transactions, calendar subscriptions, their events, survey
# results, their answers, the answers' options, the affiliate/JV sign-ups (with their
# products), the latest activity.
LEAD_DETAIL_QUERIES = 1 + 14


def _custom_value(lead):
    option = f.CustomFieldOptionFactory()
    return f.CustomFieldValueFactory(lead=lead, field=option.field, options=[option])


def _survey_answer(lead):
    answer = f.SurveyAnswerFactory(result__lead=lead)
    answer.options.add(f.SurveyOptionFactory(question=answer.question))
    return answer


# One row of each relation the lead detail shows, with the nested rows it shows as well.
LEAD_RELATIONS = {
    "tags": lambda lead: f.LeadTagFactory(lead=lead),
    "lists": lambda lead: f.ListSubscriptionFactory(lead=lead),
    "sequences": lambda lead: f.SequenceSubscriptionFactory(lead=lead),
    "memberships": lambda lead: f.MembershipAccessFactory(lead=lead),
    "custom_fields": _custom_value,
    "transactions": lambda lead: f.TransactionFactory(lead=lead),
    "calendar_subscriptions": lambda lead: f.CalendarEventFactory(subscription__lead=lead),
    "survey_results": _survey_answer,
    "signups": lambda lead: f.ProductSignupFactory(lead=lead),
    "activity": lambda lead: f.ActivityFactory(
        lead=lead, product=f.ProductFactory(), transaction=f.TransactionFactory()
    ),
}


def lead_with_relations(count: int):
    lead = f.LeadFactory()
    for _ in range(count):
        for make in LEAD_RELATIONS.values():
            make(lead)
    return lead


@pytest.mark.parametrize("relations", [2, 20])
def test_lead_detail_query_count_is_pinned(client_reader, django_assert_num_queries, relations):
    lead = lead_with_relations(relations)
    with django_assert_num_queries(AUTH + LEAD_DETAIL_QUERIES):
        response = client_reader.get(f"{API}leads/{lead.kartra_id}/")
    assert response.status_code == 200
    assert len(response.json()["tags"]) == relations
