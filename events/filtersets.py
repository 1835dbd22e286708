"""FilterSets over activity, webhook deliveries and sync runs (indexed on PostgreSQL)."""

from django_filters import rest_framework as filters

from events.models import Activity, Delivery, DeliveryStatus, SyncRun, SyncRunStatus
from kartra_mirror.api.filters import DateTimeFilter, Int64Filter, MirrorFilterSet


class ActivityFilterSet(MirrorFilterSet):
    lead = Int64Filter(field_name="lead__kartra_id", help_text="Lead's Kartra id.")
    action = filters.CharFilter()
    occurred_after = DateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = DateTimeFilter(field_name="occurred_at", lookup_expr="lte")

    class Meta:
        model = Activity
        fields = ("lead", "action", "occurred_after", "occurred_before")


class DeliveryFilterSet(MirrorFilterSet):
    status = filters.ChoiceFilter(choices=DeliveryStatus.choices)
    action = filters.CharFilter()
    lead = Int64Filter(field_name="lead_kartra_id", help_text="Lead's Kartra id.")
    received_after = DateTimeFilter(field_name="received_at", lookup_expr="gte")
    received_before = DateTimeFilter(field_name="received_at", lookup_expr="lte")

    class Meta:
        model = Delivery
        fields = ("status", "action", "lead", "received_after", "received_before")


class SyncRunFilterSet(MirrorFilterSet):
    kind = filters.CharFilter()
    status = filters.ChoiceFilter(choices=SyncRunStatus.choices)
    started_after = DateTimeFilter(field_name="started_at", lookup_expr="gte")
    started_before = DateTimeFilter(field_name="started_at", lookup_expr="lte")

    class Meta:
        model = SyncRun
        fields = ("kind", "status", "started_after", "started_before")
