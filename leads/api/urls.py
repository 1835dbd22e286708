"""Routes of the leads app's endpoints; ``kartra_mirror.api.urls`` mounts them at /api/v1/."""

from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("leads", views.LeadViewSet)
router.register("custom-fields", views.CustomFieldViewSet)
router.register("tags", views.TagViewSet)
router.register("lists", views.ListViewSet)
router.register("sequences", views.SequenceViewSet)
router.register("memberships", views.MembershipViewSet)
router.register("membership-levels", views.MembershipLevelViewSet)
router.register("products", views.ProductViewSet)
router.register("transactions", views.TransactionViewSet)
router.register("subscriptions", views.SubscriptionViewSet)
router.register("calendars", views.CalendarViewSet)
router.register("calendar-classes", views.CalendarClassViewSet)
router.register("calendar-subscriptions", views.CalendarSubscriptionViewSet)
router.register("surveys", views.SurveyViewSet)
router.register("survey-results", views.SurveyResultViewSet)
router.register("assets", views.AssetViewSet)
router.register("changes", views.ChangeViewSet)

urlpatterns = router.urls
