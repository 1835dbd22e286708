"""Routes of the events app's endpoints; ``kartra_mirror.api.urls`` mounts them at /api/v1/."""

from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("activity", views.ActivityViewSet)
router.register("deliveries", views.DeliveryViewSet)
router.register("sync-runs", views.SyncRunViewSet)

urlpatterns = router.urls
