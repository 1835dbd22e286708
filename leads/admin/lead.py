"""The lead list and the lead page: a read-only CRM view of one Kartra lead. Other apps add
actions to the list (:func:`lead_action_add`) and parts to the page (``.lead_page``)."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from kartra_mirror.admin import MirrorAdmin, changelist_url, short_datetime
from leads.models import Lead, Transaction
from leads.services.lead import lead_request_refresh

from .dates import JoinedFilter, LastActivityFilter
from .erase import ERASE_PERMISSION
from .export import lead_csv_response
from .filters import (
    CalendarFilter,
    CustomValueFilter,
    MailingListFilter,
    MembershipFilter,
    MembershipLevelFilter,
    ProductFilter,
    SequenceFilter,
    SourceFilter,
    SurveyFilter,
    TagFilter,
)
from .lead_page import lead_page_sections
from .search import matching_leads
from .segments import (
    INVALID_FILTERS,
    SegmentFilter,
    filtered_leads,
    lead_list_filters,
    lead_list_tools,
)

AUTOCOMPLETE_MEDIA_JS = (
    "admin/js/vendor/jquery/jquery.js",
    "admin/js/vendor/select2/select2.full.js",
    "admin/js/jquery.init.js",
    "admin/js/autocomplete.js",
    "kartra_admin/autocomplete_filter.js",
)
AUTOCOMPLETE_MEDIA_CSS = ("admin/css/vendor/select2/select2.css", "admin/css/autocomplete.css")

#: Actions other apps add to the lead list, after its own (``events.lead_admin`` adds the
#: GDPR erasure): admin action functions, whose ``permissions`` this admin checks as it
#: checks its own (``has_<name>_permission``). Filled at start-up by :func:`lead_action_add`.
LEAD_ACTIONS: list[Callable] = []


def lead_action_add(action: Callable) -> None:
    """Offer ``action(modeladmin, request, queryset)`` on the lead list (once)."""
    if action not in LEAD_ACTIONS:
        LEAD_ACTIONS.append(action)


@admin.register(Lead)
class LeadAdmin(MirrorAdmin):
    list_display = (
        "kartra_id",
        "name",
        "email",
        "score",
        "source",
        "joined",
        "last_activity",
        "last_refreshed",
    )
    list_display_links = ("kartra_id", "email")
    # Only indexed columns sort: ORDER BY an unindexed column reads every lead.
    sortable_by = ("kartra_id", "score", "source", "joined", "last_activity", "last_refreshed")
    list_filter = (
        SegmentFilter,
        TagFilter,
        MailingListFilter,
        MembershipFilter,
        MembershipLevelFilter,
        SequenceFilter,
        ProductFilter,
        CalendarFilter,
        SurveyFilter,
        CustomValueFilter,
        SourceFilter,
        ("gdpr_lead_status", admin.ChoicesFieldListFilter),
        ("consent", admin.ChoicesFieldListFilter),
        "blacklisted",
        "lead_deleted",
        JoinedFilter,
        LastActivityFilter,
        "mirror_status",
    )
    search_fields = ("email", "first_name", "last_name", "phone", "kartra_id")
    search_help_text = (
        "An email (exact or prefix), a Kartra id, a phone number, or first and last names."
    )
    hidden_fields = ("mirror_raw",)
    change_form_template = "admin/leads/lead/change_form.html"
    change_list_template = "admin/leads/lead/change_list.html"
    view_on_site = False
    # The profile card (lead_page.Profile) shows what matters first; the form rows below it
    # hold every field of the lead, folded.
    fieldsets = (
        (
            "Profile details",
            {
                "classes": ["collapse"],
                "fields": (
                    ("kartra_id", "username"),
                    ("first_name", "middle_name"),
                    ("last_name", "last_name2"),
                    "email",
                    ("phone_country_code", "phone"),
                    "company",
                    "website",
                    "business_type",
                    "lead_preferred_time_zone",
                    ("score", "source", "source_id"),
                    ("date_joined", "referring_id"),
                    ("ip", "ip_country"),
                    "lead_picture",
                    "notes",
                ),
            },
        ),
        (
            "Address",
            {
                "classes": ["collapse"],
                "fields": ("address", "city", "zip", "state", "country", "sales_tax_id"),
            },
        ),
        (
            "Social",
            {"classes": ["collapse"], "fields": ("facebook", "twitter", "linkedin", "google_plus")},
        ),
        (
            "Consent and status",
            {
                "classes": ["collapse"],
                "fields": (
                    "gdpr_lead_status",
                    "gdpr_lead_status_date",
                    "gdpr_lead_status_ip",
                    ("consent", "consent_source"),
                    "gdpr_lead_communications",
                    "blacklisted",
                    ("lead_deleted", "lead_deleted_date"),
                ),
            },
        ),
        (
            "Mirror bookkeeping",
            {
                "classes": ["collapse"],
                "fields": (
                    "mirror_status",
                    "mirror_raw_source",
                    "mirror_first_seen",
                    "mirror_profile_observed_at",
                    "mirror_webhook_at",
                    "mirror_refreshed_at",
                    "mirror_refresh_requested_at",
                    "mirror_sets_replaced_at",
                    "mirror_last_activity_at",
                    "mirror_updated",
                ),
            },
        ),
    )

    class Media:
        js = AUTOCOMPLETE_MEDIA_JS
        css = {"screen": AUTOCOMPLETE_MEDIA_CSS}

    @property
    def actions(self) -> tuple:
        """Its own actions, then those other apps add (:data:`LEAD_ACTIONS`)."""
        return ("refresh_from_kartra", "export_csv", *LEAD_ACTIONS)

    @admin.display(description="name")
    def name(self, obj: Lead) -> str:
        return obj.full_name

    @admin.display(description="joined", ordering="date_joined")
    def joined(self, obj: Lead) -> str:
        return short_datetime(obj.date_joined)

    @admin.display(description="last activity", ordering="mirror_last_activity_at")
    def last_activity(self, obj: Lead) -> str:
        return short_datetime(obj.mirror_last_activity_at)

    @admin.display(description="last refreshed", ordering="mirror_refreshed_at")
    def last_refreshed(self, obj: Lead) -> str:
        return short_datetime(obj.mirror_refreshed_at)

    def get_search_results(self, request, queryset, search_term):
        leads = matching_leads(search_term)
        if leads is None:
            return queryset, False
        return queryset.filter(pk__in=leads), False

    def has_refresh_permission(self, request) -> bool:
        return self.has_view_permission(request)

    def has_export_permission(self, request) -> bool:
        return self.has_view_permission(request)

    def has_erase_permission(self, request) -> bool:
        # The lead's own permission (Lead.Meta.permissions), which the erase action
        # ``events.lead_admin`` adds asks for.
        return request.user.has_perm(ERASE_PERMISSION)

    @admin.action(description="Refresh from Kartra", permissions=["refresh"])
    def refresh_from_kartra(self, request, queryset):
        count = lead_request_refresh(lead_ids=queryset.values_list("pk", flat=True))
        self.message_user(
            request,
            f"Refresh requested for {count} lead(s); the sync worker fetches them from Kartra.",
            messages.SUCCESS,
        )

    @admin.action(description="Export CSV (tags, lists, custom fields)", permissions=["export"])
    def export_csv(self, request, queryset):
        return lead_csv_response(queryset)

    # --- the lead list: segments and the export of all its leads --------------------------

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(
            request, {**lead_list_tools(request, self), **(extra_context or {})}
        )

    def export_list_view(self, request):
        """Every lead of the list as filtered, streamed (the export action takes a page's
        selected rows)."""
        if not self.has_export_permission(request):
            raise PermissionDenied
        filters = lead_list_filters(request.GET)
        try:
            leads = filtered_leads(self, request, filters)
        except INVALID_FILTERS:
            self.message_user(
                request,
                "The lead list does not take these filters; nothing exported.",
                messages.ERROR,
            )
            return HttpResponseRedirect(changelist_url(Lead))
        return lead_csv_response(leads)

    # --- the lead page ------------------------------------------------------------------

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        view = self.admin_site.admin_view
        return [
            path("export/", view(self.export_list_view), name=f"{prefix}_export_list"),
            path(
                "<path:object_id>/refresh/",
                view(require_POST(self.refresh_view)),
                name=f"{prefix}_refresh",
            ),
            path(
                "<path:object_id>/export/",
                view(self.export_view),
                name=f"{prefix}_export",
            ),
            *super().get_urls(),
        ]

    def _lead_or_404(self, request, object_id: str) -> Lead:
        lead = self.get_object(request, unquote(object_id))
        if lead is None:
            raise Http404("No such lead.")
        return lead

    def refresh_view(self, request, object_id: str):
        if not self.has_refresh_permission(request):
            raise PermissionDenied
        lead = self._lead_or_404(request, object_id)
        lead_request_refresh(lead_ids=[lead.pk])
        self.message_user(
            request,
            f"Refresh requested for {lead}; the sync worker fetches it from Kartra.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:leads_lead_change", args=[lead.pk]))

    def export_view(self, request, object_id: str):
        if not self.has_export_permission(request):
            raise PermissionDenied
        lead = self._lead_or_404(request, object_id)
        return lead_csv_response(Lead.objects.filter(pk=lead.pk))

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context.update(
                lead_page_sections(
                    obj,
                    timeline_kind=request.GET.get("timeline"),
                    timeline_after=request.GET.get("after"),
                )
            )
            context["all_transactions_url"] = changelist_url(Transaction, lead=obj.pk)
            context["can_refresh"] = self.has_refresh_permission(request)
        return super().render_change_form(request, context, add, change, form_url, obj)
