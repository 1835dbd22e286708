"""A lead's state in each catalogue, and its transactions: big tables, listed by lead."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Q
from django.utils.html import format_html

from kartra_mirror.admin import MirrorAdmin, ReadOnlyTabularInline, admin_link
from leads.models import (
    Calendar,
    CalendarEvent,
    CalendarSubscription,
    CustomField,
    CustomFieldValue,
    LeadTag,
    List,
    ListSubscription,
    Membership,
    MembershipAccess,
    Product,
    ProductSignup,
    Sequence,
    SequenceSubscription,
    Subscription,
    SubscriptionStatus,
    Survey,
    SurveyAnswer,
    SurveyResult,
    Tag,
    Transaction,
)
from leads.revenue import transaction_amount
from leads.selectors import subscriptions_with_status

from .filters import related_filter
from .lead import AUTOCOMPLETE_MEDIA_CSS, AUTOCOMPLETE_MEDIA_JS
from .lead_page import hosts_text, pretty_json
from .search import LeadSearchMixin


class LeadStateAdmin(LeadSearchMixin, MirrorAdmin):
    """Rows that belong to a lead: searched by the lead, shown with a link to it."""

    class Media:
        js = AUTOCOMPLETE_MEDIA_JS
        css = {"screen": AUTOCOMPLETE_MEDIA_CSS}

    @admin.display(description="lead")
    def lead_link(self, obj) -> str:
        return admin_link(obj.lead)


@admin.register(LeadTag)
class LeadTagAdmin(LeadStateAdmin):
    list_display = ("lead_link", "tag", "active", "observed_at", "observed_source")
    list_select_related = ("lead", "tag")
    list_filter = (
        related_filter("tag", Tag, ("leads", "leadtag", "tag")),
        "active",
        "observed_source",
    )


@admin.register(ListSubscription)
class ListSubscriptionAdmin(LeadStateAdmin):
    list_display = ("lead_link", "list", "active", "observed_at", "observed_source")
    list_select_related = ("lead", "list")
    list_filter = (
        related_filter("list", List, ("leads", "listsubscription", "list")),
        "active",
        "observed_source",
    )


@admin.register(SequenceSubscription)
class SequenceSubscriptionAdmin(LeadStateAdmin):
    list_display = ("lead_link", "sequence", "status", "step", "observed_at")
    list_select_related = ("lead", "sequence")
    list_filter = (
        related_filter("sequence", Sequence, ("leads", "sequencesubscription", "sequence")),
        "status",
        "observed_source",
    )


@admin.register(MembershipAccess)
class MembershipAccessAdmin(LeadStateAdmin):
    list_display = ("lead_link", "membership", "level_name", "active", "observed_at")
    list_select_related = ("lead", "membership", "level__membership")
    list_filter = (
        related_filter("membership", Membership, ("leads", "membershipaccess", "membership")),
        "active",
        "observed_source",
    )

    @admin.display(description="level")
    def level_name(self, obj: MembershipAccess) -> str:
        return obj.level.name if obj.level_id else "-"


@admin.register(CustomFieldValue)
class CustomFieldValueAdmin(LeadStateAdmin):
    list_display = ("lead_link", "field", "text", "observed_at")
    list_select_related = ("lead", "field")
    list_filter = (
        related_filter("field", CustomField, ("leads", "customfieldvalue", "field"), "field"),
    )


class CalendarEventInline(ReadOnlyTabularInline):
    model = CalendarEvent
    fields = ("starts_at", "duration_minutes")
    readonly_fields = fields
    show_change_link = False


@admin.register(CalendarSubscription)
class CalendarSubscriptionAdmin(LeadStateAdmin):
    list_display = ("lead_link", "calendar", "calendar_class", "status", "hosts_names")
    list_select_related = ("lead", "calendar", "calendar_class__calendar")
    list_filter = (
        related_filter("calendar", Calendar, ("leads", "calendarsubscription", "calendar")),
        "status",
    )
    hidden_fields = ("hosts",)
    extra_readonly = ("hosts_names",)
    inlines = (CalendarEventInline,)

    @admin.display(description="hosts")
    def hosts_names(self, obj: CalendarSubscription) -> str:
        return hosts_text(obj.hosts) or "-"


@admin.register(CalendarEvent)
class CalendarEventAdmin(LeadStateAdmin):
    lead_path = "subscription__lead"
    list_display = ("starts_at", "duration_minutes", "subscription", "lead_link")
    list_select_related = (
        "subscription__lead",
        "subscription__calendar",
        "subscription__calendar_class__calendar",
    )

    @admin.display(description="lead")
    def lead_link(self, obj: CalendarEvent) -> str:
        return admin_link(obj.subscription.lead)


class SurveyAnswerInline(ReadOnlyTabularInline):
    model = SurveyAnswer
    fields = ("question", "chosen", "correct")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("question").prefetch_related("options")

    @admin.display(description="answer")
    def chosen(self, obj: SurveyAnswer) -> str:
        return "; ".join(option.value for option in obj.options.all()) or "-"


@admin.register(SurveyResult)
class SurveyResultAdmin(LeadStateAdmin):
    list_display = ("lead_link", "survey", "score", "completion_time", "completed_at")
    list_select_related = ("lead", "survey")
    list_filter = (related_filter("survey", Survey, ("leads", "surveyresult", "survey")),)
    inlines = (SurveyAnswerInline,)


@admin.register(SurveyAnswer)
class SurveyAnswerAdmin(LeadStateAdmin):
    lead_path = "result__lead"
    list_display = ("question", "result", "correct", "lead_link")
    list_select_related = ("result__lead", "result__survey", "question")
    list_filter = ("correct",)

    @admin.display(description="lead")
    def lead_link(self, obj: SurveyAnswer) -> str:
        return admin_link(obj.result.lead)


class SubscriptionStatusFilter(admin.SimpleListFilter):
    """The derived status (``leads.selectors.subscriptions_with_status``)."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return SubscriptionStatus.choices

    def queryset(self, request, queryset):
        return queryset.filter(status=self.value()) if self.value() else queryset


@admin.register(Subscription)
class SubscriptionAdmin(LeadStateAdmin):
    list_display = (
        "kartra_id",
        "lead_link",
        "product",
        "status_text",
        "status_since",
        "monthly_amount",
        "payments_made",
        "payments_left",
        "failed_payments",
    )
    list_select_related = ("lead", "product")
    list_filter = (
        SubscriptionStatusFilter,
        related_filter("product", Product, ("leads", "subscription", "product")),
    )
    extra_readonly = ("status_text", "status_set_by", "status_since")

    def get_queryset(self, request):
        return subscriptions_with_status(super().get_queryset(request))

    @admin.display(description="status", ordering="status")
    def status_text(self, obj: Subscription) -> str:
        return SubscriptionStatus(obj.status).label

    @admin.display(description="status set by transaction")
    def status_set_by(self, obj: Subscription) -> str:
        return obj.status_set_by if obj.status_set_by is not None else "-"

    @admin.display(description="since", ordering="status_since")
    def status_since(self, obj: Subscription):
        return obj.status_since


@admin.register(ProductSignup)
class ProductSignupAdmin(LeadStateAdmin):
    list_display = ("lead_link", "kind", "product", "signed_up_at")
    list_select_related = ("lead", "product")
    list_filter = (
        "kind",
        related_filter("product", Product, ("leads", "productsignup", "product")),
        ("signed_up_at", admin.DateFieldListFilter),
    )


@admin.register(Transaction)
class TransactionAdmin(LeadStateAdmin):
    list_display = (
        "kartra_id",
        "transaction_date",
        "transaction_type",
        "lead_link",
        "product",
        "amount_moved",
        "payment_processor_type",
    )
    list_select_related = ("lead", "product", "parent", "subscription")
    list_filter = (
        "transaction_type",
        related_filter("product", Product, ("leads", "transaction", "product")),
        ("transaction_date", admin.DateFieldListFilter),
        "observed_source",
    )
    sortable_by = ("kartra_id", "transaction_date")
    search_help_text = "A transaction id, or the lead's email, name, phone or Kartra id."
    hidden_fields = ("raw",)
    extra_readonly = ("raw_pretty",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(amount_moved=transaction_amount())

    def get_search_results(self, request, queryset, search_term):
        condition = self.lead_condition(search_term)
        if condition is None:
            return queryset, False
        term = search_term.strip()
        if term.isdigit() and len(term) <= 18:
            condition |= Q(kartra_id=int(term))
        return queryset.filter(condition), False

    @admin.display(description="amount", ordering="amount_moved")
    def amount_moved(self, obj: Transaction):
        return obj.amount_moved

    @admin.display(description="raw JSON")
    def raw_pretty(self, obj: Transaction) -> str:
        return format_html('<pre class="kartra-json">{}</pre>', pretty_json(obj.raw))
