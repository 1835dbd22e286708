"""/api/: version 1 of the endpoints of every app under one browsable root (v1/), the OpenAPI
schema (schema/) and its Swagger UI (docs/) and ReDoc (redoc/) pages, which load their
scripts from the sidecar's static files, never from the internet."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from events.api.urls import router as events_router
from leads.api.urls import router as leads_router

from .docs import OfflineRedocView, OfflineSwaggerView

router = DefaultRouter()
router.registry.extend(leads_router.registry)
router.registry.extend(events_router.registry)

urlpatterns = [
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", OfflineSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc/", OfflineRedocView.as_view(url_name="api-schema"), name="api-redoc"),
]
