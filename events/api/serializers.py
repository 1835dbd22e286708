"""Activity, webhook deliveries and sync runs as the API shows them."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from events.models import Activity, Delivery, DeliveryStatus, SyncRun, SyncRunStatus
from kartra_mirror.api.serializers import (
    CatalogBriefSerializer,
    LeadBriefSerializer,
    MirrorSerializer,
    inline_choice_field,
)

ACTIVITY_FIELDS = (
    "id",
    "action",
    "occurred_at",
    "asset",
    "product",
    "transaction_kartra_id",
    "points",
    "details",
)
ASSET_SCHEMA = {
    "type": "object",
    "nullable": True,
    "properties": {
        "kind": {"type": "string"},
        "kartra_id": {"type": "integer", "nullable": True},
        "name": {"type": "string"},
    },
}


class ActivityBriefSerializer(MirrorSerializer):
    """One event of a lead's timeline, as the lead detail lists it."""

    asset = serializers.SerializerMethodField()
    product = CatalogBriefSerializer(read_only=True, allow_null=True)
    transaction_kartra_id = serializers.IntegerField(
        source="transaction.kartra_id", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = Activity
        fields = ACTIVITY_FIELDS
        select_related = ("asset", "product", "transaction")
        # The columns the fields show (the lead detail reads its latest activity with them).
        only = (
            "action",
            "occurred_at",
            "points",
            "details",
            "asset__kind",
            "asset__kartra_id",
            "asset__name",
            "product__kartra_id",
            "product__name",
            "transaction__kartra_id",
        )

    @extend_schema_field(ASSET_SCHEMA)
    def get_asset(self, activity: Activity) -> dict | None:
        asset = activity.asset
        if asset is None:
            return None
        return {"kind": asset.kind, "kartra_id": asset.kartra_id, "name": asset.name}


class ActivitySerializer(ActivityBriefSerializer):
    lead = LeadBriefSerializer(read_only=True)
    delivery_id = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = Activity
        fields = (*ACTIVITY_FIELDS, "lead", "delivery_id", "probable_duplicate")
        select_related = ("lead", *ActivityBriefSerializer.Meta.select_related)
        defer = ("lead__mirror_raw", "lead__notes", "transaction__raw")


DELIVERY_FIELDS = (
    "id",
    "received_at",
    "status",
    "action",
    "lead_kartra_id",
    "size",
    "content_type",
    "body_sha256",
    "remote_addr",
    "attempts",
    "processed_at",
    "error",
    "probable_duplicate_of",
    "body_pruned_at",
)


class DeliverySerializer(MirrorSerializer):
    """A webhook delivery in the list: everything but the body, headers and traceback."""

    status = inline_choice_field(DeliveryStatus)

    class Meta:
        model = Delivery
        fields = DELIVERY_FIELDS
        defer = ("body", "headers", "traceback")


class DeliveryDetailSerializer(MirrorSerializer):
    """One delivery with its headers, traceback and body decoded as text (never raw bytes)."""

    status = inline_choice_field(DeliveryStatus)
    body_text = serializers.SerializerMethodField()

    class Meta:
        model = Delivery
        fields = (*DELIVERY_FIELDS, "headers", "traceback", "body_text")

    def get_body_text(self, delivery: Delivery) -> str | None:
        if delivery.body is None:
            return None  # pruned, or refused before it was read
        return bytes(delivery.body).decode("utf-8", errors="replace")


class SyncRunSerializer(MirrorSerializer):
    status = inline_choice_field(SyncRunStatus)

    class Meta:
        model = SyncRun
        fields = (
            "id",
            "kind",
            "arguments",
            "started_at",
            "finished_at",
            "status",
            "leads_refreshed",
            "leads_unchanged",
            "leads_not_found",
            "leads_failed",
            "api_calls",
            "throttled",
            "retries",
            "errors",
        )
