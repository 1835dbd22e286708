"""Webhook deliveries, lead activity, sync runs and audits: read-only, with a Reprocess
action for deliveries."""

from __future__ import annotations

import json
from collections import Counter

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q
from django.http import Http404, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from kartra_mirror.admin import MirrorAdmin, admin_link, changelist_url, pre, short_datetime
from leads.admin.filters import ActionFilter
from leads.admin.search import LeadSearchMixin

from .models import (
    Activity,
    AuditDifference,
    AuditRun,
    Delivery,
    DeliveryKind,
    DriftCause,
    Erasure,
    SyncRun,
)


def body_text(body: bytes | memoryview | None) -> str:
    """A delivery's body for reading: JSON pretty-printed when it parses, else the text
    as received (Kartra's own examples carry trailing commas, which JSON refuses)."""
    if body is None:
        return ""
    text = bytes(body).decode("utf-8", errors="replace")
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


def reprocess_deliveries(delivery_ids: list[int]) -> Counter:
    """Run each delivery through processing again, oldest first; the statuses they end in."""
    # Imported here so the admin loads whatever state the webhook service is in.
    from events.services import delivery_process

    return Counter(delivery_process(delivery_id=pk).status for pk in delivery_ids)


@admin.register(Delivery)
class DeliveryAdmin(LeadSearchMixin, MirrorAdmin):
    list_display = (
        "received",
        "sent_by",
        "action",
        "lead_link",
        "status",
        "short_error",
        "attempts",
    )
    list_display_links = ("received",)
    list_select_related = ("lead",)
    list_filter = ("status", "kind", ActionFilter, ("received_at", admin.DateFieldListFilter))
    sortable_by = ("received",)
    search_help_text = "The lead's Kartra id, email (exact or prefix), name or phone."
    actions = ("reprocess",)
    hidden_fields = ("body", "headers", "traceback")
    extra_readonly = ("body_pretty", "headers_pretty", "traceback_pretty")
    change_form_template = "admin/events/delivery/change_form.html"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        match = getattr(request, "resolver_match", None)
        if match is not None and match.url_name and match.url_name.endswith("_changelist"):
            queryset = queryset.defer("body", "headers", "traceback")
        return queryset

    def get_search_results(self, request, queryset, search_term):
        condition = self.lead_condition(search_term)
        if condition is None:
            return queryset, False
        term = search_term.strip().lstrip("#")
        if term.isdigit() and len(term) <= 18:
            # A delivery whose processing failed knows the lead's Kartra id only.
            condition |= Q(lead_kartra_id=int(term))
        return queryset.filter(condition), False

    @admin.display(description="kind", ordering="kind")
    def sent_by(self, obj: Delivery) -> str:
        return "IPN" if obj.kind == DeliveryKind.IPN else "webhook"  # the filter says more

    @admin.display(description="received", ordering="received_at")
    def received(self, obj: Delivery) -> str:
        return short_datetime(obj.received_at)

    @admin.display(description="lead")
    def lead_link(self, obj: Delivery) -> str:
        if obj.lead_id is None and obj.lead_kartra_id:
            return f"#{obj.lead_kartra_id}"
        return admin_link(obj.lead)

    @admin.display(description="error")
    def short_error(self, obj: Delivery) -> str:
        return (obj.error[:117] + "...") if len(obj.error) > 120 else obj.error or "-"

    @admin.display(description="body")
    def body_pretty(self, obj: Delivery) -> str:
        if obj.body is None:
            return "(pruned)" if obj.body_pruned_at else "-"
        return pre(body_text(obj.body))

    @admin.display(description="headers")
    def headers_pretty(self, obj: Delivery) -> str:
        return pre(json.dumps(obj.headers, indent=2, sort_keys=True, ensure_ascii=False))

    @admin.display(description="traceback")
    def traceback_pretty(self, obj: Delivery) -> str:
        return pre(obj.traceback) if obj.traceback else "-"

    def has_reprocess_permission(self, request) -> bool:
        # Reprocessing writes the mirror as a webhook would: it takes the model's change
        # permission, although nobody edits a delivery by hand.
        return request.user.has_perm("events.change_delivery")

    @admin.action(description="Reprocess", permissions=["reprocess"])
    def reprocess(self, request, queryset):
        ids = list(queryset.order_by("received_at", "pk").values_list("pk", flat=True))
        self._report(request, reprocess_deliveries(ids))

    def _report(self, request, statuses: Counter) -> None:
        summary = ", ".join(f"{count} {status}" for status, count in sorted(statuses.items()))
        level = messages.WARNING if statuses.get("failed") else messages.SUCCESS
        self.message_user(request, f"Reprocessed {statuses.total()}: {summary}.", level)

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_reprocess"
        view = self.admin_site.admin_view(require_POST(self.reprocess_view))
        return [path("<path:object_id>/reprocess/", view, name=name), *super().get_urls()]

    def reprocess_view(self, request, object_id: str):
        if not self.has_reprocess_permission(request):
            raise PermissionDenied
        delivery = self.get_object(request, unquote(object_id))
        if delivery is None:
            raise Http404("No such delivery.")
        self._report(request, reprocess_deliveries([delivery.pk]))
        return HttpResponseRedirect(reverse("admin:events_delivery_change", args=[delivery.pk]))

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["can_reprocess"] = self.has_reprocess_permission(request)
        return super().render_change_form(request, context, add, change, form_url, obj)


@admin.register(Activity)
class ActivityAdmin(LeadSearchMixin, MirrorAdmin):
    list_display = ("occurred", "action", "lead_link", "target", "points")
    list_display_links = ("occurred",)
    list_select_related = ("lead", "asset", "product", "transaction", "delivery")
    list_filter = (ActionFilter, ("occurred_at", admin.DateFieldListFilter), "probable_duplicate")
    sortable_by = ("occurred",)
    hidden_fields = ("details",)
    extra_readonly = ("details_pretty",)

    @admin.display(description="occurred", ordering="occurred_at")
    def occurred(self, obj: Activity) -> str:
        return short_datetime(obj.occurred_at)

    @admin.display(description="lead")
    def lead_link(self, obj: Activity) -> str:
        return admin_link(obj.lead)

    @admin.display(description="on")
    def target(self, obj: Activity) -> str:
        return str(obj.asset or obj.product or obj.transaction or "-")

    @admin.display(description="details")
    def details_pretty(self, obj: Activity) -> str:
        return pre(json.dumps(obj.details, indent=2, sort_keys=True, ensure_ascii=False))


@admin.register(SyncRun)
class SyncRunAdmin(MirrorAdmin):
    list_display = (
        "started_at",
        "kind",
        "status",
        "duration",
        "leads_refreshed",
        "leads_unchanged",
        "leads_not_found",
        "leads_failed",
        "api_calls",
        "throttled",
        "retries",
    )
    list_filter = ("status", "kind", ("started_at", admin.DateFieldListFilter))
    search_fields = ("kind",)
    hidden_fields = ("arguments", "errors")
    extra_readonly = ("duration", "arguments_pretty", "errors_pretty")

    @admin.display(description="duration")
    def duration(self, obj: SyncRun) -> str:
        if obj.finished_at is None:
            return "running" if obj.status == "running" else "-"
        seconds = int((obj.finished_at - obj.started_at).total_seconds())
        minutes, seconds = divmod(seconds, 60)
        return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"

    @admin.display(description="arguments")
    def arguments_pretty(self, obj: SyncRun) -> str:
        return pre(json.dumps(obj.arguments, indent=2, sort_keys=True, ensure_ascii=False))

    @admin.display(description="errors")
    def errors_pretty(self, obj: SyncRun) -> str:
        return pre(json.dumps(obj.errors, indent=2, ensure_ascii=False)) if obj.errors else "-"


def json_text(value, *, indent: int | None = None) -> str:
    return json.dumps(value, cls=DjangoJSONEncoder, indent=indent, ensure_ascii=False)


@admin.register(AuditRun)
class AuditRunAdmin(MirrorAdmin):
    list_display = (
        "started_at",
        "kind",
        "status",
        "leads_compared",
        "leads_differing",
        "drift",
        "leads_not_found",
        "leads_failed",
        "api_calls",
        "throttled",
        "leads_repaired",
    )
    list_filter = ("status", "kind", ("started_at", admin.DateFieldListFilter))
    hidden_fields = ("arguments", "errors", "causes")
    extra_readonly = ("drift", "differences_link", "causes_text", "arguments_pretty",
                      "errors_pretty")  # fmt: skip

    @admin.display(description="drift")
    def drift(self, obj: AuditRun) -> str:
        percent = obj.drift_percent
        return "-" if percent is None else f"{percent:.1f}%"

    @admin.display(description="differences")
    def differences_link(self, obj: AuditRun) -> str:
        url = changelist_url(AuditDifference, run__id__exact=obj.pk)
        return format_html('<a href="{}">{} differences</a>', url, obj.differences_found)

    @admin.display(description="differences by cause")
    def causes_text(self, obj: AuditRun) -> str:
        labels = dict(DriftCause.choices)
        return ", ".join(f"{n} {labels.get(c, c)}" for c, n in obj.causes.items()) or "-"

    @admin.display(description="arguments")
    def arguments_pretty(self, obj: AuditRun) -> str:
        return pre(json_text(obj.arguments, indent=2))

    @admin.display(description="errors")
    def errors_pretty(self, obj: AuditRun) -> str:
        return pre(json_text(obj.errors, indent=2)) if obj.errors else "-"


@admin.register(AuditDifference)
class AuditDifferenceAdmin(MirrorAdmin):
    list_display = ("lead_ref", "relation", "name", "mirror", "kartra", "cause", "run_ref")
    list_display_links = ("name",)
    list_filter = ("cause", "relation")
    search_help_text = "The lead's Kartra id."
    search_fields = ("lead_kartra_id",)  # searched by get_search_results
    hidden_fields = ("mirror_value", "kartra_value")
    extra_readonly = ("mirror_pretty", "kartra_pretty")

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip().lstrip("#")
        if not term:
            return queryset, False
        if not term.isdigit() or len(term) > 18:
            return queryset.none(), False
        return queryset.filter(lead_kartra_id=int(term)), False

    @admin.display(description="lead", ordering="lead_kartra_id")
    def lead_ref(self, obj: AuditDifference) -> str:
        text = f"#{obj.lead_kartra_id}" if obj.lead_kartra_id is not None else "-"
        if obj.lead_id is None:
            return text
        url = reverse("admin:leads_lead_change", args=[obj.lead_id])
        return format_html('<a href="{}">{}</a>', url, text)

    @admin.display(description="mirror")
    def mirror(self, obj: AuditDifference) -> str:
        return _cut(obj.mirror_value)

    @admin.display(description="Kartra")
    def kartra(self, obj: AuditDifference) -> str:
        return _cut(obj.kartra_value)

    @admin.display(description="audit run")
    def run_ref(self, obj: AuditDifference) -> str:
        url = reverse("admin:events_auditrun_change", args=[obj.run_id])
        return format_html('<a href="{}">{}</a>', url, obj.run_id)

    @admin.display(description="mirror value")
    def mirror_pretty(self, obj: AuditDifference) -> str:
        return pre(json_text(obj.mirror_value, indent=2))

    @admin.display(description="Kartra value")
    def kartra_pretty(self, obj: AuditDifference) -> str:
        return pre(json_text(obj.kartra_value, indent=2))


@admin.register(Erasure)
class ErasureAdmin(MirrorAdmin):
    """Who erased a lead, when, and how many rows of each table: never whom."""

    list_display = ("erased", "actor", "lead_found", "rows")
    list_display_links = ("erased",)
    list_filter = ("lead_found", ("erased_at", admin.DateFieldListFilter))
    hidden_fields = ("counts",)
    extra_readonly = ("counts_pretty",)

    @admin.display(description="erased", ordering="erased_at")
    def erased(self, obj: Erasure) -> str:
        return short_datetime(obj.erased_at)

    @admin.display(description="rows")
    def rows(self, obj: Erasure) -> int:
        return sum(obj.counts.values())

    @admin.display(description="rows by table")
    def counts_pretty(self, obj: Erasure) -> str:
        return pre(json_text(obj.counts, indent=2))


def _cut(value, width: int = 80) -> str:
    """A value for a list column: none, or compact JSON cut at ``width`` characters."""
    if value is None:
        return "none"
    text = json_text(value)
    return text if len(text) <= width else text[: width - 1] + "…"
