"""Read-only endpoints over activity, and (staff only) webhook deliveries and sync runs: the
mirror's own records, whose id is the mirror's and addresses them (``Address.OWN``)."""

from events import filtersets
from events.models import Activity, Delivery, SyncRun
from kartra_mirror.api.addressing import Address
from kartra_mirror.api.permissions import StaffViewModelPermissions
from kartra_mirror.api.viewsets import MirrorViewSet

from . import serializers


class ActivityViewSet(MirrorViewSet):
    address = Address.OWN
    queryset = Activity.objects.all()
    serializer_class = serializers.ActivitySerializer
    filterset_class = filtersets.ActivityFilterSet
    ordering, ordering_fields = "-occurred_at", ("occurred_at", "id")


class DeliveryViewSet(MirrorViewSet):
    address = Address.OWN
    permission_classes = (StaffViewModelPermissions,)
    queryset = Delivery.objects.all()
    serializer_class = serializers.DeliverySerializer
    detail_serializer_class = serializers.DeliveryDetailSerializer
    filterset_class = filtersets.DeliveryFilterSet
    ordering, ordering_fields = "-received_at", ("received_at", "id")


class SyncRunViewSet(MirrorViewSet):
    address = Address.OWN
    permission_classes = (StaffViewModelPermissions,)
    queryset = SyncRun.objects.all()
    serializer_class = serializers.SyncRunSerializer
    filterset_class = filtersets.SyncRunFilterSet
    ordering, ordering_fields = "-started_at", ("started_at", "id")
