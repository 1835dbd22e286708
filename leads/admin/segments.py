"""Segments: lead lists people keep, share, count and export.

A segment is the lead list's own query string (its filters and search). Opening one is a
link to the lead list with that query string; counting or exporting one runs the lead
list's filters on it (``lead_list``), so a segment selects exactly what the list shows.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import (
    ALL_VAR,
    ERROR_FLAG,
    IS_FACETS_VAR,
    IS_POPUP_VAR,
    ORDER_VAR,
    PAGE_VAR,
    TO_FIELD_VAR,
    ChangeList,
)
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.db.models import QuerySet
from django.http import Http404, HttpResponseRedirect, QueryDict
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.text import slugify

from kartra_mirror.admin import COUNT_BOUND, bounded_count, changelist_url
from leads.models import Lead, Segment
from leads.selectors import segment_is_editable_by, segments_visible_to

from .export import lead_csv_response

# Parameters of the lead list that say how it is shown, not which leads it holds.
NOT_FILTERS = frozenset(
    {ALL_VAR, ERROR_FLAG, IS_FACETS_VAR, IS_POPUP_VAR, ORDER_VAR, PAGE_VAR, TO_FIELD_VAR}
    | {"_changelist_filters"}
)
# How many segments the lead list's chooser names; the segment list has them all.
CHOOSER_LIMIT = 30
INVALID_FILTERS = (IncorrectLookupParameters, SuspiciousOperation)


def lead_list_filters(params: QueryDict | Mapping[str, Iterable[str]]) -> str:
    """The filters and search of a lead list's parameters as a query string, in a stable
    order: what a segment keeps, and what tells which segment a list shows."""
    items = params.lists() if isinstance(params, QueryDict) else params.items()
    pairs = sorted(
        (name, value) for name, values in items if name not in NOT_FILTERS for value in values
    )
    return urlencode(pairs)


def parse_filters(text: str) -> str:
    """A query string typed or pasted (with or without ``?``, or a whole lead list URL),
    normalised by ``lead_list_filters``."""
    text = text.strip()
    if "?" in text:
        text = text.split("?", 1)[1]
    return lead_list_filters(QueryDict(text))


class LeadListQuery(ChangeList):
    """The lead list for a query string: its filters, search and queryset, without
    counting the rows or reading a page."""

    def get_results(self, request):
        self.result_count = self.full_result_count = None
        self.result_list = []


def lead_list(lead_admin: admin.ModelAdmin, request, filters: str) -> LeadListQuery:
    """The lead list ``request``'s user would see for ``filters`` (a query string).

    Raises IncorrectLookupParameters or SuspiciousOperation, as the list itself does, for
    filters it does not take.
    """
    listing = copy.copy(request)
    listing.GET = QueryDict(filters)
    return LeadListQuery(
        listing,
        lead_admin.model,
        (),  # list_display: nothing is shown
        (),
        lead_admin.get_list_filter(listing),
        lead_admin.date_hierarchy,
        lead_admin.get_search_fields(listing),
        (),
        lead_admin.list_per_page,
        lead_admin.list_max_show_all,
        (),
        lead_admin,
        (),
        "",
    )


def filtered_leads(lead_admin: admin.ModelAdmin, request, filters: str) -> QuerySet[Lead]:
    """The leads of the lead list for ``filters``; raises as ``lead_list`` does."""
    return lead_list(lead_admin, request, filters).queryset


def describe_filters(changelist: ChangeList) -> list[str]:
    """Each filter in use and its search, in words: ``["tag: VIP", 'search: "ada"']``."""
    parts = []
    for spec in changelist.filter_specs:
        if hasattr(spec, "describe"):
            text = spec.describe()
        elif spec.used_parameters:
            text = ", ".join(
                str(choice["display"]) for choice in spec.choices(changelist) if choice["selected"]
            ) or ", ".join(f"{name}={value}" for name, value in spec.used_parameters.items())
        else:
            text = ""
        if text:
            parts.append(f"{spec.title}: {text}")
    # Plain field lookups no filter reads (``date_joined__gte=...`` from an older link).
    read = {name for spec in changelist.filter_specs for name in spec.expected_parameters()}
    for name, values in changelist.get_filters_params().items():
        if name not in read:
            parts.append(f"{name}: {', '.join(values)}")
    if changelist.query:
        parts.append(f'search: "{changelist.query}"')
    return parts


def segment_summary(lead_admin: admin.ModelAdmin, request, filters: str) -> dict:
    """What a segment's filters select, for its page: ``filters`` in words, the bounded
    count, or ``invalid`` when the lead list no longer takes them."""
    try:
        changelist = lead_list(lead_admin, request, filters)
    except INVALID_FILTERS:
        return {"invalid": True, "filters": [], "count": None, "more": False}
    count = bounded_count(changelist.queryset, bound=COUNT_BOUND)
    return {
        "invalid": False,
        "filters": describe_filters(changelist) or ["none: every lead"],
        "count": min(count, COUNT_BOUND),
        "more": count > COUNT_BOUND,
    }


def lead_list_url(filters: str) -> str:
    return f"{changelist_url(Lead)}?{filters}" if filters else changelist_url(Lead)


def lead_list_tools(request, lead_admin: admin.ModelAdmin) -> dict:
    """The lead list's links to save its filters as a segment and to export all its leads."""
    filters = lead_list_filters(request.GET)
    tools = {}
    if request.user.has_perm("leads.add_segment"):
        tools["segment_add_url"] = (
            f"{reverse('admin:leads_segment_add')}?{urlencode({'filters': filters})}"
        )
    if lead_admin.has_export_permission(request):
        url = reverse("admin:leads_lead_export_list")
        tools["export_list_url"] = f"{url}?{filters}" if filters else url
    return tools


class SegmentFilter(admin.ListFilter):
    """The lead list's segment chooser: a link to each segment its user sees; the one whose
    filters the list shows is marked. It narrows nothing itself."""

    title = "segment"
    template = "admin/kartra/segment_filter.html"

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        self.user = request.user

    def has_output(self) -> bool:
        return self.user.has_perm("leads.view_segment")

    def expected_parameters(self):
        return []

    def queryset(self, request, queryset):
        return queryset

    def choices(self, changelist):
        current = lead_list_filters(changelist.filter_params)
        segments = list(segments_visible_to(self.user)[: CHOOSER_LIMIT + 1])
        self.more = len(segments) > CHOOSER_LIMIT
        self.segments_url = changelist_url(Segment)
        for segment in segments[:CHOOSER_LIMIT]:
            yield {
                "selected": segment.filters == current,
                "query_string": f"?{segment.filters}",
                "display": segment.name,
                "shared_by": (
                    None if segment.owner_id == self.user.pk else (segment.owner or "someone")
                ),
            }


class SegmentForm(forms.ModelForm):
    """A segment's name, description, sharing and filters; the filters are normalised and
    must be ones the lead list takes (``request`` and ``lead_admin`` are set per request by
    ``SegmentAdmin.get_form``)."""

    request = None
    lead_admin = None

    class Meta:
        model = Segment
        fields = ("name", "description", "filters", "shared")
        widgets = {
            "filters": forms.TextInput(attrs={"class": "vTextField kartra-filters-input"}),
            "description": forms.Textarea(attrs={"rows": 3, "cols": 60}),
        }

    def clean_filters(self) -> str:
        filters = parse_filters(self.cleaned_data.get("filters") or "")
        try:
            lead_list(self.lead_admin, self.request, filters)
        except INVALID_FILTERS as error:
            raise forms.ValidationError(
                "The lead list does not take these filters (%(error)s).",
                params={"error": error},
            ) from None
        return filters


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    """Saved lead lists. A person sees their own segments and the shared ones, and changes
    or deletes their own (a superuser: all); Django's model permissions apply besides.
    Django's bulk delete asks ``has_delete_permission`` of each selected segment, so it
    refuses a selection holding someone else's."""

    form = SegmentForm
    list_display = ("name", "owner", "shared", "open_link", "export_link", "updated_at")
    list_filter = ("shared",)
    search_fields = ("name", "description")
    readonly_fields = ("owner", "created_at", "updated_at")
    fields = ("name", "description", "filters", "shared", "owner", "created_at", "updated_at")
    change_form_template = "admin/leads/segment/change_form.html"
    # Each row is counted on its own (the lead list's filters differ per segment).
    list_per_page = 25
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER

    class Media:
        css = {"screen": ("kartra_admin/admin.css",)}

    @property
    def lead_admin(self) -> admin.ModelAdmin:
        return self.admin_site.get_model_admin(Lead)

    def get_queryset(self, request):
        return segments_visible_to(request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or segment_is_editable_by(obj, request.user))

    def has_delete_permission(self, request, obj=None) -> bool:
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or segment_is_editable_by(obj, request.user))

    def get_fields(self, request, obj=None):
        # A new segment has no owner or times yet.
        return self.fields if obj is not None else self.fields[:4]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        return type(form.__name__, (form,), {"request": request, "lead_admin": self.lead_admin})

    def get_list_display(self, request):
        # The count needs the request (the lead list's filters run as its user).
        lead_admin = self.lead_admin

        @admin.display(description="leads")
        def leads(segment: Segment) -> str:
            try:
                matching = filtered_leads(lead_admin, request, segment.filters)
                count = bounded_count(matching, bound=COUNT_BOUND)
            except INVALID_FILTERS:
                return "filters no longer valid"
            text = f"more than {COUNT_BOUND:,}" if count > COUNT_BOUND else f"{count:,}"
            return format_html('<a href="{}">{}</a>', lead_list_url(segment.filters), text)

        name, owner, shared, *rest = super().get_list_display(request)
        return (name, owner, shared, leads, *rest)

    @admin.display(description="open")
    def open_link(self, segment: Segment) -> str:
        return format_html('<a href="{}">Open</a>', lead_list_url(segment.filters))

    @admin.display(description="export")
    def export_link(self, segment: Segment) -> str:
        url = reverse("admin:leads_segment_export", args=[segment.pk])
        return format_html('<a href="{}">Export CSV</a>', url)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.owner = request.user
        super().save_model(request, obj, form, change)

    def response_post_save_add(self, request, obj):
        return HttpResponseRedirect(lead_list_url(obj.filters))

    # --- open and export ----------------------------------------------------------------

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/export/",
                view(self.export_view),
                name="leads_segment_export",
            ),
            *super().get_urls(),
        ]

    def export_view(self, request, object_id: str):
        lead_admin = self.lead_admin
        if not lead_admin.has_export_permission(request):
            raise PermissionDenied
        segment = self.get_object(request, unquote(object_id))
        if segment is None or not self.has_view_permission(request, segment):
            raise Http404("No such segment.")
        try:
            leads = filtered_leads(lead_admin, request, segment.filters)
        except INVALID_FILTERS:
            self.message_user(
                request,
                f"The filters of “{segment}” no longer work on the lead list; nothing exported.",
                messages.ERROR,
            )
            return HttpResponseRedirect(reverse("admin:leads_segment_change", args=[segment.pk]))
        return lead_csv_response(leads, name=f"segment-{slugify(segment.name) or segment.pk}")

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        form = context["adminform"].form
        if "filters" in form.fields:
            filters = parse_filters(form["filters"].value() or "")
        else:
            filters = obj.filters if obj is not None else ""
        if add:
            context["title"] = "Save the lead list as a segment"
        context["summary"] = segment_summary(self.lead_admin, request, filters)
        context["open_url"] = lead_list_url(filters)
        if obj is not None and self.lead_admin.has_export_permission(request):
            context["export_url"] = reverse("admin:leads_segment_export", args=[obj.pk])
        return super().render_change_form(request, context, add, change, form_url, obj)
