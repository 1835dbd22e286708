"""The change history as the change feed shows it."""

from rest_framework import serializers

from kartra_mirror.api.addressing import Address
from kartra_mirror.api.serializers import (
    LeadBriefSerializer,
    MirrorSerializer,
    RowUrlField,
    inline_choice_field,
)
from leads.models import Change, ChangeKind, Source

from .base import LEAD_HEAVY


class ChangeSerializer(MirrorSerializer):
    """One change to a lead: what changed (`kind`, `name`), its value before (`old`) and
    after (`new`; null when a row is gone), when it was observed, and what observed it: a
    webhook or IPN delivery (`delivery`) or a `get_lead` refresh (`sync_run`, when a sync
    run made it). `id` is the change's place in the feed."""

    url = RowUrlField(address=Address.OWN)
    lead = LeadBriefSerializer(read_only=True)
    kind = inline_choice_field(ChangeKind)
    source = inline_choice_field(Source)
    old = serializers.JSONField(read_only=True, allow_null=True)
    new = serializers.JSONField(read_only=True, allow_null=True)
    delivery = serializers.SerializerMethodField()
    sync_run = serializers.SerializerMethodField()

    class Meta:
        model = Change
        fields = (
            "id",
            "url",
            "lead",
            "kind",
            "name",
            "old",
            "new",
            "observed_at",
            "source",
            "delivery",
            "sync_run",
            "recorded_at",
        )
        select_related = ("lead",)
        defer = LEAD_HEAVY

    def get_delivery(self, change: Change) -> int | None:
        return change.ref if change.source == Source.WEBHOOK else None

    def get_sync_run(self, change: Change) -> int | None:
        return change.ref if change.source == Source.SNAPSHOT else None
