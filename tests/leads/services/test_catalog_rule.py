"""The one claim and rename rule, resolved in bulk for every catalogue."""

import pytest

from leads.models import Asset, AssetKind, Membership, MembershipLevel, Product, Tag
from leads.services.catalog import catalog_resolve_many, catalog_resolve_names

pytestmark = pytest.mark.django_db


def _resolve(model, *keys, scope=None, extra=None):
    return catalog_resolve_many(model, [(key, extra or {}) for key in keys], scope=scope)


def test_ids_claim_rows_first_seen_by_name_and_rename_known_ids():
    vip = Tag.objects.create(name="VIP")
    old = Tag.objects.create(kartra_id=7, name="Old name")

    found = _resolve(Tag, (None, 21, "VIP"), (None, 7, "New name"), (None, 8, "Fresh"))

    assert found[(None, 21, "VIP")].pk == vip.pk
    assert found[(None, 7, "New name")].pk == old.pk
    assert sorted(Tag.objects.values_list("kartra_id", "name")) == [
        (7, "New name"),
        (8, "Fresh"),
        (21, "VIP"),
    ]


def test_names_prefer_rows_with_an_id_and_create_id_less_rows():
    Tag.objects.create(name="VIP")
    with_id = Tag.objects.create(kartra_id=21, name="VIP")

    found = _resolve(Tag, (None, None, "VIP"), (None, None, "New"))

    assert found[(None, None, "VIP")].pk == with_id.pk
    assert Tag.objects.get(name="New").kartra_id is None


def test_two_names_for_one_id_in_a_batch_the_later_stands():
    _resolve(Tag, (None, 5, "First"), (None, 5, "Second"))
    assert list(Tag.objects.values_list("kartra_id", "name")) == [(5, "Second")]


def test_an_id_and_its_name_in_one_batch_make_one_row():
    found = _resolve(Tag, (None, 5, "VIP"), (None, None, "VIP"))
    assert Tag.objects.count() == 1
    assert found[(None, 5, "VIP")] == found[(None, None, "VIP")]


def test_scopes_keep_ids_and_names_apart():
    academy = Membership.objects.create(kartra_id=1, name="Academy")
    club = Membership.objects.create(kartra_id=2, name="Club")
    found = _resolve(
        MembershipLevel,
        (academy.pk, 5, "Gold"),
        (club.pk, 5, "Gold"),
        (club.pk, None, "Silver"),
        scope="membership",
    )
    assert len({row.pk for row in found.values()}) == 3
    assert MembershipLevel.objects.filter(membership=club).count() == 2

    pages = _resolve(Asset, (AssetKind.PAGE, 3, "Home"), scope="kind")
    videos = _resolve(Asset, (AssetKind.VIDEO, 3, "Intro"), scope="kind")
    assert pages[(AssetKind.PAGE, 3, "Home")].pk != videos[(AssetKind.VIDEO, 3, "Intro")].pk


def test_extra_values_are_written_when_not_empty():
    _resolve(Product, (None, 4, "p"), extra={"official_name": "Product"})
    _resolve(Product, (None, 4, "p"), extra={"official_name": ""})
    assert Product.objects.get().official_name == "Product"


def test_queries_do_not_grow_with_the_number_of_references(django_assert_max_num_queries):
    Tag.objects.create(name="claimed")
    Tag.objects.create(kartra_id=1, name="renamed")
    keys = [(None, 1, "renamed!"), (None, 2, "claimed")]
    keys += [(None, 100 + n, f"new {n}") for n in range(50)]
    keys += [(None, None, f"by name {n}") for n in range(50)]
    with django_assert_max_num_queries(6):
        found = _resolve(Tag, *keys)
    assert len(found) == 102
    assert Tag.objects.count() == 102
    assert all(row.pk for row in found.values())


def test_names_resolve_in_constant_queries(django_assert_num_queries):
    Tag.objects.create(kartra_id=1, name="a")
    with django_assert_num_queries(3):
        found = catalog_resolve_names(Tag, ["a", "b", "c", "b"])
    assert sorted(found) == ["a", "b", "c"]
    assert Tag.objects.count() == 3
    assert catalog_resolve_names(Tag, ["b", "c"]) == {"b": found["b"], "c": found["c"]}
