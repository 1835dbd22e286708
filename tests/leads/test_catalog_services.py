"""Catalogue rows resolved by id, by name, or both: claims and renames."""

import pytest

from leads.models import Membership, MembershipLevel, Tag
from leads.services.catalog import catalog_resolve, catalog_resolve_names

pytestmark = pytest.mark.django_db


def test_row_first_seen_by_name_is_claimed_by_its_id():
    by_name = catalog_resolve(Tag, kartra_id=None, name="VIP")
    by_id = catalog_resolve(Tag, kartra_id=21, name="VIP")

    assert by_id.pk == by_name.pk
    assert Tag.objects.get().kartra_id == 21


def test_id_with_a_new_name_is_a_rename():
    catalog_resolve(Tag, kartra_id=21, name="VIP")
    renamed = catalog_resolve(Tag, kartra_id=21, name="Very important")

    assert list(Tag.objects.values_list("kartra_id", "name")) == [(21, "Very important")]
    assert renamed.name == "Very important"


def test_name_lookup_prefers_the_row_with_an_id():
    Tag.objects.create(name="VIP")
    Tag.objects.create(kartra_id=21, name="VIP")

    assert catalog_resolve(Tag, kartra_id=None, name="VIP").kartra_id == 21
    assert catalog_resolve_names(Tag, ["VIP"])["VIP"].kartra_id == 21


def test_resolve_names_creates_missing_once_in_constant_queries(django_assert_num_queries):
    Tag.objects.create(kartra_id=1, name="a")
    with django_assert_num_queries(3):
        found = catalog_resolve_names(Tag, ["a", "b", "c", "b"])
    assert sorted(found) == ["a", "b", "c"]
    assert Tag.objects.count() == 3
    assert catalog_resolve_names(Tag, ["b", "c"]) == {"b": found["b"], "c": found["c"]}


def test_children_are_scoped_to_their_parent():
    academy = Membership.objects.create(kartra_id=1, name="Academy")
    club = Membership.objects.create(kartra_id=2, name="Club")
    gold_a = catalog_resolve(
        MembershipLevel, kartra_id=5, name="Gold", scope={"membership": academy}
    )
    gold_c = catalog_resolve(MembershipLevel, kartra_id=5, name="Gold", scope={"membership": club})

    assert gold_a.pk != gold_c.pk
    assert MembershipLevel.objects.count() == 2
