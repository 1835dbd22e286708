"""Top-level URL configuration."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from events import health

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),  # the admin is the product
    path("admin/", admin.site.urls),
    # Read-only REST API: /api/v1/..., /api/schema/, /api/docs/, /api/redoc/.
    path("api/", include("kartra_mirror.api.urls")),
    path("webhooks/", include("events.urls")),
    # For monitoring: /healthz (no authentication), /metrics (bearer token).
    path("healthz", health.healthz, name="healthz"),
    path("metrics", health.metrics, name="metrics"),
]
