"""The lead: Kartra's profile fields plus the mirror's bookkeeping."""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Lower

from .base import Source


class GdprStatus(models.IntegerChoices):
    """``gdpr_lead_status`` as both docs define it."""

    OFF = 0, "GDPR off"
    NOT_SUBJECT = 1, "not subject"
    ACCEPTED = 2, "accepted"
    NOT_ACCEPTED = 3, "not accepted"
    UNKNOWN = 4, "unknown"
    PENDING = 5, "pending"


class Consent(models.TextChoices):
    """Whether the lead agreed to be contacted, one meaning whatever source said it.

    Kartra's ``gdpr_lead_communications`` is a number whose meaning depends on who sends it:
    the outbound API's lead block (webhooks, ``001``/``000``) says "0 – if the user has agreed
    to be contacted, 1 – if not"; ``get_lead`` (``002``) says "1 – Lead has agreed". The raw
    number is kept as sent beside this, with its source.
    """

    AGREED = "agreed", "agreed to be contacted"
    NOT_AGREED = "not_agreed", "not agreed"
    UNKNOWN = "unknown", "unknown"

    @classmethod
    def of(cls, raw: int | None, source: str) -> Consent:
        """What ``gdpr_lead_communications = raw`` means when ``source`` sent it."""
        agreed = AGREED_VALUE.get(source)
        if agreed is None or raw not in (0, 1):
            return cls.UNKNOWN
        return cls.AGREED if raw == agreed else cls.NOT_AGREED


#: The value of ``gdpr_lead_communications`` that means "agreed", by the source that sent it.
AGREED_VALUE = {Source.WEBHOOK: 0, Source.SNAPSHOT: 1}


class MirrorStatus(models.TextChoices):
    """Where the mirror stands with a lead."""

    PENDING = "pending", "pending (known by email or id only)"
    ACTIVE = "active", "mirrored"
    NOT_FOUND = "not_found", "not found in Kartra"
    DELETED = "deleted", "deleted in Kartra"


class Lead(models.Model):
    """One Kartra lead.

    Kartra's lead id (``kartra_id``) is the natural key. It is nullable only for a lead that
    was imported by email and has not been fetched yet (status ``pending``). Profile fields
    keep Kartra's own names; the mirror's bookkeeping columns start with ``mirror_`` so they
    cannot clash with a key Kartra adds later.
    """

    kartra_id = models.BigIntegerField("Kartra id", null=True, blank=True, unique=True)

    first_name = models.CharField(max_length=255, blank=True)
    middle_name = models.CharField(max_length=255, blank=True)
    last_name = models.CharField(max_length=255, blank=True)
    last_name2 = models.CharField(max_length=255, blank=True)
    email = models.CharField(max_length=254, blank=True)
    username = models.CharField(max_length=255, blank=True)
    phone_country_code = models.CharField(max_length=32, blank=True)
    phone = models.CharField(max_length=64, blank=True)
    company = models.CharField(max_length=255, blank=True)
    address = models.CharField(max_length=512, blank=True)
    city = models.CharField(max_length=255, blank=True)
    zip = models.CharField(max_length=64, blank=True)
    state = models.CharField(max_length=255, blank=True)
    country = models.CharField(max_length=255, blank=True)
    date_joined = models.DateTimeField(null=True, blank=True)
    website = models.CharField(max_length=1024, blank=True)
    ip = models.CharField("IP", max_length=64, blank=True)
    ip_country = models.CharField("IP country", max_length=255, blank=True)
    facebook = models.CharField(max_length=1024, blank=True)
    twitter = models.CharField(max_length=1024, blank=True)
    linkedin = models.CharField(max_length=1024, blank=True)
    google_plus = models.CharField(max_length=1024, blank=True)
    sales_tax_id = models.CharField(max_length=255, blank=True)
    lead_picture = models.CharField(max_length=1024, blank=True)
    source = models.CharField(max_length=64, blank=True)
    source_id = models.BigIntegerField(null=True, blank=True)
    score = models.IntegerField(null=True, blank=True)
    referring_id = models.BigIntegerField(null=True, blank=True)
    blacklisted = models.BooleanField(default=False)
    notes = models.TextField(blank=True)
    lead_preferred_time_zone = models.CharField(max_length=64, blank=True)
    business_type = models.CharField(max_length=64, blank=True)
    gdpr_lead_status = models.SmallIntegerField(
        "GDPR status", null=True, blank=True, choices=GdprStatus.choices
    )
    gdpr_lead_status_date = models.DateTimeField("GDPR status date", null=True, blank=True)
    gdpr_lead_status_ip = models.CharField("GDPR status IP", max_length=64, blank=True)
    # Kept as Kartra sent it: the outbound doc says 0 = agreed, the inbound doc 1 = agreed;
    # ``consent`` says what it meant, ``consent_source`` who sent it.
    gdpr_lead_communications = models.SmallIntegerField(
        "GDPR communications (as sent)", null=True, blank=True
    )
    consent = models.CharField(
        "consent to be contacted", max_length=16, choices=Consent.choices, default=Consent.UNKNOWN
    )
    consent_source = models.CharField(
        "consent as sent by", max_length=16, choices=Source.choices, blank=True
    )
    lead_deleted = models.BooleanField("deleted", default=False)
    lead_deleted_date = models.DateTimeField("deleted on", null=True, blank=True)

    mirror_status = models.CharField(
        "mirror status", max_length=16, choices=MirrorStatus.choices, default=MirrorStatus.ACTIVE
    )
    mirror_raw = models.JSONField("raw JSON of the last observation", default=dict, blank=True)
    mirror_raw_source = models.CharField(max_length=16, choices=Source.choices, blank=True)
    mirror_first_seen = models.DateTimeField("first seen", auto_now_add=True)
    mirror_profile_observed_at = models.DateTimeField(
        "profile last observed", null=True, blank=True
    )
    mirror_webhook_at = models.DateTimeField("last webhook", null=True, blank=True)
    mirror_refreshed_at = models.DateTimeField("last full refresh", null=True, blank=True)
    mirror_refresh_requested_at = models.DateTimeField("refresh requested", null=True, blank=True)
    mirror_last_activity_at = models.DateTimeField("last activity", null=True, blank=True)
    # {"tags": "<ISO time>", ...}: when the newest get_lead snapshot that listed each relation
    # set was requested. A snapshot is the whole truth about a set it lists, so an older
    # observation must not add a row to that set (see leads.services.state).
    mirror_sets_replaced_at = models.JSONField(
        "relation sets last replaced by get_lead", null=True, blank=True
    )
    mirror_updated = models.DateTimeField("mirror row updated", auto_now=True)

    class Meta:
        ordering = ("-kartra_id",)
        # Not granted by view or delete: erasing removes a person's every row (events.erasure).
        permissions = [("erase_lead", "Can erase a lead and everything about it (GDPR)")]
        constraints = [
            # Kartra: "no two leads can share the same ID or the same Email".
            models.UniqueConstraint(
                Lower("email"),
                condition=~models.Q(email=""),
                name="lead_email_ci_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["mirror_refreshed_at"], name="lead_refreshed_idx"),
            models.Index(fields=["mirror_refresh_requested_at"], name="lead_refresh_req_idx"),
            # Keyset paging orders by (field, id) and seeks to (value, id); a sort or a
            # filter on the field alone uses the same index.
            models.Index(
                fields=["mirror_last_activity_at", "id"], name="lead_last_activity_page_idx"
            ),
            models.Index(fields=["mirror_updated", "id"], name="lead_updated_page_idx"),
            models.Index(fields=["date_joined", "id"], name="lead_joined_page_idx"),
            models.Index(fields=["score", "id"], name="lead_score_page_idx"),
            models.Index(fields=["source"], name="lead_source_idx"),
        ]

    def __str__(self) -> str:
        name = " ".join(part for part in (self.first_name, self.last_name) if part)
        label = self.email or (f"#{self.kartra_id}" if self.kartra_id else f"pk {self.pk}")
        return f"{name} <{label}>" if name else label

    @property
    def full_name(self) -> str:
        parts = (self.first_name, self.middle_name, self.last_name, self.last_name2)
        return " ".join(part for part in parts if part)
