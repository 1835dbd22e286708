from django.urls import path

from .views import KartraIpnView, KartraWebhookView

app_name = "events"
urlpatterns = [
    path("kartra/<str:token>/", KartraWebhookView.as_view(), name="kartra-webhook"),
    path("kartra/<str:token>/ipn/", KartraIpnView.as_view(), name="kartra-ipn"),
]
