"""Catalogue endpoints: tags, lists, sequences, memberships and levels, products, calendars
and classes, surveys, custom fields, assets."""

import pytest

from leads.models import AssetKind, FieldType
from tests import factories as f

from .conftest import get, ids, results

pytestmark = pytest.mark.django_db

CATALOGS = {
    "tags": f.TagFactory,
    "lists": f.ListFactory,
    "sequences": f.SequenceFactory,
    "memberships": f.MembershipFactory,
    "products": f.ProductFactory,
    "calendars": f.CalendarFactory,
    "surveys": f.SurveyFactory,
}


@pytest.mark.parametrize("endpoint", CATALOGS)
def test_catalog_filters_by_kartra_id_and_name(client_reader, endpoint):
    make = CATALOGS[endpoint]
    alpha, beta = make(name="Alpha"), make(name="Beta")
    make(name="Gamma", kartra_id=None)  # known by name only
    assert ids(client_reader, f"{endpoint}/", name="Beta") == [beta.id]
    assert ids(client_reader, f"{endpoint}/", kartra_id=alpha.kartra_id) == [alpha.id]
    assert get(client_reader, f"{endpoint}/{beta.kartra_id}/").json()["name"] == "Beta"


@pytest.mark.parametrize("endpoint", CATALOGS)
def test_catalog_orders_by_name_then_id(client_reader, endpoint):
    make = CATALOGS[endpoint]
    rows = [make(name=name) for name in ("b", "a", "c")]
    by_name = [row.id for row in sorted(rows, key=lambda row: row.name)]
    assert ids(client_reader, f"{endpoint}/") == by_name
    assert ids(client_reader, f"{endpoint}/", ordering="-name") == by_name[::-1]
    by_kartra_id = [row.id for row in sorted(rows, key=lambda row: row.kartra_id)]
    assert ids(client_reader, f"{endpoint}/", ordering="kartra_id") == by_kartra_id


def test_membership_lists_its_levels(client_reader):
    gold = f.MembershipLevelFactory(name="Gold")
    f.MembershipLevelFactory(name="Silver", membership=gold.membership)
    (row,) = results(client_reader, "memberships/")
    assert sorted(level["name"] for level in row["levels"]) == ["Gold", "Silver"]


def test_membership_levels_filter_by_membership(client_reader):
    gold = f.MembershipLevelFactory()
    f.MembershipLevelFactory()
    assert ids(client_reader, "membership-levels/", membership=gold.membership.kartra_id) == [
        gold.id
    ]
    assert ids(client_reader, "membership-levels/", kartra_id=gold.kartra_id) == [gold.id]
    assert get(client_reader, f"membership-levels/{gold.id}/").json()["membership"]["name"]


def test_product_lists_its_price_points(client_reader):
    point = f.PricePointFactory(number="3")
    (row,) = results(client_reader, "products/")
    assert row["official_name"] == point.product.official_name
    assert row["price_points"] == [{"id": point.id, "number": "3"}]


def test_calendar_lists_its_classes_and_classes_filter_by_calendar(client_reader):
    klass = f.CalendarClassFactory(name="Intro call")
    f.CalendarClassFactory()
    rows = {row["id"]: row for row in results(client_reader, "calendars/")}
    assert rows[klass.calendar.id]["classes"][0]["name"] == "Intro call"
    assert ids(client_reader, "calendar-classes/", calendar=klass.calendar.kartra_id) == [klass.id]
    assert ids(client_reader, "calendar-classes/", kartra_id=klass.kartra_id) == [klass.id]


def test_survey_lists_questions_and_options(client_reader):
    option = f.SurveyOptionFactory(value="Often")
    (row,) = results(client_reader, "surveys/")
    (question,) = row["questions"]
    assert question["kartra_id"] == option.question.kartra_id
    assert question["options"] == [
        {"id": option.id, "kartra_id": option.kartra_id, "value": "Often"}
    ]


def test_custom_fields_with_options_and_filters(client_reader):
    option = f.CustomFieldOptionFactory(field__identifier="colour", value="Blue")
    text = f.CustomFieldFactory(identifier="bio", field_type=FieldType.TEXT_AREA)
    rows = results(client_reader, "custom-fields/")
    assert [row["identifier"] for row in rows] == ["bio", "colour"]
    assert rows[1]["options"][0]["value"] == "Blue"
    assert ids(client_reader, "custom-fields/", identifier="bio") == [text.id]
    assert ids(client_reader, "custom-fields/", field_type="drop_down") == [option.field.id]
    assert ids(client_reader, "custom-fields/", kartra_id=text.kartra_id) == [text.id]
    assert ids(client_reader, "custom-fields/", ordering="-identifier") == [
        option.field.id,
        text.id,
    ]


def test_assets_filter_by_kind_and_id(client_reader):
    page = f.AssetFactory(kind=AssetKind.PAGE)
    video = f.AssetFactory(kind=AssetKind.VIDEO)
    assert ids(client_reader, "assets/", kind="video") == [video.id]
    assert ids(client_reader, "assets/", kartra_id=page.kartra_id) == [page.id]
