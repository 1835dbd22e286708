"""Catalogue rows: tags, lists, sequences, memberships, products, calendars, surveys,
custom fields and assets.

Each row shows Kartra's id as ``id`` and its own ``url``; a row of a kind Kartra numbers
within a parent (a level, a class) shows the parent too. Rows with no endpoint of their own
(price points, questions, options) show what Kartra names them by.
"""

from django.db.models import Prefetch

from kartra_mirror.api.serializers import (
    CatalogBriefSerializer,
    KartraIdField,
    KartraSerializer,
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


class TagSerializer(KartraSerializer):
    class Meta:
        model = Tag
        fields = CATALOG_FIELDS


class ListSerializer(KartraSerializer):
    class Meta:
        model = List
        fields = CATALOG_FIELDS


class SequenceSerializer(KartraSerializer):
    class Meta:
        model = Sequence
        fields = CATALOG_FIELDS


class LevelBriefSerializer(KartraSerializer):
    class Meta:
        model = MembershipLevel
        fields = ("id", "url", "name")


class MembershipSerializer(KartraSerializer):
    levels = LevelBriefSerializer(many=True, read_only=True)

    class Meta:
        model = Membership
        fields = (*CATALOG_FIELDS, "levels")
        prefetch_related = ("levels",)


class MembershipLevelSerializer(KartraSerializer):
    membership = CatalogBriefSerializer(read_only=True)

    class Meta:
        model = MembershipLevel
        fields = ("id", "url", "name", "membership")
        select_related = ("membership",)


class PricePointSerializer(MirrorSerializer):
    """A price point, by its number: Kartra names price points so, within their product."""

    class Meta:
        model = PricePoint
        fields = ("number",)


class ProductSerializer(KartraSerializer):
    price_points = PricePointSerializer(many=True, read_only=True)

    class Meta:
        model = Product
        fields = (*CATALOG_FIELDS, "official_name", "price_points")
        prefetch_related = ("price_points",)


class ClassBriefSerializer(KartraSerializer):
    class Meta:
        model = CalendarClass
        fields = ("id", "url", "name")


class CalendarSerializer(KartraSerializer):
    classes = ClassBriefSerializer(many=True, read_only=True)

    class Meta:
        model = Calendar
        fields = (*CATALOG_FIELDS, "vendor_id", "vendor_timezone", "classes")
        prefetch_related = ("classes",)


class CalendarClassSerializer(KartraSerializer):
    calendar = CatalogBriefSerializer(read_only=True)

    class Meta:
        model = CalendarClass
        fields = ("id", "url", "name", "calendar")
        select_related = ("calendar",)


class SurveyOptionSerializer(MirrorSerializer):
    id = KartraIdField(allow_null=False)  # unique within its question

    class Meta:
        model = SurveyOption
        fields = ("id", "value")


class SurveyQuestionSerializer(MirrorSerializer):
    id = KartraIdField(allow_null=False)  # unique within its survey
    options = SurveyOptionSerializer(many=True, read_only=True)

    class Meta:
        model = SurveyQuestion
        fields = ("id", "title", "options")


class SurveySerializer(KartraSerializer):
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
    id = KartraIdField(allow_null=False)  # unique within its field

    class Meta:
        model = CustomFieldOption
        fields = ("id", "value")


class CustomFieldSerializer(KartraSerializer):
    options = CustomFieldOptionSerializer(many=True, read_only=True)

    class Meta:
        model = CustomField
        fields = (
            "id",
            "url",
            "identifier",
            "field_type",
            "options",
            "mirror_first_seen",
            "mirror_updated",
        )
        prefetch_related = ("options",)


class AssetSerializer(KartraSerializer):
    class Meta:
        model = Asset
        fields = ("id", "url", "kind", "name", "mirror_first_seen", "mirror_updated")
