"""The leads' custom field value filter: ``custom_field`` (an identifier), ``custom_value``."""

import pytest
from django.db import connection

from leads.models import FieldType, Lead
from leads.selectors import leads_with_custom_value
from tests import factories as f
from tests.kartra_mirror.api.conftest import get, results

pytestmark = pytest.mark.django_db


@pytest.fixture
def values(db):
    city = f.CustomFieldFactory(identifier="city", field_type=FieldType.TEXT_AREA)
    plan = f.CustomFieldFactory(identifier="plan", field_type=FieldType.CHECKBOX)
    gold, silver = (
        f.CustomFieldOptionFactory(field=plan, value=value) for value in ("Gold", "Silver")
    )
    leads = {name: f.LeadFactory(email=f"{name}@example.com") for name in ("ada", "bo", "cy")}
    f.CustomFieldValueFactory(lead=leads["ada"], field=city, text="New York")
    f.CustomFieldValueFactory(lead=leads["bo"], field=city, text="New York City")
    f.CustomFieldValueFactory(lead=leads["ada"], field=plan, text="", options=[gold, silver])
    f.CustomFieldValueFactory(lead=leads["bo"], field=plan, text="", options=[silver])
    f.CustomFieldValueFactory(lead=leads["cy"], field=city, text="")
    return leads


def emails(client, **params) -> set[str]:
    return {row["email"] for row in results(client, "leads/", **params)}


def test_text_field_matches_the_whole_text_in_any_case(client_reader, values):
    assert emails(client_reader, custom_field="city", custom_value="new york") == {
        "ada@example.com"
    }
    assert emails(client_reader, custom_field="city", custom_value="York") == set()


def test_choice_field_matches_one_of_the_chosen_options(client_reader, values):
    assert emails(client_reader, custom_field="plan", custom_value="silver") == {
        "ada@example.com",
        "bo@example.com",
    }
    assert emails(client_reader, custom_field="plan", custom_value="GOLD") == {"ada@example.com"}
    assert emails(client_reader, custom_field="plan", custom_value="Bronze") == set()


def test_field_alone_is_any_value_in_it(client_reader, values):
    assert emails(client_reader, custom_field="city") == {"ada@example.com", "bo@example.com"}
    assert emails(client_reader, custom_field="plan") == {"ada@example.com", "bo@example.com"}


def test_with_other_filters(client_reader, values):
    tag = f.TagFactory(name="VIP")
    f.LeadTagFactory(lead=values["bo"], tag=tag)
    params = {"custom_field": "plan", "custom_value": "Silver", "tag": "VIP"}
    assert emails(client_reader, **params) == {"bo@example.com"}


def test_unknown_field_matches_no_lead(client_reader, values):
    assert emails(client_reader, custom_field="nope", custom_value="x") == set()


def test_a_value_needs_its_field(client_reader, values):
    response = get(client_reader, "leads/", custom_value="Gold")
    assert response.status_code == 400
    assert set(response.json()) == {"custom_value"}


@pytest.mark.postgres
def test_text_match_is_served_by_its_index(values):
    """The query is written as the partial expression index of 0007 is, so PostgreSQL can
    use it (the planner is told not to scan, as it would on a table this small)."""
    field = values["ada"].custom_values.get(field__identifier="city").field
    leads = leads_with_custom_value(Lead.objects.all(), field=field, value="New York")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = leads.explain()
    assert "customvalue_text_md5_idx" in plan
    assert [lead.email for lead in leads] == ["ada@example.com"]
