"""What this app adds to the leads' admin, which sits below it and never imports it: the
webhooks' activity on the lead's timeline, the lead page's webhook deliveries and last
audit's drift (with links to all of them), and the lead list's GDPR erase action. Each fills
an extension point ``leads.admin`` owns; :func:`lead_admin_extend` adds them all, once, when
the app is ready (``events.apps``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Count
from django.template.response import TemplateResponse

from kartra_mirror.admin import changelist_url
from leads.admin.lead import lead_action_add
from leads.admin.lead_page import lead_page_part_add
from leads.admin.timeline import (
    Entry,
    Kind,
    Position,
    admin_url,
    older_than,
    timeline_source_add,
)
from leads.models import Lead

from .erasure import lead_erase
from .models import Activity, AuditDifference, Delivery

#: Rank 1: below purchases, calendar sessions and surveys of the same instant, above the
#: changes a delivery made (``leads.admin.timeline.CHANGES``).
ACTIVITY = Kind("activity", "Activity", 1)
DELIVERIES_SHOWN = 20


def lead_admin_extend() -> None:
    """Add this app's kinds, parts and actions to the leads' admin."""
    timeline_source_add(ACTIVITY, activity_entries)
    lead_page_part_add("events", lead_page_events)
    lead_action_add(erase_lead)


# -- the timeline's activity ---------------------------------------------------------------


#: What each webhook action means, as the timeline says it.
ACTION_LABELS = {
    "lead_created": "Lead created",
    "list_subscription": "Subscribed to list",
    "list_unsubscription": "Unsubscribed from list",
    "assign_tag": "Tag assigned",
    "unassign_tag": "Tag removed",
    "filled_form": "Filled a form",
    "sequence_subscription": "Subscribed to sequence",
    "sequence_unsubscription": "Unsubscribed from sequence",
    "sequence_completion": "Completed sequence",
    "click_tracking_link": "Clicked a tracking link",
    "click_page_split_test_link": "Clicked a split-test link",
    "buy_product": "Bought",
    "refund_product": "Refunded",
    "partial_refund_product": "Partially refunded",
    "cancel_subscription": "Cancelled a subscription",
    "video_play": "Played a video",
    "video_complete": "Watched a video to the end",
    "reaches_score": "Reached a score",
    "membership_granted": "Membership granted",
    "membership_revoked": "Membership revoked",
    "affiliate_signup": "Signed up as affiliate",
    "jv_signup": "Signed up as JV partner",
    "kartra_page_visit": "Visited a page",
    "calendar_subscribe": "Booked a calendar",
    "calendar_complete": "Completed a calendar session",
    "calendar_cancel": "Cancelled a calendar booking",
    "survey_complete": "Completed a survey",
}


def action_label(action: str) -> str:
    return ACTION_LABELS.get(action) or action.replace("_", " ").capitalize()


def activity_entries(lead: Lead, position: Position | None, limit: int) -> Iterable[Entry]:
    # A purchase's webhook links its transaction, which the timeline shows as a purchase.
    rows = (
        Activity.objects.filter(lead=lead, transaction__isnull=True)
        .filter(older_than(position, ACTIVITY.rank, "occurred_at"))
        .select_related("asset", "product")
        .order_by("-occurred_at", "-pk")[:limit]
    )
    for row in rows:
        details = [str(value) for value in (row.details or {}).values() if value not in ("", None)]
        targets = [str(target) for target in (row.asset, row.product) if target is not None]
        if row.points is not None:
            targets.append(f"score {row.points}")
        yield Entry(
            at=row.occurred_at,
            kind=ACTIVITY,
            key=row.pk,
            title=action_label(row.action),
            detail=" · ".join(targets + details),
            url=admin_url("events_activity", row.pk),
        )


# -- the lead page's deliveries and drift --------------------------------------------------


def lead_page_events(lead: Lead) -> dict[str, Any]:
    """The lead's latest webhook deliveries (read as the page shows them) and last drift
    from Kartra, with links to all of its activity, deliveries and audit differences."""
    return {
        "deliveries": Delivery.objects.filter(lead=lead)
        .defer("body", "headers", "traceback")
        .order_by("-received_at", "-id")[:DELIVERIES_SHOWN],
        "deliveries_shown": DELIVERIES_SHOWN,
        "drift": last_drift(lead),
        "all_activity_url": changelist_url(Activity, lead=lead.pk),
        "all_deliveries_url": changelist_url(Delivery, lead=lead.pk),
        "drift_url": changelist_url(AuditDifference, q=lead.kartra_id or ""),
    }


def last_drift(lead: Lead) -> dict[str, Any] | None:
    """How many differences from Kartra the latest audit that found any on this lead found,
    and when it started; None when none has, or when the lead was refreshed since (which
    took Kartra's copy, repairing them)."""
    drift = (
        AuditDifference.objects.filter(lead=lead)
        .values("run_id", "run__started_at")
        .annotate(differences=Count("pk"))
        .order_by("-run_id")
        .first()
    )
    refreshed = lead.mirror_refreshed_at
    if drift is None or (refreshed is not None and refreshed > drift["run__started_at"]):
        return None
    return drift


# -- the lead list's erase action ----------------------------------------------------------


@admin.action(description="Erase lead (GDPR)", permissions=["erase"])
def erase_lead(modeladmin, request, queryset):
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
