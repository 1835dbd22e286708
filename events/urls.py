from django.urls import path

from .views import KartraWebhookView

app_name = "events"
urlpatterns = [
    path("kartra/<str:token>/", KartraWebhookView.as_view(), name="kartra-webhook"),
]
