"""A detail prefetches only the relations its row has; the others are empty without a
query, and the answer is the one a full prefetch gives."""

import pytest
from rest_framework.test import APIRequestFactory

from leads.api.serializers import LeadDetailSerializer
from leads.models import Lead
from tests import factories as f
from tests.kartra_mirror.api.conftest import API
from tests.kartra_mirror.api.test_queries import AUTH, LEAD_RELATIONS

pytestmark = pytest.mark.django_db

RELATIONS = {
    **LEAD_RELATIONS,
    "inactive_tags": lambda lead: f.LeadTagFactory(lead=lead, active=False),
}


def fully_prefetched(lead: Lead) -> dict:
    """The detail as a plain prefetch of every relation renders it."""
    queryset = Lead.objects.prefetch_related(*LeadDetailSerializer.Meta.prefetch_related)
    request = APIRequestFactory().get("/")
    return LeadDetailSerializer(queryset.get(pk=lead.pk), context={"request": request}).data


@pytest.mark.parametrize(
    "kinds",
    [(), ("tags",), ("inactive_tags",), ("lists", "transactions"), tuple(RELATIONS)],
    ids=lambda kinds: "+".join(kinds) or "none",
)
def test_detail_equals_a_full_prefetch(client_reader, kinds):
    lead = f.LeadFactory()
    for kind in kinds:
        RELATIONS[kind](lead)
    response = client_reader.get(f"{API}leads/{lead.kartra_id}/")
    assert response.status_code == 200
    assert response.json() == fully_prefetched(lead)


def test_lead_without_relations_costs_the_lead_and_its_activity(
    client_reader, django_assert_num_queries
):
    lead = f.LeadFactory()
    with django_assert_num_queries(AUTH + 2):  # the lead (with what it has), latest activity
        body = client_reader.get(f"{API}leads/{lead.kartra_id}/").json()
    assert body["custom_fields"] == {}
    for relation in ("tags", "lists", "sequences", "memberships", "transactions"):
        assert body[relation] == [], relation
    assert body["calendar_subscriptions"] == [] and body["survey_results"] == []


def test_each_relation_held_costs_its_query(client_reader, django_assert_num_queries):
    lead = f.LeadFactory()
    RELATIONS["tags"](lead)
    RELATIONS["inactive_tags"](lead)  # the same relation: still one query
    RELATIONS["transactions"](lead)
    with django_assert_num_queries(AUTH + 2 + 2):
        body = client_reader.get(f"{API}leads/{lead.kartra_id}/").json()
    assert len(body["tags"]) == 1 and len(body["transactions"]) == 1
    assert body["lists"] == []


def test_presence_is_asked_of_reverse_foreign_keys_only():
    from django.db.models import Prefetch

    from kartra_mirror.api.prefetch import presence_annotations
    from leads.models import CustomFieldValue, Survey

    lead_relations = presence_annotations(Lead, LeadDetailSerializer.Meta.prefetch_related)
    assert set(lead_relations) == {
        "_has_custom_values",
        "_has_tag_links",
        "_has_list_subscriptions",
        "_has_sequence_subscriptions",
        "_has_memberships",
        "_has_transactions",
        "_has_calendar_subscriptions",
        "_has_survey_results",
        "_has_product_signups",
    }
    assert set(presence_annotations(Survey, ["questions", "questions__options"])) == {
        "_has_questions"
    }
    assert presence_annotations(CustomFieldValue, [Prefetch("options")]) == {}  # many-to-many


def test_survey_detail_with_and_without_questions(client_staff, django_assert_num_queries):
    bare = f.SurveyFactory()
    full = f.SurveyOptionFactory(question__survey=f.SurveyFactory()).question.survey
    with django_assert_num_queries(AUTH + 1):
        assert client_staff.get(f"{API}surveys/{bare.kartra_id}/").json()["questions"] == []
    with django_assert_num_queries(AUTH + 3):  # the survey, its questions, their options
        questions = client_staff.get(f"{API}surveys/{full.kartra_id}/").json()["questions"]
    assert len(questions) == 1 and len(questions[0]["options"]) == 1
