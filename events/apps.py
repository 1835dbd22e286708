from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "events"
    verbose_name = "Deliveries, activity and sync"

    def ready(self) -> None:
        # ``leads`` sits below this app and never imports it; this app adds what it shows on
        # the leads' pages to the extension points ``leads`` owns.
        from leads.api.serializers.lead import lead_detail_field_add

        from .api.serializers import LatestActivityField
        from .lead_admin import lead_admin_extend

        lead_admin_extend()
        lead_detail_field_add("latest_activity", LatestActivityField)
