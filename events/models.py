"""Webhook deliveries (stored before anything else), lead activity, sync runs and audits."""

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from leads.models import Asset, Lead, Product, Transaction


class DeliveryStatus(models.TextChoices):
    RECEIVED = "received", "received, not processed yet"
    PROCESSED = "processed", "processed"
    UNKNOWN_ACTION = "unknown_action", "processed, action unknown"
    REJECTED = "rejected", "rejected: not a Kartra event"
    FAILED = "failed", "failed in processing"
    TOO_LARGE = "too_large", "refused: body over the limit"
    SUPPRESSED = "suppressed", "suppressed: about an erased lead, stored redacted"


class DeliveryKind(models.TextChoices):
    """Which of Kartra's callbacks posted a delivery; it decides how the body is read."""

    WEBHOOK = "webhook", "webhook (outbound API, JSON)"
    IPN = "ipn", "IPN (payment callback, form fields)"


class Delivery(models.Model):
    """One POST from Kartra's outbound API or IPN, kept as received.

    The raw body is saved before it is parsed, outside the processing transaction, so a
    crash in processing never loses it; processing can be replayed from it at any time.
    """

    received_at = models.DateTimeField()  # indexed by delivery_day_action_idx
    kind = models.CharField(
        max_length=8, choices=DeliveryKind.choices, default=DeliveryKind.WEBHOOK
    )
    body = models.BinaryField(null=True, blank=True)
    body_sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    content_type = models.CharField(max_length=255, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.RECEIVED
    )
    action = models.CharField(max_length=64, blank=True)
    lead_kartra_id = models.BigIntegerField(null=True, blank=True)
    lead = models.ForeignKey(
        Lead,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deliveries",
        db_index=False,  # delivery_lead_idx starts with it
    )
    probable_duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    error = models.TextField(blank=True)
    traceback = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)
    body_pruned_at = models.DateTimeField(null=True, blank=True)
    # Set when personal data was taken out of the body (events.erasure): such a delivery is
    # never applied again.
    redacted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        ordering = ("-received_at", "-id")
        # Every index is written by the receiver's INSERT and again by the processing's
        # UPDATE (status and action are indexed, so no update is HOT): one per question the
        # product asks, none that another index's leading column answers.
        indexes = [
            # The dashboard counts deliveries per day, action and status from this index
            # alone (PostgreSQL; elsewhere an index of received_at).
            models.Index(
                fields=["received_at"], include=["action", "status"], name="delivery_day_action_idx"
            ),
            models.Index(fields=["status", "received_at"], name="delivery_status_idx"),
            models.Index(fields=["lead", "received_at"], name="delivery_lead_idx"),
            models.Index(fields=["action", "received_at"], name="delivery_action_idx"),
            models.Index(fields=["body_sha256"], name="delivery_sha256_idx"),
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} {self.action or '?'} ({self.status})"


class Activity(models.Model):
    """One event on a lead's timeline (a page visit, a video play, a purchase, ...)."""

    lead = models.ForeignKey(
        Lead,
        on_delete=models.CASCADE,
        related_name="activities",
        db_index=False,  # activity_lead_time_idx starts with it
    )
    action = models.CharField(max_length=64)
    occurred_at = models.DateTimeField()
    asset = models.ForeignKey(
        Asset, null=True, blank=True, on_delete=models.SET_NULL, related_name="activities"
    )
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="activities"
    )
    transaction = models.ForeignKey(
        Transaction, null=True, blank=True, on_delete=models.SET_NULL, related_name="activities"
    )
    points = models.IntegerField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    delivery = models.OneToOneField(
        Delivery, null=True, blank=True, on_delete=models.SET_NULL, related_name="activity"
    )
    probable_duplicate = models.BooleanField(default=False)

    class Meta:
        verbose_name_plural = "activity"
        ordering = ("-occurred_at", "-id")
        indexes = [
            models.Index(fields=["lead", "-occurred_at"], name="activity_lead_time_idx"),
            models.Index(fields=["action", "occurred_at"], name="activity_action_idx"),
            models.Index(fields=["occurred_at"], name="activity_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} at {self.occurred_at:%Y-%m-%d %H:%M}"


class SyncRunStatus(models.TextChoices):
    RUNNING = "running", "running"
    SUCCEEDED = "succeeded", "succeeded"
    PARTIAL = "partial", "finished with failures"
    FAILED = "failed", "failed"
    ABORTED = "aborted", "aborted: its process crashed or was stopped"


class SyncRun(models.Model):
    """One run of pulls from Kartra's inbound API, with its counts."""

    kind = models.CharField(max_length=32)
    arguments = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=SyncRunStatus.choices, default=SyncRunStatus.RUNNING
    )
    leads_refreshed = models.PositiveIntegerField(default=0)
    leads_unchanged = models.PositiveIntegerField(default=0)
    leads_not_found = models.PositiveIntegerField(default=0)
    leads_failed = models.PositiveIntegerField(default=0)
    api_calls = models.PositiveIntegerField(default=0)
    throttled = models.PositiveIntegerField("429s", default=0)
    retries = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    # Which process runs it, and when it last said it was alive: a run whose process is gone
    # is marked aborted (events.sync.runs) rather than shown running.
    host = models.CharField(max_length=255, blank=True)
    pid = models.PositiveIntegerField(null=True, blank=True)
    heartbeat_at = models.DateTimeField("alive at", null=True, blank=True)

    class Meta:
        ordering = ("-started_at", "-id")

    def __str__(self) -> str:
        return f"{self.kind} sync at {self.started_at:%Y-%m-%d %H:%M} ({self.status})"


class DriftCause(models.TextChoices):
    """Why the mirror most likely differs from Kartra (README, "Drift from Kartra")."""

    LEAD_UNKNOWN = "lead_unknown", "lead unknown to the mirror"
    LEAD_DELETED = "lead_deleted", "lead deleted in Kartra"
    MISSED_WEBHOOK = "missed_webhook", "missed webhook"
    NO_WEBHOOK = "no_webhook", "no webhook for this change"
    KEPT = "kept", "kept by the mirror: a refresh never removes it"


class AuditRun(models.Model):
    """One comparison of the mirror with Kartra's ``get_lead`` answers, with its counts.

    An audit applies nothing unless it was asked to repair; its repair is then a sync run
    of its own (``repair_run``), written through the same writers as any refresh. The
    status takes a sync run's values (``SyncRunStatus``).
    """

    kind = models.CharField(max_length=32)  # sample, all, leads, daily
    arguments = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField("alive at", null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=SyncRunStatus.choices, default=SyncRunStatus.RUNNING
    )
    leads_compared = models.PositiveIntegerField(default=0)
    leads_differing = models.PositiveIntegerField(default=0)
    leads_not_found = models.PositiveIntegerField("leads not found in Kartra", default=0)
    leads_failed = models.PositiveIntegerField(default=0)
    differences_found = models.PositiveIntegerField(default=0)
    causes = models.JSONField("differences by cause", default=dict, blank=True)
    api_calls = models.PositiveIntegerField(default=0)
    throttled = models.PositiveIntegerField("429s", default=0)
    retries = models.PositiveIntegerField(default=0)
    repair = models.BooleanField("asked to repair", default=False)
    leads_repaired = models.PositiveIntegerField(default=0)
    repair_run = models.ForeignKey(
        SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="audits"
    )
    errors = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ("-started_at", "-id")

    def __str__(self) -> str:
        return f"{self.kind} audit at {self.started_at:%Y-%m-%d %H:%M} ({self.status})"

    @property
    def drift_percent(self) -> float | None:
        """The share of compared leads that differed, in percent; None before any."""
        if not self.leads_compared:
            return None
        return 100.0 * self.leads_differing / self.leads_compared


class AuditDifference(models.Model):
    """One way one lead of an audit differs: a profile field, a custom field, or a row of a
    relation, with the mirror's value and Kartra's (None where one side has nothing)."""

    run = models.ForeignKey(
        AuditRun,
        on_delete=models.CASCADE,
        related_name="differences",
        db_index=False,  # auditdiff_run_lead_idx starts with it
    )
    lead = models.ForeignKey(
        Lead, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_differences"
    )
    lead_kartra_id = models.BigIntegerField("lead's Kartra id", null=True, blank=True)
    relation = models.CharField(max_length=32)  # profile, custom field, tag, ..., lead
    name = models.CharField(max_length=512, blank=True)  # the field, tag, transaction id, ...
    mirror_value = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    kartra_value = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    cause = models.CharField("likely cause", max_length=32, choices=DriftCause.choices)

    class Meta:
        ordering = ("run", "lead_kartra_id", "id")
        indexes = [
            models.Index(fields=["run", "lead_kartra_id"], name="auditdiff_run_lead_idx"),
        ]

    def __str__(self) -> str:
        return f"lead {self.lead_kartra_id}: {self.relation} {self.name}".rstrip()


class Erasure(models.Model):
    """One erasure of a lead (``kartra_erase``, the admin's "Erase lead"): who, when and how
    many rows of each table, and nothing that says whom it erased."""

    erased_at = models.DateTimeField(db_index=True)
    actor = models.CharField("by", max_length=255)  # "admin:<username>" or "os:<user>"
    lead_found = models.BooleanField("lead was in the mirror", default=False)
    suppressed = models.BooleanField("added to the suppression list", default=True)
    counts = models.JSONField("rows by table", default=dict, blank=True)

    class Meta:
        ordering = ("-erased_at", "-id")

    def __str__(self) -> str:
        return f"erasure at {self.erased_at:%Y-%m-%d %H:%M} by {self.actor}"
