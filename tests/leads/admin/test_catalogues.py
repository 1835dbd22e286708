"""Catalogue pages count the leads each row holds, in one query per page."""

import pytest
from django.urls import reverse

from leads.models import (
    Calendar,
    LeadTag,
    List,
    Membership,
    MembershipLevel,
    Product,
    Sequence,
    SequenceStatus,
    SequenceSubscription,
    Survey,
    Tag,
)
from tests.factories import make_lead, make_lead_graph, observed

pytestmark = pytest.mark.django_db
LEADS = reverse("admin:leads_lead_changelist")


def counts(client, model) -> dict[int, int]:
    opts = model._meta
    response = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    assert response.status_code == 200
    return {obj.pk: obj.lead_count for obj in response.context["cl"].result_list}


def test_tag_counts_only_assigned_leads(admin_client):
    tag = Tag.objects.create(kartra_id=1, name="Customer")
    for active in (True, True, False):
        LeadTag.objects.create(lead=make_lead(), tag=tag, active=active, **observed())
    empty = Tag.objects.create(kartra_id=2, name="Nobody")
    assert counts(admin_client, Tag)[tag.pk] == 2
    assert counts(admin_client, Tag)[empty.pk] == 0
    content = admin_client.get(reverse("admin:leads_tag_changelist")).content.decode()
    assert f'<a href="{LEADS}?tag={tag.pk}">2</a>' in content
    page = admin_client.get(reverse("admin:leads_tag_change", args=[tag.pk])).content.decode()
    assert f'<a href="{LEADS}?tag={tag.pk}">2</a>' in page


@pytest.mark.parametrize(
    ("model", "parameter"),
    [
        (List, "list"),
        (Sequence, "sequence"),
        (Membership, "membership"),
        (MembershipLevel, "membership_level"),
        (Product, "product"),
        (Calendar, "calendar"),
        (Survey, "survey"),
    ],
)
def test_every_catalogue_counts_and_links(admin_client, model, parameter):
    graph = make_lead_graph(1)
    make_lead_graph(1)
    row = model.objects.filter(pk__in=model.objects.order_by("pk")[:1]).get()
    assert counts(admin_client, model)[row.pk] == 1
    content = admin_client.get(
        reverse(f"admin:leads_{model._meta.model_name}_changelist")
    ).content.decode()
    assert f"{LEADS}?{parameter}={row.pk}" in content
    listed = admin_client.get(LEADS, {parameter: row.pk}).context["cl"].result_list
    assert [lead.pk for lead in listed] == [graph.lead.pk]


def test_sequence_counts_active_subscribers(admin_client):
    graph = make_lead_graph(1)
    subscription = SequenceSubscription.objects.get(lead=graph.lead)
    subscription.status = SequenceStatus.UNSUBSCRIBED
    subscription.save()
    assert counts(admin_client, Sequence)[subscription.sequence_id] == 0


def test_sorting_by_lead_count(admin_client):
    big, small = Tag.objects.create(name="big"), Tag.objects.create(name="small")
    for _ in range(3):
        LeadTag.objects.create(lead=make_lead(), tag=big, **observed())
    LeadTag.objects.create(lead=make_lead(), tag=small, **observed())
    response = admin_client.get(reverse("admin:leads_tag_changelist"), {"o": "-2"})
    assert [tag.name for tag in response.context["cl"].result_list] == ["big", "small"]


def test_catalogue_search(admin_client):
    Tag.objects.create(kartra_id=4242, name="Webinar 2024")
    Tag.objects.create(kartra_id=7, name="Buyer")
    url = reverse("admin:leads_tag_changelist")
    found = admin_client.get(url, {"q": "4242"}).context["cl"].result_list
    assert [tag.name for tag in found] == ["Webinar 2024"]
    found = admin_client.get(url, {"q": "buy"}).context["cl"].result_list
    assert [tag.name for tag in found] == ["Buyer"]
