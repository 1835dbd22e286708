"""Leads: the compact list row and the detail with everything on it."""

from collections.abc import Callable

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from kartra_mirror.api.serializers import (
    KartraSerializer,
)
from leads.models import (
    CalendarSubscription,
    CustomFieldOption,
    CustomFieldValue,
    Lead,
    LeadTag,
    ListSubscription,
    MembershipAccess,
    ProductSignup,
    SequenceSubscription,
    SurveyResult,
    Transaction,
)
from leads.selectors import held_condition

from .commerce import (
    ProductSignupSerializer,
    TransactionBriefSerializer,
)
from .state import (
    ANSWERS,
    LeadCalendarSubscriptionSerializer,
    LeadSurveyResultSerializer,
    LeadTagSerializer,
    ListSubscriptionSerializer,
    MembershipAccessSerializer,
    SequenceSubscriptionSerializer,
)

# --- leads --------------------------------------------------------------------------------

LEAD_LIST_FIELDS = (
    "id",
    "url",
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
    "consent",
    "consent_source",
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
    "signups",
)
#: Fields other apps add at the end of the lead detail, by name (``events`` adds
#: ``latest_activity``): each builds a read-only field that is given the whole lead
#: (``source="*"``) and reads what it shows in a fixed number of queries. Filled at start-up
#: by :func:`lead_detail_field_add`.
LEAD_DETAIL_FIELDS: dict[str, Callable[[], serializers.Field]] = {}


def lead_detail_field_add(name: str, build: Callable[[], serializers.Field]) -> None:
    """Show ``build()``'s field as ``name`` on every lead detail, after the lead's own.
    Adding a name again replaces its field."""
    LEAD_DETAIL_FIELDS[name] = build


CUSTOM_FIELDS_SCHEMA = {
    "type": "object",
    "description": "Values by field identifier: text, or the chosen options' values.",
    "additionalProperties": {
        "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]
    },
}


# The columns the compact row is read from: Kartra's id (its ``id``), the primary key (its
# url, for a lead without a Kartra id, and the default order) and the columns it shows as
# they are. They hold every ordering field of LeadViewSet.
LEAD_LIST_COLUMNS = ("id", "kartra_id", *(f for f in LEAD_LIST_FIELDS if f not in ("id", "url")))


class LeadSerializer(KartraSerializer):
    """The compact row of the lead list."""

    class Meta:
        model = Lead
        fields = LEAD_LIST_FIELDS
        values = LEAD_LIST_COLUMNS


class LeadDetailSerializer(KartraSerializer):
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
    signups = ProductSignupSerializer(source="product_signups", many=True, read_only=True)

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
                .only("lead", "text", "field__identifier", "field__field_type")
                .prefetch_related(
                    Prefetch("options", CustomFieldOption.objects.order_by("kartra_id"))
                )
                .order_by("field__identifier"),
            ),
            Prefetch(
                "tag_links",
                LeadTag.objects.filter(held_condition(LeadTag))  # the tags the lead holds
                .select_related("tag")
                .only("lead", "observed_at", "tag__kartra_id", "tag__name")
                .order_by("tag__name"),
                to_attr="current_tags",
            ),
            Prefetch(
                "list_subscriptions",
                ListSubscription.objects.select_related("list")
                .only("lead", "active", "observed_at", "list__kartra_id", "list__name")
                .order_by("list__name"),
            ),
            Prefetch(
                "sequence_subscriptions",
                SequenceSubscription.objects.select_related("sequence")
                .only(
                    "lead",
                    "step",
                    "status",
                    "observed_at",
                    "sequence__kartra_id",
                    "sequence__name",
                )
                .order_by("sequence__name"),
            ),
            Prefetch(
                "memberships",
                MembershipAccess.objects.select_related("membership", "level")
                .only(
                    "lead",
                    "active",
                    "observed_at",
                    "membership__kartra_id",
                    "membership__name",
                    "level__kartra_id",
                    "level__name",
                )
                .order_by("membership__name", "level__name"),
            ),
            Prefetch(
                "transactions",
                Transaction.objects.select_related("product", "subscription")
                .only(
                    "lead",
                    "kartra_id",
                    "price_point",
                    "transaction_type",
                    "transaction_date",
                    "amount",
                    "observed_at",
                    "product__kartra_id",
                    "product__name",
                    "subscription__kartra_id",
                )
                .order_by("-transaction_date", "-kartra_id"),
            ),
            Prefetch(
                "calendar_subscriptions",
                CalendarSubscription.objects.select_related("calendar", "calendar_class")
                .prefetch_related("events")
                .order_by("-id"),
            ),
            Prefetch(
                "product_signups",
                ProductSignup.objects.select_related("product").order_by("kind", "signed_up_at"),
            ),
            Prefetch(
                "survey_results",
                SurveyResult.objects.select_related("survey")
                .prefetch_related(ANSWERS)
                .order_by("-id"),
            ),
        )

    def get_fields(self) -> dict[str, serializers.Field]:
        """The lead's own fields, then those other apps add (``LEAD_DETAIL_FIELDS``)."""
        fields = super().get_fields()
        fields.update((name, build()) for name, build in LEAD_DETAIL_FIELDS.items())
        return fields

    @extend_schema_field(CUSTOM_FIELDS_SCHEMA)
    def get_custom_fields(self, lead: Lead) -> dict:
        values = {}
        for value in lead.custom_values.all():
            if value.field.is_text:
                values[value.field.identifier] = value.text
            else:
                values[value.field.identifier] = [option.value for option in value.options.all()]
        return values
