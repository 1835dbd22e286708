"""The lead page: every section, totals, a paged timeline, the raw JSON."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from events.models import Activity
from leads.admin.lead_page import ACTIVITY_PER_PAGE, hosts_text
from leads.models import Transaction, TransactionType

from .conftest import make_lead, make_lead_graph, observed

pytestmark = pytest.mark.django_db


def page(client, lead, **params):
    response = client.get(reverse("admin:leads_lead_change", args=[lead.pk]), params)
    assert response.status_code == 200
    return response


def test_every_section_is_there(admin_client):
    graph = make_lead_graph(2)
    lead = graph.lead
    content = page(admin_client, lead).content.decode()
    for section in (
        "custom-fields",
        "tags",
        "lists",
        "sequences",
        "memberships",
        "transactions",
        "calendars",
        "surveys",
        "activity",
        "deliveries",
        "raw-json",
    ):
        assert f'id="{section}"' in content, section
    # Profile fieldsets.
    for heading in ("Name and contact", "Address", "Consent and status", "Mirror"):
        assert heading in content
    for tag in graph.tags:
        assert tag.name in content
    assert "text 0" in content and "opt 1" in content  # custom field values
    assert "Gold" in content  # membership level
    assert "Grace Hopper &lt;grace@example.com&gt;" in content  # calendar hosts
    assert "Question 0?" in content and "Answer 0" in content  # survey answers
    assert "lead_visits_page" in content  # activity and deliveries
    assert "&quot;email&quot;: &quot;" in content  # pretty raw JSON


def test_transaction_totals(admin_client):
    graph = make_lead_graph(2)  # two sales of 100.00 and two refunds of 30.00
    Transaction.objects.create(
        kartra_id=999_001,
        lead=graph.lead,
        transaction_type=TransactionType.REBILL,
        amount=Decimal("10.50"),  # get_lead's amount when the webhook's is absent
        **observed(),
    )
    Transaction.objects.create(
        kartra_id=999_002,
        lead=graph.lead,
        transaction_type=TransactionType.CHARGEBACK,
        full_amount=Decimal("-5.00"),  # whatever the sign, a chargeback lowers the net
        **observed(),
    )
    response = page(admin_client, graph.lead)
    totals = response.context["totals"]
    assert totals == {
        "sales": Decimal("210.50"),
        "refunds": Decimal("65.00"),
        "net": Decimal("145.50"),
    }
    content = response.content.decode()
    assert 'id="total-net"><strong>145.50</strong>' in content


def test_activity_is_paged_newest_first(admin_client):
    lead = make_lead()
    now = timezone.now()
    Activity.objects.bulk_create(
        Activity(lead=lead, action=f"visit-{i:03d}", occurred_at=now - timedelta(minutes=i))
        for i in range(ACTIVITY_PER_PAGE + 7)
    )
    first = page(admin_client, lead).context["activity"]
    assert [row.action for row in first.rows[:2]] == ["visit-000", "visit-001"]
    assert len(first.rows) == ACTIVITY_PER_PAGE and first.has_next and not first.has_previous
    second = page(admin_client, lead, activity_page=2).context["activity"]
    assert [row.action for row in second.rows] == [
        f"visit-{i:03d}" for i in range(ACTIVITY_PER_PAGE, ACTIVITY_PER_PAGE + 7)
    ]
    assert second.has_previous and not second.has_next
    content = page(admin_client, lead, activity_page=2).content.decode()
    assert "?activity_page=1#activity" in content
    assert page(admin_client, lead, activity_page="junk").context["activity"].number == 1


def test_a_lead_with_nothing_renders(admin_client):
    content = page(admin_client, make_lead(mirror_raw={})).content.decode()
    assert "No tags." in content and "No transactions." in content


def test_hosts_text_tolerates_odd_shapes():
    assert hosts_text(None) == ""
    assert hosts_text(["someone", {"host_email_address": "a@b.c"}]) == "someone, a@b.c"
