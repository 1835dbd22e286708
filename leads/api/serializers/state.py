"""A lead's state in each catalogue, as seen from the lead and from the catalogue."""

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from kartra_mirror.api.serializers import (
    CatalogBriefSerializer,
    LeadBriefSerializer,
    MirrorSerializer,
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
