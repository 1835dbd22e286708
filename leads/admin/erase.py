"""The lead list's "Erase lead (GDPR)" action: a confirmation page, then the erasure
(``events.erasure``) of each selected lead, for holders of ``leads.erase_lead`` only."""

from __future__ import annotations

from collections import Counter

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse

from events.erasure import lead_erase
from leads.models import Suppression

from .base import MirrorAdmin, short_datetime

#: Its own permission: neither viewing nor any other permission grants it.
ERASE_PERMISSION = "leads.erase_lead"


def leads_erase_action(modeladmin, request, queryset):
    """Without ``post=yes``, the confirmation page (the leads and the rows each table would
    lose); with it, erase each lead and say how many were erased, by record."""
    leads = list(queryset.order_by("pk"))
    actor = f"admin:{request.user.get_username()}"
    if request.POST.get("post") != "yes":
        counts: Counter = Counter()
        for lead in leads:
            counts.update(_erase(lead, actor, dry_run=True))
        context = {
            **modeladmin.admin_site.each_context(request),
            "title": "Erase leads (GDPR)",
            "opts": modeladmin.model._meta,
            "queryset": leads,
            "counts": sorted(counts.items()),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": modeladmin.media,
        }
        return TemplateResponse(request, "admin/leads/lead/erase_confirmation.html", context)
    records = [_erase(lead, actor, dry_run=False) for lead in leads]
    modeladmin.message_user(
        request,
        f"Erased {len(records)} lead(s); each erasure is recorded under Erasures.",
        messages.SUCCESS,
    )
    return None


def _erase(lead, actor: str, *, dry_run: bool) -> dict[str, int]:
    # A lead always has a Kartra id or an email (an import needs one), so it is found.
    record = lead_erase(email=lead.email, kartra_id=lead.kartra_id, actor=actor, dry_run=dry_run)
    return record.counts


@admin.register(Suppression)
class SuppressionAdmin(MirrorAdmin):
    """The suppression list, read-only: hashes only (``kartra_erase --lift`` removes one)."""

    list_display = ("digest", "kind", "added")
    list_filter = ("kind",)

    @admin.display(description="added", ordering="created_at")
    def added(self, obj: Suppression) -> str:
        return short_datetime(obj.created_at)
