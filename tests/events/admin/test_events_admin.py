"""Deliveries, activity and sync runs in the admin."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from events.admin import body_text
from events.models import Activity, DeliveryStatus
from leads.models import LeadTag, Transaction
from tests.factories import make_delivery, make_lead, make_lead_graph, make_sync_run

pytestmark = pytest.mark.django_db
DELIVERIES = reverse("admin:events_delivery_changelist")


def listed(client, url, **params):
    response = client.get(url, params)
    assert response.status_code == 200
    return {obj.pk for obj in response.context["cl"].result_list}


def test_delivery_list_columns_and_lead_link(admin_client):
    lead = make_lead()
    make_delivery(lead=lead, action="buy_product", status=DeliveryStatus.FAILED, error="x" * 300)
    content = admin_client.get(DELIVERIES).content.decode()
    for header in ("Received", "Action", "Lead", "Status", "Error"):
        assert header in content
    assert reverse("admin:leads_lead_change", args=[lead.pk]) in content
    assert "x" * 117 + "..." in content and "x" * 121 not in content


def test_delivery_filters(admin_client):
    lead = make_lead()
    failed = make_delivery(lead=lead, action="buy_product", status=DeliveryStatus.FAILED)
    tagged = make_delivery(lead=lead, action="assign_tag")
    old = make_delivery(
        lead=None, action="assign_tag", received_at=timezone.now() - timedelta(days=40)
    )
    assert listed(admin_client, DELIVERIES, status__exact="failed") == {failed.pk}
    assert listed(admin_client, DELIVERIES, action="assign_tag") == {tagged.pk, old.pk}
    since = (timezone.now() - timedelta(days=7)).isoformat()
    assert listed(admin_client, DELIVERIES, received_at__gte=since) == {failed.pk, tagged.pk}
    assert listed(admin_client, DELIVERIES, lead=lead.pk) == {failed.pk, tagged.pk}
    # The action filter offers the actions seen.
    response = admin_client.get(DELIVERIES)
    spec = next(s for s in response.context["cl"].filter_specs if s.title == "action")
    assert [value for value, _ in spec.lookup_choices] == ["assign_tag", "buy_product"]


def test_delivery_search(admin_client):
    lead = make_lead(kartra_id=8080, email="buyer@example.com")
    known = make_delivery(lead=lead)
    unlinked = make_delivery(lead=None, lead_kartra_id=9090, status=DeliveryStatus.FAILED)
    assert listed(admin_client, DELIVERIES, q="buyer@") == {known.pk}
    assert listed(admin_client, DELIVERIES, q="8080") == {known.pk}
    assert listed(admin_client, DELIVERIES, q="9090") == {unlinked.pk}


def test_delivery_page_shows_body_and_lead(admin_client):
    lead = make_lead()
    delivery = make_delivery(lead=lead, body=b'{"action":"buy_product","lead":{"id":"1"}}')
    content = admin_client.get(
        reverse("admin:events_delivery_change", args=[delivery.pk])
    ).content.decode()
    assert "&quot;action&quot;: &quot;buy_product&quot;" in content
    assert reverse("admin:leads_lead_change", args=[lead.pk]) in content


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"a": 1}', '{\n  "a": 1\n}'),
        (b'{"a": 1,}', '{"a": 1,}'),  # the docs' trailing commas: shown as received
        (b"\xff\xfeoops", "\ufffd\ufffdoops"),
        (memoryview(b"[1]"), "[\n  1\n]"),
        (None, ""),
    ],
)
def test_body_text(body, expected):
    assert body_text(body) == expected


def test_pruned_body(admin_client):
    delivery = make_delivery(lead=None, body=None, body_pruned_at=timezone.now())
    content = admin_client.get(
        reverse("admin:events_delivery_change", args=[delivery.pk])
    ).content.decode()
    assert "(pruned)" in content


def test_activity_list_filters(admin_client):
    lead = make_lead()
    now = timezone.now()
    visit = Activity.objects.create(lead=lead, action="page_visit", occurred_at=now)
    Activity.objects.create(lead=lead, action="video_play", occurred_at=now)
    url = reverse("admin:events_activity_changelist")
    assert listed(admin_client, url, action="page_visit") == {visit.pk}
    assert len(listed(admin_client, url, q=lead.email)) == 2


def test_sync_runs_with_their_counts(admin_client):
    run = make_sync_run(leads_refreshed=123, api_calls=456, throttled=7)
    url = reverse("admin:events_syncrun_changelist")
    content = admin_client.get(url).content.decode()
    for figure in ("123", "456", "7", "429s", "Leads refreshed"):
        assert figure in content
    assert listed(admin_client, url, status__exact="succeeded") == {run.pk}
    page = admin_client.get(reverse("admin:events_syncrun_change", args=[run.pk]))
    assert "timeout" in page.content.decode()  # the errors, pretty-printed


def test_state_lists_filter_by_catalogue_and_search_by_lead(admin_client):
    one, other = make_lead_graph(1), make_lead_graph(1)
    tag_url = reverse("admin:leads_leadtag_changelist")
    tag = one.tags[0]
    assert listed(admin_client, tag_url, tag_id=tag.pk) == {LeadTag.objects.get(tag=tag).pk}
    assert listed(admin_client, tag_url, q=one.lead.email) == set(
        LeadTag.objects.filter(lead=one.lead).values_list("pk", flat=True)
    )
    txn_url = reverse("admin:leads_transaction_changelist")
    product = other.products[0]
    assert listed(admin_client, txn_url, product_id=product.pk) == set(
        Transaction.objects.filter(product=product).values_list("pk", flat=True)
    )
    sale = Transaction.objects.filter(lead=one.lead).order_by("pk").first()
    assert listed(admin_client, txn_url, q=str(sale.kartra_id)) == {sale.pk}
