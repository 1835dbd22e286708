"""Read-only endpoints over the mirrored account: one declarative viewset per model."""

from kartra_mirror.api.addressing import Address
from kartra_mirror.api.pagination import FeedPagination
from kartra_mirror.api.viewsets import MirrorViewSet
from leads.filtersets import catalog, relations
from leads.filtersets.lead import LeadFilterSet
from leads.models import (
    Asset,
    Calendar,
    CalendarClass,
    CalendarSubscription,
    Change,
    CustomField,
    Lead,
    List,
    Membership,
    MembershipLevel,
    Product,
    Sequence,
    Subscription,
    Survey,
    SurveyResult,
    Tag,
    Transaction,
)
from leads.selectors import subscriptions_with_status

from . import serializers

# Orderings offered must each be backed by an index (see migrations/0002_api_indexes; the
# unique Kartra ids have theirs). ``id`` is the Kartra id; the default ``-pk`` (MirrorViewSet)
# is the primary key. Kinds whose Kartra id is unique only within a parent offer none.
CATALOG_ORDERING = ("name", "id")


class LeadViewSet(MirrorViewSet):
    queryset = Lead.objects.all()
    serializer_class = serializers.LeadSerializer
    detail_serializer_class = serializers.LeadDetailSerializer
    filterset_class = LeadFilterSet
    search_fields = ("email", "first_name", "last_name", "phone")
    ordering_fields = (
        "id",
        "date_joined",
        "score",
        "mirror_updated",
        "mirror_last_activity_at",
    )


class CustomFieldViewSet(MirrorViewSet):
    queryset = CustomField.objects.all()
    serializer_class = serializers.CustomFieldSerializer
    filterset_class = catalog.CustomFieldFilterSet
    ordering, ordering_fields = "identifier", ("identifier", "id")


class TagViewSet(MirrorViewSet):
    queryset = Tag.objects.all()
    serializer_class = serializers.TagSerializer
    filterset_class = catalog.TagFilterSet
    ordering, ordering_fields = "name", CATALOG_ORDERING


class ListViewSet(MirrorViewSet):
    queryset = List.objects.all()
    serializer_class = serializers.ListSerializer
    filterset_class = catalog.ListFilterSet
    ordering, ordering_fields = "name", CATALOG_ORDERING


class SequenceViewSet(MirrorViewSet):
    queryset = Sequence.objects.all()
    serializer_class = serializers.SequenceSerializer
    filterset_class = catalog.SequenceFilterSet
    ordering, ordering_fields = "name", CATALOG_ORDERING


class MembershipViewSet(MirrorViewSet):
    queryset = Membership.objects.all()
    serializer_class = serializers.MembershipSerializer
    filterset_class = catalog.MembershipFilterSet
    ordering, ordering_fields = "name", CATALOG_ORDERING


class MembershipLevelViewSet(MirrorViewSet):
    # Level ids are unique within their membership only: addressed as mirror-<n>.
    queryset = MembershipLevel.objects.all()
    serializer_class = serializers.MembershipLevelSerializer
    filterset_class = catalog.MembershipLevelFilterSet


class ProductViewSet(MirrorViewSet):
    queryset = Product.objects.all()
    serializer_class = serializers.ProductSerializer
    filterset_class = catalog.ProductFilterSet
    ordering, ordering_fields = "name", CATALOG_ORDERING


class TransactionViewSet(MirrorViewSet):
    queryset = Transaction.objects.all()
    serializer_class = serializers.TransactionSerializer
    filterset_class = relations.TransactionFilterSet
    ordering = "-id"
    ordering_fields = ("id", "transaction_date", "amount")


class SubscriptionViewSet(MirrorViewSet):
    queryset = Subscription.objects.all()
    serializer_class = serializers.SubscriptionSerializer
    filterset_class = relations.SubscriptionFilterSet
    ordering, ordering_fields = "-id", ("id",)

    def get_queryset(self):
        # The status is derived as of each request, never stored (a trial ends on its own).
        return subscriptions_with_status(super().get_queryset())


class CalendarViewSet(MirrorViewSet):
    queryset = Calendar.objects.all()
    serializer_class = serializers.CalendarSerializer
    filterset_class = catalog.CalendarFilterSet
    ordering, ordering_fields = "name", CATALOG_ORDERING


class CalendarClassViewSet(MirrorViewSet):
    # Class ids are unique within their calendar only: addressed as mirror-<n>.
    queryset = CalendarClass.objects.all()
    serializer_class = serializers.CalendarClassSerializer
    filterset_class = catalog.CalendarClassFilterSet


class CalendarSubscriptionViewSet(MirrorViewSet):
    # Webhooks do not always carry Kartra's subscription id: those are mirror-<n>.
    queryset = CalendarSubscription.objects.all()
    serializer_class = serializers.CalendarSubscriptionSerializer
    filterset_class = relations.CalendarSubscriptionFilterSet
    ordering_fields = ("id",)


class SurveyViewSet(MirrorViewSet):
    queryset = Survey.objects.all()
    serializer_class = serializers.SurveySerializer
    filterset_class = catalog.SurveyFilterSet
    ordering, ordering_fields = "name", CATALOG_ORDERING


class SurveyResultViewSet(MirrorViewSet):
    # Kartra gives a survey result no id (a lead has one per survey): mirror-<n>.
    queryset = SurveyResult.objects.all()
    serializer_class = serializers.SurveyResultSerializer
    filterset_class = relations.SurveyResultFilterSet


class AssetViewSet(MirrorViewSet):
    # Asset ids are unique within their kind only: addressed as mirror-<n>.
    queryset = Asset.objects.all()
    serializer_class = serializers.AssetSerializer
    filterset_class = catalog.AssetFilterSet


class ChangeViewSet(MirrorViewSet):
    """The change feed: every change to a lead, in the order recorded, resumed with
    ``?after=<cursor>`` (``FeedPagination``)."""

    address = Address.OWN
    queryset = Change.objects.all()
    serializer_class = serializers.ChangeSerializer
    filterset_class = relations.ChangeFilterSet
    pagination_class = FeedPagination
    ordering = "pk"
