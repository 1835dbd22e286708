"""MirrorSerializer: fields derived once per class, plain columns read directly, rows read
as dicts with ``Meta.values``; the output is what DRF's own ModelSerializer gives."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from rest_framework import serializers

from kartra_mirror.api.serializers import MirrorSerializer, UtcDateTimeField
from leads.api.serializers import LeadDetailSerializer, LeadSerializer
from leads.api.serializers.lead import LEAD_LIST_FIELDS
from leads.models import Lead
from tests import factories as f

pytestmark = pytest.mark.django_db


class DrfLeadSerializer(serializers.ModelSerializer):
    """The compact lead row as plain DRF would write it."""

    serializer_field_mapping = MirrorSerializer.serializer_field_mapping

    class Meta:
        model = Lead
        fields = LEAD_LIST_FIELDS


def test_lead_rows_match_drfs_from_instances_and_from_values():
    f.LeadFactory(score=None, mirror_last_activity_at=None)
    f.LeadFactory(first_name="Ünïcode", score=17)
    leads = list(Lead.objects.order_by("id"))
    expected = DrfLeadSerializer(leads, many=True).data
    assert LeadSerializer(leads, many=True).data == expected
    rows = list(Lead.objects.order_by("id").values(*LeadSerializer.Meta.values))
    assert LeadSerializer(rows, many=True).data == expected
    assert expected[0]["score"] is None and expected[1]["score"] == 17


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
