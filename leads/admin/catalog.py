"""The account's catalogues, each row with how many leads it holds and a link to them."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils.html import format_html

from kartra_mirror.admin import MirrorAdmin, ReadOnlyTabularInline, changelist_url
from leads.models import (
    Asset,
    Calendar,
    CalendarClass,
    CustomField,
    CustomFieldOption,
    Lead,
    List,
    Membership,
    MembershipLevel,
    PricePoint,
    Product,
    Sequence,
    SequenceStatus,
    SequenceSubscription,
    Survey,
    SurveyOption,
    SurveyQuestion,
    Tag,
)
from leads.selectors import held_condition

from .filters import (
    CalendarFilter,
    LeadRelationFilter,
    MailingListFilter,
    MembershipFilter,
    MembershipLevelFilter,
    ProductFilter,
    SequenceFilter,
    SurveyFilter,
    TagFilter,
)


def catalogue_search(queryset, term: str, *, name_field: str = "name"):
    """Digits find a Kartra id or a name containing them; anything else, a name."""
    term = term.strip()
    if not term:
        return queryset
    condition = Q(**{f"{name_field}__icontains": term})
    if term.isdigit() and len(term) <= 18:
        condition |= Q(kartra_id=int(term))
    return queryset.filter(condition)


class CatalogueSearchMixin:
    search_name_field = "name"

    def get_search_results(self, request, queryset, search_term):
        return catalogue_search(queryset, search_term, name_field=self.search_name_field), False


class CatalogueAdmin(CatalogueSearchMixin, MirrorAdmin):
    """A catalogue whose rows hold leads, counted the way the lead list's filter reads it.

    The count is a correlated subquery rather than a GROUP BY over the join: PostgreSQL
    evaluates it for the page's rows only, after ORDER BY and LIMIT, instead of aggregating
    every lead's state before picking a page.
    """

    lead_filter: type[LeadRelationFilter]
    count_condition = Q()
    count_distinct_leads = False
    link_params: dict[str, str] = {}
    list_display = ("name", "kartra_id", "leads", "mirror_first_seen", "mirror_updated")
    search_fields = ("name",)
    search_help_text = "Search by name or Kartra id."
    extra_readonly = ("leads",)

    def lead_count(self):
        relation_filter = self.lead_filter
        field = relation_filter.relation_field
        rows = (
            relation_filter.relation.objects.filter(
                relation_filter.held, self.count_condition, **{field: OuterRef("pk")}
            )
            .order_by()
            .values(field)
        )
        counted = Count("lead", distinct=True) if self.count_distinct_leads else Count("pk")
        subquery = Subquery(rows.annotate(n=counted).values("n"), output_field=IntegerField())
        return Coalesce(subquery, 0)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        match = getattr(request, "resolver_match", None)
        if match is not None and match.url_name == "autocomplete":
            return queryset  # select2 asks for names only
        return queryset.annotate(lead_count=self.lead_count())

    @admin.display(description="leads", ordering="lead_count")
    def leads(self, obj) -> str:
        count = getattr(obj, "lead_count", None)
        if count is None:
            count = type(obj).objects.filter(pk=obj.pk).values_list(self.lead_count())[0][0]
        params = {self.lead_filter.parameter_name: obj.pk, **self.link_params}
        return format_html('<a href="{}">{}</a>', changelist_url(Lead, **params), count)


@admin.register(Tag)
class TagAdmin(CatalogueAdmin):
    lead_filter = TagFilter


@admin.register(List)
class ListAdmin(CatalogueAdmin):
    lead_filter = MailingListFilter


@admin.register(Sequence)
class SequenceAdmin(CatalogueAdmin):
    lead_filter = SequenceFilter
    # The filter takes any status unless asked one: count and link to those active in it.
    count_condition = held_condition(SequenceSubscription)
    link_params = {"sequence_status": SequenceStatus.ACTIVE.value}


class MembershipLevelInline(ReadOnlyTabularInline):
    model = MembershipLevel
    fields = ("name", "kartra_id")
    readonly_fields = fields


@admin.register(Membership)
class MembershipAdmin(CatalogueAdmin):
    lead_filter = MembershipFilter
    count_distinct_leads = True
    inlines = (MembershipLevelInline,)


@admin.register(MembershipLevel)
class MembershipLevelAdmin(CatalogueAdmin):
    lead_filter = MembershipLevelFilter
    list_display = ("name", "membership", "kartra_id", "leads")
    list_select_related = ("membership",)
    search_fields = ("name", "membership__name")

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        condition = Q(name__icontains=term) | Q(membership__name__icontains=term)
        if term.isdigit() and len(term) <= 18:
            condition |= Q(kartra_id=int(term))
        return queryset.filter(condition), False


class PricePointInline(ReadOnlyTabularInline):
    model = PricePoint
    fields = ("number",)
    readonly_fields = fields


@admin.register(Product)
class ProductAdmin(CatalogueAdmin):
    lead_filter = ProductFilter
    count_distinct_leads = True
    list_display = ("name", "official_name", "kartra_id", "leads", "mirror_updated")
    inlines = (PricePointInline,)


@admin.register(PricePoint)
class PricePointAdmin(MirrorAdmin):
    list_display = ("number", "product")
    list_select_related = ("product",)
    search_fields = ("number", "product__name")


class CalendarClassInline(ReadOnlyTabularInline):
    model = CalendarClass
    fields = ("name", "kartra_id")
    readonly_fields = fields


@admin.register(Calendar)
class CalendarAdmin(CatalogueAdmin):
    lead_filter = CalendarFilter
    count_distinct_leads = True
    list_display = ("name", "kartra_id", "vendor_timezone", "leads", "mirror_updated")
    inlines = (CalendarClassInline,)


@admin.register(CalendarClass)
class CalendarClassAdmin(CatalogueSearchMixin, MirrorAdmin):
    list_display = ("name", "calendar", "kartra_id")
    list_select_related = ("calendar",)
    search_fields = ("name",)


class SurveyQuestionInline(ReadOnlyTabularInline):
    model = SurveyQuestion
    fields = ("kartra_id", "title", "option_values")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("options")

    @admin.display(description="options")
    def option_values(self, obj: SurveyQuestion) -> str:
        return "; ".join(option.value for option in obj.options.all()) or "-"


@admin.register(Survey)
class SurveyAdmin(CatalogueAdmin):
    lead_filter = SurveyFilter
    list_display = ("name", "kartra_id", "survey_type", "leads", "mirror_updated")
    list_filter = ("survey_type",)
    inlines = (SurveyQuestionInline,)


class SurveyOptionInline(ReadOnlyTabularInline):
    model = SurveyOption
    fields = ("kartra_id", "value")
    readonly_fields = fields


@admin.register(SurveyQuestion)
class SurveyQuestionAdmin(CatalogueSearchMixin, MirrorAdmin):
    list_display = ("title", "survey", "kartra_id")
    list_select_related = ("survey",)
    search_fields = ("title",)
    search_name_field = "title"
    inlines = (SurveyOptionInline,)


@admin.register(SurveyOption)
class SurveyOptionAdmin(CatalogueSearchMixin, MirrorAdmin):
    list_display = ("value", "question", "kartra_id")
    list_select_related = ("question",)
    search_fields = ("value",)
    search_name_field = "value"


@admin.register(Asset)
class AssetAdmin(CatalogueSearchMixin, MirrorAdmin):
    list_display = ("name", "kind", "kartra_id", "mirror_updated")
    list_filter = ("kind",)
    search_fields = ("name",)


class CustomFieldOptionInline(ReadOnlyTabularInline):
    model = CustomFieldOption
    fields = ("kartra_id", "value")
    readonly_fields = fields


@admin.register(CustomField)
class CustomFieldAdmin(CatalogueSearchMixin, MirrorAdmin):
    list_display = ("identifier", "field_type", "kartra_id", "mirror_updated")
    list_filter = ("field_type",)
    search_fields = ("identifier",)
    search_name_field = "identifier"
    inlines = (CustomFieldOptionInline,)


@admin.register(CustomFieldOption)
class CustomFieldOptionAdmin(CatalogueSearchMixin, MirrorAdmin):
    list_display = ("value", "field", "kartra_id")
    list_select_related = ("field",)
    search_fields = ("value",)
    search_name_field = "value"
