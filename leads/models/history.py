"""The change history: one row per change a delivery, an IPN or a snapshot made to a lead."""

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from .base import Source
from .lead import Lead


class ChangeKind(models.TextChoices):
    """What part of a lead changed; the words of the drift audit's differences."""

    PROFILE = "profile", "profile field"
    CUSTOM_FIELD = "custom_field", "custom field"
    TAG = "tag", "tag"
    LIST = "list", "list"
    SEQUENCE = "sequence", "sequence"
    MEMBERSHIP = "membership", "membership"
    TRANSACTION = "transaction", "transaction"
    SUBSCRIPTION = "subscription", "subscription"
    CALENDAR = "calendar", "calendar registration"
    SURVEY = "survey", "survey result"
    LEAD = "lead", "lead status"


class Change(models.Model):
    """One change to a lead, as the batch that applied it found it: ``old`` is the value
    before the batch, ``new`` after (None where the row did not exist or no longer does).

    The id is the change feed's order: rows are numbered when their batch is about to commit,
    one batch at a time (``leads.services.history``), so a reader that saw a change has
    seen every change numbered before it. ``observed_at``, ``source`` and ``ref`` say which
    observation made the change (a delivery's received time and id, or a ``get_lead``
    request's time and its sync run's id).
    """

    lead = models.ForeignKey(
        Lead,
        on_delete=models.CASCADE,
        related_name="changes",
        db_index=False,  # change_lead_observed starts with it
    )
    kind = models.CharField(max_length=16, choices=ChangeKind.choices)
    name = models.CharField(max_length=255, blank=True)
    old = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    new = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    observed_at = models.DateTimeField()
    source = models.CharField(max_length=16, choices=Source.choices)
    ref = models.BigIntegerField(null=True, blank=True)
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ("-id",)
        indexes = [
            # The lead page's timeline and the feed's ?lead= filter.
            models.Index(fields=["lead", "-observed_at", "-id"], name="change_lead_observed"),
            # kartra_prune's retention.
            models.Index(fields=["recorded_at"], name="change_recorded"),
            # The feed's ?kind= filter, in feed order.
            models.Index(fields=["kind", "id"], name="change_kind_id"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.name}".strip()
