"""One meaning of ``id``: every row of a mirrored Kartra object shows Kartra's id as ``id``
(null where Kartra has given none) and a ``url`` that leads to that very row; the mirror's
primary keys never appear as an ``id`` (only its own records, activity, deliveries and sync
runs, show theirs)."""

from urllib.parse import urlparse

import pytest
from django.apps import apps
from django.db.models import F

from kartra_mirror.api.urls import router
from leads.models import Lead, Tag
from tests import factories as f

from .conftest import API, detail_url, results
from .test_access import ENDPOINTS
from .test_queries import lead_with_relations

pytestmark = pytest.mark.django_db

# Kartra ids are moved this far above every primary key the test makes, so that an ``id``
# that is a primary key cannot pass for a Kartra id.
SHIFT = 10**12
OWN_RECORDS = ("activity", "changes", "deliveries", "sync-runs")  # their id is the mirror's own


@pytest.fixture
def account(db):
    """A row of every kind, the relations a lead's detail shows, and rows Kartra has not
    numbered yet: a lead imported by email holding a tag seen by name only."""
    for make, _, _ in ENDPOINTS.values():
        make()
    lead_with_relations(1)  # with custom field options, survey questions and options
    f.PricePointFactory()
    pending = f.LeadFactory(kartra_id=None, email="imported@example.com")
    f.LeadTagFactory(lead=pending, tag=f.TagFactory(kartra_id=None, name="Seen by name"))
    f.CalendarSubscriptionFactory(kartra_id=None)
    lead = f.LeadFactory()
    f.DeliveryFactory(lead=lead, lead_kartra_id=lead.kartra_id)
    for model in apps.get_app_config("leads").get_models():
        if any(field.name == "kartra_id" for field in model._meta.fields):
            model.objects.update(kartra_id=F("kartra_id") + SHIFT)
    return pending


def endpoint_of(url: str) -> str:
    path = urlparse(url).path
    assert path.startswith(API), url
    return path.removeprefix(API).split("/")[0]


def nested_rows(value):
    """Every dict inside an answer (its rows and the rows nested in them), depth first."""
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from nested_rows(item)
    elif isinstance(value, list):
        for item in value:
            yield from nested_rows(item)


def assert_ids_are_kartras(body) -> None:
    for row in nested_rows(body):
        if "id" not in row:
            continue
        if "url" in row and endpoint_of(row["url"]) in OWN_RECORDS:
            assert row["id"] < SHIFT, row  # the mirror's own record: its own id
        else:
            assert row["id"] is None or row["id"] >= SHIFT, f"a primary key as id: {row}"


def test_every_row_of_every_list_leads_to_itself(client_staff, account):
    pointed_at = {}  # url -> id, of every row nested in another
    for prefix, _, _ in router.registry:
        rows = results(client_staff, f"{prefix}/")
        assert rows, f"{prefix}: nothing listed"
        for row in rows:
            assert {"id", "url"} <= set(row), prefix
            assert endpoint_of(row["url"]) == prefix
            response = client_staff.get(row["url"])
            assert response.status_code == 200, row["url"]
            detail = response.json()
            assert {key: detail[key] for key in row} == row  # the same row, in full
            assert_ids_are_kartras(row)
            assert_ids_are_kartras(detail)
            for nested in nested_rows(detail):
                if "url" in nested and nested is not detail:
                    pointed_at[nested["url"]] = nested["id"]

    # Rows point at others (a transaction at its lead, a lead at its tags, a calendar at its
    # classes): each of those urls leads to the row with that id.
    assert {endpoint_of(url) for url in pointed_at} >= {
        "leads",
        "tags",
        "lists",
        "sequences",
        "memberships",
        "membership-levels",
        "products",
        "transactions",
        "calendars",
        "calendar-classes",
        "calendar-subscriptions",
        "surveys",
        "survey-results",
        "assets",
        "activity",
    }
    for url, row_id in pointed_at.items():
        detail = client_staff.get(url).json()
        assert (detail["url"], detail["id"]) == (url, row_id)


def test_rows_kartra_has_not_numbered_are_addressed_by_mirror_key(client_staff, account):
    pending, tag = account, Tag.objects.get(name="Seen by name")
    leads = {row["url"]: row for row in results(client_staff, "leads/")}
    lead_url = detail_url(f"leads/mirror-{pending.pk}/")
    assert leads[lead_url]["id"] is None
    detail = client_staff.get(lead_url).json()
    assert detail["email"] == "imported@example.com"
    tag_url = detail_url(f"tags/mirror-{tag.pk}/")
    assert detail["tags"] == [
        {
            "id": None,
            "url": tag_url,
            "name": "Seen by name",
            "observed_at": detail["tags"][0]["observed_at"],
        }
    ]
    assert client_staff.get(tag_url).json()["name"] == "Seen by name"
    # A bare number is a Kartra id, never a primary key.
    assert client_staff.get(f"{API}leads/{pending.pk}/").status_code == 404
    assert client_staff.get(f"{API}tags/{tag.pk}/").status_code == 404


def test_a_lead_is_addressed_by_its_kartra_id_once_it_has_one(client_staff, account):
    lead = Lead.objects.exclude(kartra_id=None).first()
    by_id = client_staff.get(f"{API}leads/{lead.kartra_id}/").json()
    by_key = client_staff.get(f"{API}leads/mirror-{lead.pk}/").json()
    assert by_id == by_key
    assert by_id["url"] == detail_url(f"leads/{lead.kartra_id}/")
