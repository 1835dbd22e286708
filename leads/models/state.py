"""A lead's state in each catalogue.

Rows are never deleted when Kartra says a relation ended: they turn inactive, keeping the
time of the observation that ended them, so that an older delivery processed late cannot
bring the relation back.
"""

from django.db import models

from .base import Observed, label_or_value
from .catalog import (
    Calendar,
    CalendarClass,
    CustomField,
    CustomFieldOption,
    List,
    Membership,
    MembershipLevel,
    Sequence,
    Survey,
    SurveyOption,
    SurveyQuestion,
    Tag,
)
from .lead import Lead


class LeadTag(Observed):
    lead = models.ForeignKey(
        Lead,
        on_delete=models.CASCADE,
        related_name="tag_links",
        db_index=False,  # leadtag_unique starts with it
    )
    tag = models.ForeignKey(
        Tag,
        on_delete=models.CASCADE,
        related_name="lead_links",
        db_index=False,  # leadtag_tag_active_idx starts with it
    )
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name = "tag assignment"
        constraints = [models.UniqueConstraint(fields=["lead", "tag"], name="leadtag_unique")]
        indexes = [models.Index(fields=["tag", "active"], name="leadtag_tag_active_idx")]

    def __str__(self) -> str:
        return f"{self.tag} ({'assigned' if self.active else 'unassigned'})"


class ListSubscription(Observed):
    lead = models.ForeignKey(
        Lead,
        on_delete=models.CASCADE,
        related_name="list_subscriptions",
        db_index=False,  # listsubscription_unique starts with it
    )
    list = models.ForeignKey(
        List,
        on_delete=models.CASCADE,
        related_name="subscriptions",
        db_index=False,  # listsub_list_active_idx starts with it
    )
    active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["lead", "list"], name="listsubscription_unique")
        ]
        indexes = [models.Index(fields=["list", "active"], name="listsub_list_active_idx")]

    def __str__(self) -> str:
        return f"{self.list} ({'active' if self.active else 'inactive'})"


class SequenceStatus(models.TextChoices):
    """The documented statuses; ``SequenceSubscription.status`` keeps any other as sent."""

    ACTIVE = "active", "active"
    UNSUBSCRIBED = "unsubscribed", "unsubscribed"
    COMPLETED = "completed", "completed"


class SequenceSubscription(Observed):
    lead = models.ForeignKey(
        Lead,
        on_delete=models.CASCADE,
        related_name="sequence_subscriptions",
        db_index=False,  # sequencesubscription_unique starts with it
    )
    sequence = models.ForeignKey(
        Sequence,
        on_delete=models.CASCADE,
        related_name="subscriptions",
        db_index=False,  # seqsub_seq_status_idx starts with it
    )
    step = models.IntegerField(null=True, blank=True)
    status = models.CharField(max_length=64, default=SequenceStatus.ACTIVE)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["lead", "sequence"], name="sequencesubscription_unique")
        ]
        indexes = [models.Index(fields=["sequence", "status"], name="seqsub_seq_status_idx")]

    def __str__(self) -> str:
        return f"{self.sequence} ({self.status}, step {self.step})"

    def get_status_display(self):
        return label_or_value(SequenceStatus, self.status)


class MembershipAccess(Observed):
    """A lead's access to a membership level (or to a level-less external membership)."""

    lead = models.ForeignKey(
        Lead,
        on_delete=models.CASCADE,
        related_name="memberships",
        db_index=False,  # membershipaccess_unique starts with it
    )
    membership = models.ForeignKey(
        Membership,
        on_delete=models.CASCADE,
        related_name="accesses",
        db_index=False,  # memaccess_level_idx starts with it
    )
    level = models.ForeignKey(
        MembershipLevel, null=True, blank=True, on_delete=models.CASCADE, related_name="accesses"
    )
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name_plural = "membership accesses"
        constraints = [
            models.UniqueConstraint(
                fields=["lead", "membership", "level"], name="membershipaccess_unique"
            ),
            models.UniqueConstraint(
                fields=["lead", "membership"],
                condition=models.Q(level__isnull=True),
                name="membershipaccess_nolevel_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["membership", "level", "active"], name="memaccess_level_idx")
        ]

    def __str__(self) -> str:
        level = f" / {self.level.name}" if self.level_id else ""
        return f"{self.membership}{level} ({'active' if self.active else 'inactive'})"


class CustomFieldValue(Observed):
    """A lead's value in one custom field: text for text types, options for choice types."""

    lead = models.ForeignKey(
        Lead,
        on_delete=models.CASCADE,
        related_name="custom_values",
        db_index=False,  # customfieldvalue_unique starts with it
    )
    field = models.ForeignKey(CustomField, on_delete=models.CASCADE, related_name="values")
    text = models.TextField(blank=True)
    options = models.ManyToManyField(CustomFieldOption, blank=True, related_name="chosen_in")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["lead", "field"], name="customfieldvalue_unique")
        ]

    def __str__(self) -> str:
        return f"{self.field}: {self.text}"


class CalendarStatus(models.TextChoices):
    """The documented statuses; ``CalendarSubscription.status`` keeps any other as sent."""

    ACTIVE = "Active", "active"
    PENDING = "Pending", "pending"
    COMPLETED = "Completed", "completed"
    DECLINED = "Declined", "declined"
    CANCELLED = "Cancelled", "cancelled"


class CalendarSubscription(Observed):
    """A lead's registration to a calendar class."""

    kartra_id = models.BigIntegerField("subscription id", null=True, blank=True, unique=True)
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="calendar_subscriptions")
    calendar = models.ForeignKey(
        Calendar,
        on_delete=models.CASCADE,
        related_name="subscriptions",
        db_index=False,  # calsub_cal_status_idx starts with it
    )
    calendar_class = models.ForeignKey(
        CalendarClass,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="subscriptions",
    )
    status = models.CharField(max_length=64)
    vendor_id = models.BigIntegerField(null=True, blank=True)
    vendor_timezone = models.CharField(max_length=64, blank=True)
    hosts = models.JSONField(default=list, blank=True)
    ics_calendar_link = models.CharField(max_length=1024, blank=True)

    class Meta:
        constraints = [
            # A webhook without a subscription id names the lead's one registration to a class.
            models.UniqueConstraint(
                fields=["lead", "calendar", "calendar_class"],
                condition=models.Q(kartra_id__isnull=True),
                name="calendarsubscription_unnumbered_unique",
            )
        ]
        indexes = [models.Index(fields=["calendar", "status"], name="calsub_cal_status_idx")]

    def __str__(self) -> str:
        return f"{self.calendar} / {self.calendar_class} ({self.status})"

    def get_status_display(self):
        return label_or_value(CalendarStatus, self.status)


class CalendarEvent(models.Model):
    """A scheduled session of a calendar subscription."""

    subscription = models.ForeignKey(
        CalendarSubscription,
        on_delete=models.CASCADE,
        related_name="events",
        db_index=False,  # calendarevent_unique starts with it
    )
    starts_at = models.DateTimeField()
    duration_minutes = models.IntegerField(null=True, blank=True)

    class Meta:
        ordering = ("starts_at",)
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "starts_at"], name="calendarevent_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.starts_at:%Y-%m-%d %H:%M} ({self.duration_minutes} min)"


class QuestionCorrectness(models.IntegerChoices):
    NOT_SCORED = 0, "not subject to score"
    CORRECT = 1, "correct"
    INCORRECT = 2, "incorrect"


class SurveyResult(Observed):
    lead = models.ForeignKey(
        Lead,
        on_delete=models.CASCADE,
        related_name="survey_results",
        db_index=False,  # surveyresult_unique starts with it
    )
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="results")
    score = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    completion_time = models.IntegerField("completion time (s)", null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["lead", "survey"], name="surveyresult_unique")
        ]

    def __str__(self) -> str:
        return f"{self.survey} ({self.score})"


class SurveyAnswer(models.Model):
    """A lead's answer to one question: the chosen options and whether it was correct."""

    result = models.ForeignKey(
        SurveyResult,
        on_delete=models.CASCADE,
        related_name="answers",
        db_index=False,  # surveyanswer_unique starts with it
    )
    question = models.ForeignKey(SurveyQuestion, on_delete=models.CASCADE, related_name="answers")
    correct = models.SmallIntegerField(choices=QuestionCorrectness.choices, default=0)
    options = models.ManyToManyField(SurveyOption, blank=True, related_name="chosen_in")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["result", "question"], name="surveyanswer_unique")
        ]

    def __str__(self) -> str:
        return str(self.question)
