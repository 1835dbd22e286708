"""How the mirrored account reads over the API.

Rows point at each other by Kartra id and name (``CatalogBriefSerializer``, ``LeadBrief``),
which is what a caller can use in the next request. Each serializer's ``Meta`` says which
relations it reads; ``MirrorViewSet`` loads them once per page.
"""

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from events.api.serializers import ActivityBriefSerializer
from events.models import Activity
from kartra_mirror.api.serializers import (
    CatalogBriefSerializer,
    LeadBriefSerializer,
    MirrorSerializer,
    inline_choice_field,
)
from leads.models import (
    Asset,
    Calendar,
    CalendarClass,
    CalendarEvent,
    CalendarStatus,
    CalendarSubscription,
    CustomField,
    CustomFieldOption,
    CustomFieldValue,
    Lead,
    LeadTag,
    List,
    ListSubscription,
    Membership,
    MembershipAccess,
    MembershipLevel,
    PricePoint,
    Product,
    Sequence,
    SequenceStatus,
    SequenceSubscription,
    Subscription,
    Survey,
    SurveyAnswer,
    SurveyOption,
    SurveyQuestion,
    SurveyResult,
    Tag,
    Transaction,
)

LATEST_ACTIVITY = 20  # activity rows shown on a lead's detail; the rest is at /activity/?lead=
CATALOG_FIELDS = ("id", "kartra_id", "name", "mirror_first_seen", "mirror_updated")
# Columns a lead row carries that a serializer pointing at the lead never shows.
LEAD_HEAVY = ("lead__mirror_raw", "lead__notes")


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


# --- commerce -----------------------------------------------------------------------------

TRANSACTION_BRIEF_FIELDS = (
    "id",
    "kartra_id",
    "product",
    "price_point",
    "transaction_type",
    "transaction_date",
    "amount",
    "subscription_kartra_id",
    "observed_at",
)


class TransactionBriefSerializer(MirrorSerializer):
    product = CatalogBriefSerializer(read_only=True, allow_null=True)
    subscription_kartra_id = serializers.IntegerField(
        source="subscription.kartra_id", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = Transaction
        fields = TRANSACTION_BRIEF_FIELDS


class TransactionSerializer(TransactionBriefSerializer):
    lead = LeadBriefSerializer(read_only=True)

    class Meta:
        model = Transaction
        fields = (
            *TRANSACTION_BRIEF_FIELDS,
            "lead",
            "full_amount",
            "base_amount",
            "discount",
            "tax",
            "shipping",
            "parent_kartra_id",
            "original_kartra_id",
            "subscription_pay_number",
            "buyer_first_name",
            "buyer_last_name",
            "buyer_email",
            "buyer_username",
            "buyer_billing_country",
            "buyer_billing_state",
            "buyer_billing_phone_country_code",
            "buyer_billing_phone_number",
            "buyer_billing_address",
            "buyer_billing_city",
            "buyer_billing_zip",
            "shipping_first_name",
            "shipping_last_name",
            "shipping_address",
            "shipping_city",
            "shipping_zip",
            "shipping_country",
            "shipping_state",
            "affiliate",
            "jv",
            "vendor_tracking_id_1",
            "vendor_tracking_id_2",
            "vendor_tracking_link",
            "trial_payment",
            "trial_period",
            "rebill_circle",
            "payments_left",
            "payment_processor_type",
        )
        select_related = ("lead", "product", "subscription")
        defer = ("raw", *LEAD_HEAVY)


class SubscriptionSerializer(MirrorSerializer):
    lead = LeadBriefSerializer(read_only=True)
    product = CatalogBriefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Subscription
        fields = ("id", "kartra_id", "lead", "product", "cancelled", "cancelled_at", "observed_at")
        select_related = ("lead", "product")
        defer = LEAD_HEAVY


# --- a lead's state in the catalogues -----------------------------------------------------


class LeadTagSerializer(MirrorSerializer):
    kartra_id = serializers.IntegerField(source="tag.kartra_id", read_only=True, allow_null=True)
    name = serializers.CharField(source="tag.name", read_only=True)

    class Meta:
        model = LeadTag
        fields = ("kartra_id", "name", "observed_at")


class ListSubscriptionSerializer(MirrorSerializer):
    kartra_id = serializers.IntegerField(source="list.kartra_id", read_only=True, allow_null=True)
    name = serializers.CharField(source="list.name", read_only=True)

    class Meta:
        model = ListSubscription
        fields = ("kartra_id", "name", "active", "observed_at")


class SequenceSubscriptionSerializer(MirrorSerializer):
    kartra_id = serializers.IntegerField(
        source="sequence.kartra_id", read_only=True, allow_null=True
    )
    name = serializers.CharField(source="sequence.name", read_only=True)
    status = inline_choice_field(SequenceStatus)

    class Meta:
        model = SequenceSubscription
        fields = ("kartra_id", "name", "step", "status", "observed_at")


class MembershipAccessSerializer(MirrorSerializer):
    membership = CatalogBriefSerializer(read_only=True)
    level = LevelBriefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = MembershipAccess
        fields = ("membership", "level", "active", "observed_at")


class CalendarEventSerializer(MirrorSerializer):
    class Meta:
        model = CalendarEvent
        fields = ("starts_at", "duration_minutes")


@extend_schema_field(
    {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "host_first_name": {"type": "string"},
                "host_last_name": {"type": "string"},
                "host_email_address": {"type": "string"},
            },
        },
    }
)
class HostsField(serializers.JSONField):
    """The hosts of a calendar subscription, as Kartra lists them."""


CALENDAR_SUBSCRIPTION_FIELDS = (
    "id",
    "kartra_id",
    "calendar",
    "calendar_class",
    "status",
    "vendor_id",
    "vendor_timezone",
    "hosts",
    "ics_calendar_link",
    "events",
    "observed_at",
)


class LeadCalendarSubscriptionSerializer(MirrorSerializer):
    calendar = CatalogBriefSerializer(read_only=True)
    calendar_class = ClassBriefSerializer(read_only=True, allow_null=True)
    status = inline_choice_field(CalendarStatus)
    hosts = HostsField(read_only=True)
    events = CalendarEventSerializer(many=True, read_only=True)

    class Meta:
        model = CalendarSubscription
        fields = CALENDAR_SUBSCRIPTION_FIELDS


class CalendarSubscriptionSerializer(LeadCalendarSubscriptionSerializer):
    lead = LeadBriefSerializer(read_only=True)

    class Meta:
        model = CalendarSubscription
        fields = (*CALENDAR_SUBSCRIPTION_FIELDS, "lead")
        select_related = ("lead", "calendar", "calendar_class")
        prefetch_related = ("events",)
        defer = LEAD_HEAVY


class SurveyAnswerSerializer(MirrorSerializer):
    question = serializers.SerializerMethodField()
    options = SurveyOptionSerializer(many=True, read_only=True)

    class Meta:
        model = SurveyAnswer
        fields = ("question", "correct", "options")

    @extend_schema_field(
        {
            "type": "object",
            "properties": {"kartra_id": {"type": "integer"}, "title": {"type": "string"}},
        }
    )
    def get_question(self, answer: SurveyAnswer) -> dict:
        return {"kartra_id": answer.question.kartra_id, "title": answer.question.title}


SURVEY_RESULT_FIELDS = ("id", "survey", "score", "completion_time", "completed_at", "answers")
ANSWERS = Prefetch(
    "answers", SurveyAnswer.objects.select_related("question").prefetch_related("options")
)


class LeadSurveyResultSerializer(MirrorSerializer):
    survey = CatalogBriefSerializer(read_only=True)
    answers = SurveyAnswerSerializer(many=True, read_only=True)

    class Meta:
        model = SurveyResult
        fields = (*SURVEY_RESULT_FIELDS, "observed_at")


class SurveyResultSerializer(LeadSurveyResultSerializer):
    lead = LeadBriefSerializer(read_only=True)

    class Meta:
        model = SurveyResult
        fields = (*SURVEY_RESULT_FIELDS, "lead", "observed_at")
        select_related = ("lead", "survey")
        prefetch_related = (ANSWERS,)
        defer = LEAD_HEAVY


# --- leads --------------------------------------------------------------------------------

LEAD_LIST_FIELDS = (
    "id",
    "kartra_id",
    "first_name",
    "last_name",
    "email",
    "score",
    "source",
    "date_joined",
    "mirror_last_activity_at",
    "mirror_refreshed_at",
    "mirror_updated",
)
LEAD_PROFILE_FIELDS = (
    "middle_name",
    "last_name2",
    "username",
    "phone_country_code",
    "phone",
    "company",
    "address",
    "city",
    "zip",
    "state",
    "country",
    "website",
    "ip",
    "ip_country",
    "facebook",
    "twitter",
    "linkedin",
    "google_plus",
    "sales_tax_id",
    "lead_picture",
    "source_id",
    "referring_id",
    "blacklisted",
    "notes",
    "lead_preferred_time_zone",
    "business_type",
    "gdpr_lead_status",
    "gdpr_lead_status_date",
    "gdpr_lead_status_ip",
    "gdpr_lead_communications",
    "lead_deleted",
    "lead_deleted_date",
)
LEAD_MIRROR_FIELDS = (
    "mirror_status",
    "mirror_first_seen",
    "mirror_profile_observed_at",
    "mirror_webhook_at",
)
LEAD_RELATION_FIELDS = (
    "custom_fields",
    "tags",
    "lists",
    "sequences",
    "memberships",
    "transactions",
    "calendar_subscriptions",
    "survey_results",
    "latest_activity",
)

CUSTOM_FIELDS_SCHEMA = {
    "type": "object",
    "description": "Values by field identifier: text, or the chosen options' values.",
    "additionalProperties": {
        "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]
    },
}


class LeadSerializer(MirrorSerializer):
    """The compact row of the lead list."""

    class Meta:
        model = Lead
        fields = LEAD_LIST_FIELDS
        only = LEAD_LIST_FIELDS  # holds every ordering field of LeadViewSet


class LeadDetailSerializer(MirrorSerializer):
    """Everything the mirror knows about one lead."""

    custom_fields = serializers.SerializerMethodField()
    tags = LeadTagSerializer(source="current_tags", many=True, read_only=True)
    lists = ListSubscriptionSerializer(source="list_subscriptions", many=True, read_only=True)
    sequences = SequenceSubscriptionSerializer(
        source="sequence_subscriptions", many=True, read_only=True
    )
    memberships = MembershipAccessSerializer(many=True, read_only=True)
    transactions = TransactionBriefSerializer(many=True, read_only=True)
    calendar_subscriptions = LeadCalendarSubscriptionSerializer(many=True, read_only=True)
    survey_results = LeadSurveyResultSerializer(many=True, read_only=True)
    latest_activity = serializers.SerializerMethodField()

    class Meta:
        model = Lead
        fields = (
            *LEAD_LIST_FIELDS,
            *LEAD_PROFILE_FIELDS,
            *LEAD_MIRROR_FIELDS,
            *LEAD_RELATION_FIELDS,
        )
        defer = ("mirror_raw",)
        prefetch_related = (
            Prefetch(
                "custom_values",
                CustomFieldValue.objects.select_related("field")
                .prefetch_related(
                    Prefetch("options", CustomFieldOption.objects.order_by("kartra_id"))
                )
                .order_by("field__identifier"),
            ),
            Prefetch(
                "tag_links",
                LeadTag.objects.filter(active=True).select_related("tag").order_by("tag__name"),
                to_attr="current_tags",
            ),
            Prefetch(
                "list_subscriptions",
                ListSubscription.objects.select_related("list").order_by("list__name"),
            ),
            Prefetch(
                "sequence_subscriptions",
                SequenceSubscription.objects.select_related("sequence").order_by("sequence__name"),
            ),
            Prefetch(
                "memberships",
                MembershipAccess.objects.select_related("membership", "level").order_by(
                    "membership__name", "level__name"
                ),
            ),
            Prefetch(
                "transactions",
                Transaction.objects.select_related("product", "subscription")
                .defer("raw")
                .order_by("-transaction_date", "-kartra_id"),
            ),
            Prefetch(
                "calendar_subscriptions",
                CalendarSubscription.objects.select_related("calendar", "calendar_class")
                .prefetch_related("events")
                .order_by("-id"),
            ),
            Prefetch(
                "survey_results",
                SurveyResult.objects.select_related("survey")
                .prefetch_related(ANSWERS)
                .order_by("-id"),
            ),
        )

    @extend_schema_field(ActivityBriefSerializer(many=True))
    def get_latest_activity(self, lead: Lead) -> list[dict]:
        """The newest activity, one query. Not a sliced Prefetch: that compiles a window
        function query for a page of leads, which costs more than it saves for one lead
        (this serializer only ever shows one)."""
        activity = (
            Activity.objects.filter(lead=lead)
            .select_related(*ActivityBriefSerializer.Meta.select_related)
            .defer(*ActivityBriefSerializer.Meta.defer)
            .order_by("-occurred_at", "-id")[:LATEST_ACTIVITY]
        )
        return ActivityBriefSerializer(activity, many=True, context=self.context).data

    @extend_schema_field(CUSTOM_FIELDS_SCHEMA)
    def get_custom_fields(self, lead: Lead) -> dict:
        values = {}
        for value in lead.custom_values.all():
            if value.field.is_text:
                values[value.field.identifier] = value.text
            else:
                values[value.field.identifier] = [option.value for option in value.options.all()]
        return values
