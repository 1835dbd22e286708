"""Activity, webhook deliveries and sync runs as the API shows them.

They are the mirror's own records: their ``id`` is the mirror's, and addresses them. What
they point at in the account (a lead, a product, an asset) they show by Kartra id and url.
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from events.models import Activity, Delivery, DeliveryStatus, SyncRun, SyncRunStatus
from kartra_mirror.api.addressing import Address
from kartra_mirror.api.serializers import (
    CatalogBriefSerializer,
    KartraSerializer,
    LeadBriefSerializer,
    MirrorSerializer,
    RowUrlField,
    inline_choice_field,
)
from leads.api.serializers.base import LATEST_ACTIVITY
from leads.models import Asset, Lead

ACTIVITY_FIELDS = (
    "id",
    "url",
    "action",
    "occurred_at",
    "asset",
    "product",
    "transaction_kartra_id",
    "points",
    "details",
)
LEAD_HEAVY = ("lead__mirror_raw", "lead__notes")


class AssetBriefSerializer(KartraSerializer):
    """The page, form, video or link an activity points at."""

    class Meta:
        model = Asset
        fields = ("id", "url", "kind", "name")


class ActivityBriefSerializer(MirrorSerializer):
    """One event of a lead's timeline, as the lead detail lists it."""

    url = RowUrlField(address=Address.OWN)
    asset = AssetBriefSerializer(read_only=True, allow_null=True)
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


@extend_schema_field(ActivityBriefSerializer(many=True))
class LatestActivityField(serializers.Field):
    """A lead's newest activity, which this app adds to the lead detail as
    ``latest_activity`` (``leads.api.serializers.lead_detail_field_add``; ``events.apps``).
    One query. Not a sliced Prefetch: that compiles a window function query for a page of
    leads, which costs more than it saves for one lead (the detail only ever shows one)."""

    def __init__(self) -> None:
        super().__init__(source="*", read_only=True)

    def to_representation(self, lead: Lead) -> list[dict]:
        activity = (
            Activity.objects.filter(lead=lead)
            .select_related(*ActivityBriefSerializer.Meta.select_related)
            .only(*ActivityBriefSerializer.Meta.only)
            .order_by("-occurred_at", "-id")[:LATEST_ACTIVITY]
        )
        return ActivityBriefSerializer(activity, many=True, context=self.context).data


class ActivitySerializer(ActivityBriefSerializer):
    lead = LeadBriefSerializer(read_only=True)
    delivery_id = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = Activity
        fields = (*ACTIVITY_FIELDS, "lead", "delivery_id", "probable_duplicate")
        select_related = ("lead", *ActivityBriefSerializer.Meta.select_related)
        defer = (*LEAD_HEAVY, "transaction__raw")


DELIVERY_FIELDS = (
    "id",
    "url",
    "received_at",
    "status",
    "action",
    "lead_kartra_id",
    "lead",
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
    """A webhook delivery in the list: everything but the body, headers and traceback.

    ``lead_kartra_id`` is the lead the body names; ``lead`` the mirrored lead processing
    applied it to (null until then)."""

    url = RowUrlField(address=Address.OWN)
    status = inline_choice_field(DeliveryStatus)
    lead = LeadBriefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Delivery
        fields = DELIVERY_FIELDS
        select_related = ("lead",)
        defer = ("body", "headers", "traceback", *LEAD_HEAVY)


class DeliveryDetailSerializer(DeliverySerializer):
    """One delivery with its headers, traceback and body decoded as text (never raw bytes)."""

    body_text = serializers.SerializerMethodField()

    class Meta:
        model = Delivery
        fields = (*DELIVERY_FIELDS, "headers", "traceback", "body_text")
        select_related = ("lead",)
        defer = LEAD_HEAVY

    def get_body_text(self, delivery: Delivery) -> str | None:
        if delivery.body is None:
            return None  # pruned, or refused before it was read
        return bytes(delivery.body).decode("utf-8", errors="replace")


class SyncRunSerializer(MirrorSerializer):
    url = RowUrlField(address=Address.OWN)
    status = inline_choice_field(SyncRunStatus)

    class Meta:
        model = SyncRun
        fields = (
            "id",
            "url",
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
