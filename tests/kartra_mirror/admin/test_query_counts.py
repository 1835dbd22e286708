"""Admin pages run a fixed number of queries, whatever the number of rows or relations."""

from urllib.parse import urlencode

import pytest
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from events.models import Delivery
from leads.models import CustomFieldValue, FieldType, Lead, Segment, Tag
from tests.factories import (
    make_audit_run,
    make_delivery,
    make_erasure,
    make_lead_graph,
    make_sync_run,
)

pytestmark = pytest.mark.django_db

ON_POSTGRES = connection.vendor == "postgresql"
# Pinned counts: session + user (2), then the page's own. A list: its count and its rows,
# plus the source/action filter's values; an unfiltered list on PostgreSQL asks pg_class
# for an estimate first (+1); a chosen autocomplete filter reads its label (+1). The lead
# list names the saved segments (+1); a segment's filters there: a tag (its label), a
# custom field's option (the field, its options), a period joined. The lead
# page: the lead, then one query per section (two or three where rows have children), the
# card's active subscriptions and the last audit's drift, and one per kind of timeline row
# (activity, the change history, purchases, calendar sessions, survey results).
# The dashboard: four charts, the refresh backlog (each of the due queue's four classes: a
# bounded count and its oldest lead), the last sync run, recent actions; and the drift from
# Kartra (+2): the audits per day (one GROUP BY, which the API calls chart reads too) and
# the last audit; the subscriptions (+2): MRR and the counts by status (one aggregate), the
# failed payments and cancellations per day (one GROUP BY); MRR over time (+1): the ends of
# the last 12 months and now, one aggregate (leads.revenue.mrr_series).
ESTIMATE = 1 if ON_POSTGRES else 0
PINNED = {
    "lead changelist": 6 + ESTIMATE,
    "lead changelist searched": 6,
    "lead changelist filtered by tag": 7,
    "lead changelist with a segment": 9,
    "lead page": 25,
    "tag changelist": 4 + ESTIMATE,
    "delivery changelist": 5 + ESTIMATE,
    "dashboard": 21,
}
MIRRORED = [
    model
    for model in admin.site._registry
    if model._meta.app_label in {"leads", "events"} and model is not Segment
]


def url(model, view, *args):
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


def queries(client, path: str) -> int:
    client.get(path)  # fill Django's per-process caches (content types) first
    with CaptureQueriesContext(connection) as context:
        response = client.get(path)
    assert response.status_code == 200, path
    return len(context)


def page_counts(client, lead: Lead, tag: Tag) -> dict[str, int]:
    client.get(reverse("admin:index"))  # warm the session
    counts = {
        "lead changelist": queries(client, url(Lead, "changelist")),
        "lead changelist searched": queries(client, url(Lead, "changelist") + "?q=ada"),
        "lead changelist filtered by tag": queries(
            client, url(Lead, "changelist") + f"?tag={tag.pk}"
        ),
        "lead changelist with a segment": queries(
            client, url(Lead, "changelist") + "?" + segment_of(lead, tag).filters
        ),
        "lead page": queries(client, url(Lead, "change", lead.pk)),
        "tag changelist": queries(client, url(Tag, "changelist")),
        "delivery changelist": queries(client, url(Delivery, "changelist")),
        "dashboard": queries(client, reverse("admin:index")),
    }
    for model in MIRRORED:
        counts[f"{model.__name__} changelist"] = queries(client, url(model, "changelist"))
        obj = model._default_manager.filter(**related_to(model, lead)).order_by("pk").first()
        counts[f"{model.__name__} page"] = queries(client, url(model, "change", quote(obj.pk)))
    return counts


def segment_of(lead: Lead, tag: Tag) -> Segment:
    """A shared segment of ``lead``: its tag, its checkbox option, joined in the past 7 days."""
    choice = CustomFieldValue.objects.filter(lead=lead, field__field_type=FieldType.CHECKBOX)
    value = choice.select_related("field").first()
    option = value.options.get()
    filters = urlencode(
        {
            "custom_field": value.field_id,
            "custom_value": option.value,
            "joined": "past_7_days",
            "tag": tag.pk,
        }
    )
    return Segment.objects.create(name=f"Segment of {lead.pk}", filters=filters, shared=True)


def related_to(model, lead: Lead) -> dict:
    """A lookup picking one of ``lead``'s own rows where the model has a path to a lead."""
    paths = {
        "CalendarEvent": "subscription__lead",
        "SurveyAnswer": "result__lead",
        "Tag": "lead_links__lead",
        "List": "subscriptions__lead",
        "Sequence": "subscriptions__lead",
        "Membership": "accesses__lead",
        "MembershipLevel": "accesses__lead",
        "Product": "transactions__lead",
        "PricePoint": "product__transactions__lead",
        "Calendar": "subscriptions__lead",
        "CalendarClass": "subscriptions__lead",
        "Survey": "results__lead",
        "SurveyQuestion": "answers__result__lead",
        "SurveyOption": "chosen_in__result__lead",
        "CustomField": "values__lead",
        "CustomFieldOption": "chosen_in__lead",
        "Asset": "activities__lead",
    }
    name = model.__name__
    if name == "Lead":
        return {"pk": lead.pk}
    if name in ("SyncRun", "Erasure", "Suppression"):
        return {}
    if name == "AuditRun":
        return {"differences__lead": lead}
    if name == "CustomFieldOption":
        return {"field__values__lead": lead}
    return {paths.get(name, "lead"): lead}


def test_query_counts_are_pinned_and_do_not_grow(admin_client):
    small = make_lead_graph(2)
    make_sync_run()
    make_audit_run(small.lead)
    make_delivery(lead=None, action="")
    make_erasure()
    few = page_counts(admin_client, small.lead, small.tags[0])

    big = make_lead_graph(20)
    make_audit_run(big.lead)
    for _ in range(20):
        make_lead_graph(1)
        make_sync_run()
        make_audit_run(make_lead_graph(1).lead)
        make_delivery(lead=None, action="")
        make_erasure()
    many = page_counts(admin_client, big.lead, big.tags[0])

    grew = {page: (few[page], many[page]) for page in few if few[page] != many[page]}
    assert not grew, grew
    pinned = {page: many[page] for page in PINNED}
    assert pinned == PINNED
    too_many = {page: count for page, count in many.items() if count > 12 + ESTIMATE}
    # The lead page reads each section; the dashboard two index scans per class of the
    # refresh queue (a bounded count and the oldest lead): fixed numbers, pinned above.
    assert set(too_many) <= {"lead page", "Lead page", "dashboard"}, too_many
