"""Catalogue rows: tags, lists, sequences, memberships, products, calendars, surveys,
custom fields and assets."""

from django.db.models import Prefetch

from kartra_mirror.api.serializers import (
    CatalogBriefSerializer,
    MirrorSerializer,
)
from leads.models import (
    Asset,
    Calendar,
    CalendarClass,
    CustomField,
    CustomFieldOption,
    List,
    Membership,
    MembershipLevel,
    PricePoint,
    Product,
    Sequence,
    Survey,
    SurveyOption,
    SurveyQuestion,
    Tag,
)

from .base import CATALOG_FIELDS

# --- catalogues ---------------------------------------------------------------------------


class TagSerializer(MirrorSerializer):
    class Meta:
        model = Tag
        fields = CATALOG_FIELDS


class ListSerializer(MirrorSerializer):
    class Meta:
        model = List
        fields = CATALOG_FIELDS


class SequenceSerializer(MirrorSerializer):
    class Meta:
        model = Sequence
        fields = CATALOG_FIELDS


class LevelBriefSerializer(MirrorSerializer):
    class Meta:
        model = MembershipLevel
        fields = ("id", "kartra_id", "name")


class MembershipSerializer(MirrorSerializer):
    levels = LevelBriefSerializer(many=True, read_only=True)

    class Meta:
        model = Membership
        fields = (*CATALOG_FIELDS, "levels")
        prefetch_related = ("levels",)


class MembershipLevelSerializer(MirrorSerializer):
    membership = CatalogBriefSerializer(read_only=True)

    class Meta:
        model = MembershipLevel
        fields = ("id", "kartra_id", "name", "membership")
        select_related = ("membership",)


class PricePointSerializer(MirrorSerializer):
    class Meta:
        model = PricePoint
        fields = ("id", "number")


class ProductSerializer(MirrorSerializer):
    price_points = PricePointSerializer(many=True, read_only=True)

    class Meta:
        model = Product
        fields = (*CATALOG_FIELDS, "official_name", "price_points")
        prefetch_related = ("price_points",)


class ClassBriefSerializer(MirrorSerializer):
    class Meta:
        model = CalendarClass
        fields = ("id", "kartra_id", "name")


class CalendarSerializer(MirrorSerializer):
    classes = ClassBriefSerializer(many=True, read_only=True)

    class Meta:
        model = Calendar
        fields = (*CATALOG_FIELDS, "vendor_id", "vendor_timezone", "classes")
        prefetch_related = ("classes",)


class CalendarClassSerializer(MirrorSerializer):
    calendar = CatalogBriefSerializer(read_only=True)

    class Meta:
        model = CalendarClass
        fields = ("id", "kartra_id", "name", "calendar")
        select_related = ("calendar",)


class SurveyOptionSerializer(MirrorSerializer):
    class Meta:
        model = SurveyOption
        fields = ("id", "kartra_id", "value")


class SurveyQuestionSerializer(MirrorSerializer):
    options = SurveyOptionSerializer(many=True, read_only=True)

    class Meta:
        model = SurveyQuestion
        fields = ("id", "kartra_id", "title", "options")


class SurveySerializer(MirrorSerializer):
    questions = SurveyQuestionSerializer(many=True, read_only=True)

    class Meta:
        model = Survey
        fields = (*CATALOG_FIELDS, "survey_type", "questions")
        prefetch_related = (
            Prefetch(
                "questions",
                SurveyQuestion.objects.order_by("kartra_id").prefetch_related("options"),
            ),
        )


class CustomFieldOptionSerializer(MirrorSerializer):
    class Meta:
        model = CustomFieldOption
        fields = ("id", "kartra_id", "value")


class CustomFieldSerializer(MirrorSerializer):
    options = CustomFieldOptionSerializer(many=True, read_only=True)

    class Meta:
        model = CustomField
        fields = (
            "id",
            "kartra_id",
            "identifier",
            "field_type",
            "options",
            "mirror_first_seen",
            "mirror_updated",
        )
        prefetch_related = ("options",)


class AssetSerializer(MirrorSerializer):
    class Meta:
        model = Asset
        fields = ("id", "kind", "kartra_id", "name", "mirror_first_seen", "mirror_updated")
