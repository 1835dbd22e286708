"""Erasure's part of the leads' admin: the permission the lead list's "Erase lead (GDPR)"
action asks for, and the suppression list the erasure fills. The action and the erasure
itself are ``events.lead_admin`` and ``events.erasure`` (an erasure deletes deliveries and
records itself, both ``events``' rows)."""

from __future__ import annotations

from django.contrib import admin

from kartra_mirror.admin import MirrorAdmin, short_datetime
from leads.models import Suppression

#: Its own permission: neither viewing nor any other permission grants it.
ERASE_PERMISSION = "leads.erase_lead"


@admin.register(Suppression)
class SuppressionAdmin(MirrorAdmin):
    """The suppression list, read-only: hashes only (``kartra_erase --lift`` removes one)."""

    list_display = ("digest", "kind", "added")
    list_filter = ("kind",)

    @admin.display(description="added", ordering="created_at")
    def added(self, obj: Suppression) -> str:
        return short_datetime(obj.created_at)
