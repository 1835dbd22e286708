"""A lead's state in each catalogue, as seen from the lead and from the catalogue.

A lead's tag, list or sequence shows the catalogue row's ``id`` (Kartra's) and ``url``, with
the lead's state there; calendar subscriptions and survey results are rows of their own.
"""

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from kartra_mirror.api.serializers import (
    CatalogBriefSerializer,
    KartraIdField,
    KartraSerializer,
    LeadBriefSerializer,
    MirrorSerializer,
    RowUrlField,
    inline_choice_field,
)
from leads.models import (
    CalendarEvent,
    CalendarStatus,
    CalendarSubscription,
    LeadTag,
    ListSubscription,
    MembershipAccess,
    SequenceStatus,
    SequenceSubscription,
    SurveyAnswer,
    SurveyResult,
)

from .base import LEAD_HEAVY
from .catalog import (
    ClassBriefSerializer,
    LevelBriefSerializer,
    SurveyOptionSerializer,
)

# --- a lead's state in the catalogues -----------------------------------------------------


class LeadTagSerializer(MirrorSerializer):
    id = KartraIdField(source="tag.kartra_id")
    url = RowUrlField(source="tag")
    name = serializers.CharField(source="tag.name", read_only=True)

    class Meta:
        model = LeadTag
        fields = ("id", "url", "name", "observed_at")


class ListSubscriptionSerializer(MirrorSerializer):
    id = KartraIdField(source="list.kartra_id")
    url = RowUrlField(source="list")
    name = serializers.CharField(source="list.name", read_only=True)

    class Meta:
        model = ListSubscription
        fields = ("id", "url", "name", "active", "observed_at")


class SequenceSubscriptionSerializer(MirrorSerializer):
    id = KartraIdField(source="sequence.kartra_id")
    url = RowUrlField(source="sequence")
    name = serializers.CharField(source="sequence.name", read_only=True)
    status = inline_choice_field(SequenceStatus)

    class Meta:
        model = SequenceSubscription
        fields = ("id", "url", "name", "step", "status", "observed_at")


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
    "url",
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


class LeadCalendarSubscriptionSerializer(KartraSerializer):
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
            "properties": {"id": {"type": "integer"}, "title": {"type": "string"}},
        }
    )
    def get_question(self, answer: SurveyAnswer) -> dict:
        return {"id": answer.question.kartra_id, "title": answer.question.title}


@extend_schema_field(
    {"type": "integer", "nullable": True, "description": "Always null: Kartra gives none."}
)
class NoKartraIdField(serializers.Field):
    """The ``id`` of a row Kartra gives no id of its own: always null."""

    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value) -> None:
        return None


SURVEY_RESULT_FIELDS = (
    "id",
    "url",
    "survey",
    "score",
    "completion_time",
    "completed_at",
    "answers",
)
ANSWERS = Prefetch(
    "answers", SurveyAnswer.objects.select_related("question").prefetch_related("options")
)


class LeadSurveyResultSerializer(KartraSerializer):
    id = NoKartraIdField()  # a lead has one result per survey, which Kartra does not number
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
