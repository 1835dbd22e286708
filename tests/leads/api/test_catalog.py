"""Catalogue endpoints: tags, lists, sequences, memberships and levels, products, calendars
and classes, surveys, custom fields, assets."""

import pytest

from leads.models import AssetKind, FieldType
from tests import factories as f
from tests.kartra_mirror.api.conftest import detail_url, get, ids, results

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
    gamma = make(name="Gamma", kartra_id=None)  # known by name only
    assert ids(client_reader, f"{endpoint}/", name="Beta") == [beta.kartra_id]
    assert ids(client_reader, f"{endpoint}/", id=alpha.kartra_id) == [alpha.kartra_id]
    body = get(client_reader, f"{endpoint}/{beta.kartra_id}/").json()
    assert body["name"] == "Beta" and body["id"] == beta.kartra_id
    assert body["url"] == detail_url(f"{endpoint}/{beta.kartra_id}/")
    (row,) = results(client_reader, f"{endpoint}/", name="Gamma")
    assert row["id"] is None and row["url"] == detail_url(f"{endpoint}/mirror-{gamma.pk}/")


@pytest.mark.parametrize("endpoint", CATALOGS)
def test_catalog_orders_by_name_then_id(client_reader, endpoint):
    make = CATALOGS[endpoint]
    rows = [make(name=name) for name in ("b", "a", "c")]
    by_name = [row.kartra_id for row in sorted(rows, key=lambda row: row.name)]
    assert ids(client_reader, f"{endpoint}/") == by_name
    assert ids(client_reader, f"{endpoint}/", ordering="-name") == by_name[::-1]
    assert ids(client_reader, f"{endpoint}/", ordering="id") == sorted(by_name)
    assert ids(client_reader, f"{endpoint}/", ordering="-id") == sorted(by_name)[::-1]


def test_membership_lists_its_levels(client_reader):
    gold = f.MembershipLevelFactory(name="Gold")
    f.MembershipLevelFactory(name="Silver", membership=gold.membership)
    (row,) = results(client_reader, "memberships/")
    assert sorted(level["name"] for level in row["levels"]) == ["Gold", "Silver"]


def test_membership_levels_filter_by_membership(client_reader):
    gold = f.MembershipLevelFactory(kartra_id=3)
    other = f.MembershipLevelFactory(kartra_id=3)  # level ids are unique per membership
    membership = gold.membership.kartra_id
    (row,) = results(client_reader, "membership-levels/", membership=membership)
    assert row["id"] == 3 and row["url"] == detail_url(f"membership-levels/mirror-{gold.pk}/")
    assert row["membership"] == {
        "id": membership,
        "url": detail_url(f"memberships/{membership}/"),
        "name": gold.membership.name,
    }
    assert ids(client_reader, "membership-levels/", key="url", id=3) == [
        detail_url(f"membership-levels/mirror-{other.pk}/"),
        row["url"],
    ]
    assert client_reader.get(row["url"]).json() == row
    assert get(client_reader, "membership-levels/3/").status_code == 404  # never a bare id


def test_product_lists_its_price_points(client_reader):
    point = f.PricePointFactory(number="3")
    (row,) = results(client_reader, "products/")
    assert row["official_name"] == point.product.official_name
    assert row["price_points"] == [{"number": "3"}]


def test_calendar_lists_its_classes_and_classes_filter_by_calendar(client_reader):
    klass = f.CalendarClassFactory(name="Intro call")
    f.CalendarClassFactory()
    rows = {row["id"]: row for row in results(client_reader, "calendars/")}
    assert rows[klass.calendar.kartra_id]["classes"] == [
        {
            "id": klass.kartra_id,
            "url": detail_url(f"calendar-classes/mirror-{klass.pk}/"),
            "name": "Intro call",
        }
    ]
    calendar = klass.calendar.kartra_id
    assert ids(client_reader, "calendar-classes/", calendar=calendar) == [klass.kartra_id]
    (row,) = results(client_reader, "calendar-classes/", id=klass.kartra_id)
    assert row["calendar"]["id"] == calendar
    assert row["url"] == detail_url(f"calendar-classes/mirror-{klass.pk}/")


def test_survey_lists_questions_and_options(client_reader):
    option = f.SurveyOptionFactory(value="Often")
    (row,) = results(client_reader, "surveys/")
    (question,) = row["questions"]
    assert question["id"] == option.question.kartra_id
    assert question["options"] == [{"id": option.kartra_id, "value": "Often"}]


def test_custom_fields_with_options_and_filters(client_reader):
    option = f.CustomFieldOptionFactory(field__identifier="colour", value="Blue")
    text = f.CustomFieldFactory(identifier="bio", field_type=FieldType.TEXT_AREA)
    rows = results(client_reader, "custom-fields/")
    assert [row["identifier"] for row in rows] == ["bio", "colour"]
    assert rows[1]["options"][0]["value"] == "Blue"
    assert rows[1]["options"][0]["id"] == option.kartra_id
    assert ids(client_reader, "custom-fields/", identifier="bio") == [text.kartra_id]
    assert ids(client_reader, "custom-fields/", field_type="drop_down") == [option.field.kartra_id]
    assert ids(client_reader, "custom-fields/", id=text.kartra_id) == [text.kartra_id]
    assert ids(client_reader, "custom-fields/", ordering="-identifier") == [
        option.field.kartra_id,
        text.kartra_id,
    ]


def test_assets_filter_by_kind_and_id(client_reader):
    page = f.AssetFactory(kind=AssetKind.PAGE, kartra_id=4)
    video = f.AssetFactory(kind=AssetKind.VIDEO, kartra_id=4)  # unique within its kind only
    assert ids(client_reader, "assets/", key="url", kind="video") == [
        detail_url(f"assets/mirror-{video.pk}/")
    ]
    (row,) = results(client_reader, "assets/", kind="page", id=4)
    assert row["id"] == 4 and row["kind"] == "page" and row["name"] == page.name
