"""The change history in the admin: every recorded change, newest first, with a link to the
delivery or sync run that made it (the lead page shows a lead's own on its timeline)."""

import json

from django.contrib import admin
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.html import format_html

from kartra_mirror.admin import MirrorAdmin, admin_link, pre, short_datetime
from leads.models import Change

from .search import LeadSearchMixin
from .timeline import change_origin, change_value


@admin.register(Change)
class ChangeAdmin(LeadSearchMixin, MirrorAdmin):
    list_display = ("observed", "lead_link", "kind", "name", "old_value", "new_value", "by")
    list_display_links = ("observed",)
    list_select_related = ("lead",)
    list_filter = ("kind", "source", ("observed_at", admin.DateFieldListFilter))
    sortable_by = ()
    hidden_fields = ("old", "new", "ref")
    extra_readonly = ("old_pretty", "new_pretty", "by")

    @admin.display(description="observed", ordering="observed_at")
    def observed(self, obj: Change) -> str:
        return short_datetime(obj.observed_at)

    @admin.display(description="lead")
    def lead_link(self, obj: Change) -> str:
        return admin_link(obj.lead)

    @admin.display(description="before")
    def old_value(self, obj: Change) -> str:
        return change_value(obj.old)

    @admin.display(description="after")
    def new_value(self, obj: Change) -> str:
        return change_value(obj.new)

    @admin.display(description="made by")
    def by(self, obj: Change) -> str:
        by, url = change_origin(obj)
        return format_html('<a href="{}">{}</a>', url, by) if url else by

    @admin.display(description="before")
    def old_pretty(self, obj: Change) -> str:
        return pre(json.dumps(obj.old, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False))

    @admin.display(description="after")
    def new_pretty(self, obj: Change) -> str:
        return pre(json.dumps(obj.new, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False))
