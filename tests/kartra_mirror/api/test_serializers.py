"""MirrorSerializer: plain columns read directly, rows read as dicts with ``Meta.values`` (a
page of them builds no fields); the output is what DRF's own ModelSerializer gives."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from rest_framework import serializers
from rest_framework.test import APIRequestFactory

from kartra_mirror.api.serializers import (
    KartraIdField,
    MirrorSerializer,
    RowUrlField,
    UtcDateTimeField,
)
from leads.api.serializers import LeadDetailSerializer, LeadSerializer
from leads.api.serializers.lead import LEAD_LIST_FIELDS
from leads.models import Lead
from tests import factories as f

pytestmark = pytest.mark.django_db


class DrfLeadSerializer(serializers.ModelSerializer):
    """The compact lead row as plain DRF would write it, with the same id and url fields."""

    serializer_field_mapping = MirrorSerializer.serializer_field_mapping
    id = KartraIdField()
    url = RowUrlField()

    class Meta:
        model = Lead
        fields = LEAD_LIST_FIELDS


def test_lead_rows_match_drfs_from_instances_and_from_values():
    f.LeadFactory(kartra_id=71, score=None, mirror_last_activity_at=None)
    pending = f.LeadFactory(kartra_id=None, first_name="Ünïcode", score=17)
    leads = list(Lead.objects.order_by("id"))
    context = {"request": APIRequestFactory().get("/")}
    expected = DrfLeadSerializer(leads, many=True, context=context).data
    assert LeadSerializer(leads, many=True, context=context).data == expected
    rows = list(Lead.objects.order_by("id").values(*LeadSerializer.Meta.values))
    assert LeadSerializer(rows, many=True, context=context).data == expected
    assert expected[0]["score"] is None and expected[1]["score"] == 17
    assert expected[0]["id"] == 71
    assert expected[0]["url"] == "http://testserver/api/v1/leads/71/"
    assert expected[1]["id"] is None
    assert expected[1]["url"] == f"http://testserver/api/v1/leads/mirror-{pending.pk}/"


def test_url_without_a_request_is_the_path():
    lead = f.LeadFactory(kartra_id=72)
    assert LeadSerializer(lead).data["url"] == "/api/v1/leads/72/"
    (row,) = Lead.objects.values(*LeadSerializer.Meta.values)
    assert LeadSerializer(row).data["url"] == "/api/v1/leads/72/"


def test_values_rows_need_the_columns_of_their_url():
    class Unaddressed(MirrorSerializer):
        url = RowUrlField()

        class Meta:
            model = Lead
            fields = ("email", "url")
            values = ("id", "email")  # no kartra_id: a lead's url may be its Kartra id

    with pytest.raises(ImproperlyConfigured, match="Unaddressed.url"):
        Unaddressed({"id": 1, "email": "a@b.c"}).data  # noqa: B018


def test_each_instance_gets_its_own_fields():
    first, second = LeadDetailSerializer(), LeadDetailSerializer()
    assert first.fields.keys() == second.fields.keys()
    for name in first.fields:
        assert first.fields[name] is not second.fields[name]
        assert first.fields[name].parent is first and second.fields[name].parent is second
    assert first.fields["tags"].child is not second.fields["tags"].child
    assert isinstance(first.fields["date_joined"], UtcDateTimeField)


def test_values_must_cover_every_field():
    class Broken(MirrorSerializer):
        class Meta:
            model = Lead
            fields = ("id", "email")
            values = ("id",)

    with pytest.raises(ImproperlyConfigured, match="Broken.email"):
        Broken({"id": 1}).data  # noqa: B018


def test_a_page_of_values_rows_builds_no_fields():
    f.LeadFactory.create_batch(2)
    rows = list(Lead.objects.values(*LeadSerializer.Meta.values))
    LeadSerializer(rows, many=True).data  # noqa: B018  (the class's plan is built once)
    page = LeadSerializer(rows, many=True)
    assert len(page.data) == 2
    assert "fields" not in page.child.__dict__


def test_values_rows_convert_what_the_column_type_does_not_show_as_is():
    class Converted(MirrorSerializer):
        """An int shown from a text column, a text shown from an int column."""

        zip_number = serializers.IntegerField(source="zip", read_only=True)
        score_text = serializers.CharField(source="score", read_only=True)

        class Meta:
            model = Lead
            fields = ("zip_number", "score_text", "blacklisted", "date_joined")
            values = ("zip", "score", "blacklisted", "date_joined")

    f.LeadFactory(zip="01234", score=7, blacklisted=True)
    (row,) = Lead.objects.values(*Converted.Meta.values)
    data = Converted(row).data
    assert data["zip_number"] == 1234 and data["score_text"] == "7"
    assert data["blacklisted"] is True
    assert data["date_joined"].endswith("Z")
