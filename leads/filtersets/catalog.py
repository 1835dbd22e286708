"""FilterSets over the catalogues: tags, lists, sequences, memberships and their levels,
products, calendars and their classes, surveys, custom fields, assets."""

from django_filters import rest_framework as filters

from kartra_mirror.api.filters import Int64Filter, MirrorFilterSet
from leads.models import (
    Asset,
    AssetKind,
    Calendar,
    CalendarClass,
    CustomField,
    FieldType,
    List,
    Membership,
    MembershipLevel,
    Product,
    Sequence,
    Survey,
    Tag,
)


class CatalogFilterSet(MirrorFilterSet):
    """Tags, lists, sequences, memberships, products, calendars, surveys: by id or name."""

    id = Int64Filter(field_name="kartra_id", help_text="Kartra id.")
    name = filters.CharFilter()

    class Meta:
        fields = ("id", "name")


def catalog_filterset(catalog_model) -> type[CatalogFilterSet]:
    meta = type("Meta", (CatalogFilterSet.Meta,), {"model": catalog_model})
    return type(f"{catalog_model.__name__}FilterSet", (CatalogFilterSet,), {"Meta": meta})


TagFilterSet = catalog_filterset(Tag)
ListFilterSet = catalog_filterset(List)
SequenceFilterSet = catalog_filterset(Sequence)
MembershipFilterSet = catalog_filterset(Membership)
ProductFilterSet = catalog_filterset(Product)
CalendarFilterSet = catalog_filterset(Calendar)
SurveyFilterSet = catalog_filterset(Survey)


class CustomFieldFilterSet(MirrorFilterSet):
    id = Int64Filter(field_name="kartra_id", help_text="Kartra id.")
    identifier = filters.CharFilter()
    field_type = filters.ChoiceFilter(choices=FieldType.choices)

    class Meta:
        model = CustomField
        fields = ("id", "identifier", "field_type")


class MembershipLevelFilterSet(MirrorFilterSet):
    membership = Int64Filter(
        field_name="membership__kartra_id", help_text="Membership's Kartra id."
    )
    id = Int64Filter(
        field_name="kartra_id", help_text="Kartra id (unique within the membership only)."
    )

    class Meta:
        model = MembershipLevel
        fields = ("membership", "id")


class CalendarClassFilterSet(MirrorFilterSet):
    calendar = Int64Filter(field_name="calendar__kartra_id", help_text="Calendar's Kartra id.")
    id = Int64Filter(
        field_name="kartra_id", help_text="Kartra id (unique within the calendar only)."
    )

    class Meta:
        model = CalendarClass
        fields = ("calendar", "id")


class AssetFilterSet(MirrorFilterSet):
    kind = filters.ChoiceFilter(choices=AssetKind.choices)
    id = Int64Filter(field_name="kartra_id", help_text="Kartra id (unique within the kind only).")

    class Meta:
        model = Asset
        fields = ("kind", "id")
