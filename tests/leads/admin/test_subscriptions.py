"""Subscriptions in the admin: the lead page's card (status, monthly amount, failed
payments, MRR, sign-ups), the subscription list's status filter, and the dashboard's MRR,
subscriptions by status and failed payments and cancellations per day."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from events.dashboard import dashboard
from leads.models import ProductSignup, Subscription, Transaction, TransactionType
from leads.services.commerce import subscriptions_refresh
from tests.factories import make_lead, next_id, observed

from .test_lead_page import page, section

pytestmark = pytest.mark.django_db


def subscription(lead, name: str, *types: str, amount: str = "20.00") -> Subscription:
    """A subscription of a new product with transactions of ``types``, 30 days apart, the
    last a day ago; its facts refreshed."""
    from leads.models import Product

    product = Product.objects.create(kartra_id=next_id(), name=name)
    sub = Subscription.objects.create(kartra_id=next_id(), lead=lead, product=product, **observed())
    start = timezone.now() - timedelta(days=1 + 30 * (len(types) - 1))
    for n, kind in enumerate(types):
        Transaction.objects.create(
            kartra_id=next_id(),
            lead=lead,
            product=product,
            subscription=sub,
            transaction_type=kind,
            transaction_date=start + timedelta(days=30 * n),
            amount=Decimal(amount) if kind != TransactionType.CANCELLATION else Decimal("0"),
            **observed(),
        )
    subscriptions_refresh([sub.pk])
    return sub


@pytest.fixture
def subscribed(db):
    S, R, F, C = (
        TransactionType.SALE,
        TransactionType.REBILL,
        TransactionType.FAILED,
        TransactionType.CANCELLATION,
    )
    lead = make_lead()
    subs = {
        "paying": subscription(lead, "Club", S, R),
        "weekly": subscription(lead, "Coaching", S, R, R, amount="10.00"),
        "failing": subscription(lead, "Academy", S, F),
        "gone": subscription(lead, "Old plan", S, C),
    }
    Subscription.objects.filter(pk=subs["weekly"].pk).update(billing_days=7)
    Subscription.objects.filter(pk=subs["weekly"].pk).update(monthly_amount=Decimal("43.48"))
    ProductSignup.objects.create(
        lead=lead,
        product=subs["paying"].product,
        kind="jv",
        signed_up_at=timezone.now() - timedelta(days=3),
        **observed(),
    )
    return lead, subs


def test_the_lead_page_shows_each_subscription_its_status_and_the_leads_mrr(
    admin_client, subscribed
):
    lead, subs = subscribed
    content = page(admin_client, lead).content.decode()
    table = section(content, "profile-subscriptions")
    # Failed first, then active, cancelled last.
    order = [table.index(name) for name in ("Academy", "Club", "Old plan")]
    assert order == sorted(order)
    assert table.count(">failed payment<") == 1 and table.count(">cancelled<") == 1
    assert table.count(">active<") == 2
    assert "43.48" in table and "20.00" in table
    # Paying 20.00 a month and 10.00 a week (43.48 a month).
    assert "63.48" in section(content, "profile-mrr")
    assert ">1<" in section(content, "profile-failed-payments").replace(" ", "")
    assert "kartra-bad" in section(content, "profile-failed-payments")
    signups = section(content, "profile-signups")
    assert "Club" in signups and "JV since" in signups


def test_the_subscription_list_filters_by_status(admin_client, subscribed):
    _lead, subs = subscribed
    subs["gone"].refresh_from_db()
    url = reverse("admin:leads_subscription_changelist")
    content = admin_client.get(url, {"status": "failed_payment"}).content.decode()
    assert "Academy" in content and "Club" not in content
    content = admin_client.get(url, {"status": "active"}).content.decode()
    assert "Club" in content and "Coaching" in content and "Academy" not in content
    detail = admin_client.get(
        reverse("admin:leads_subscription_change", args=[subs["gone"].pk])
    ).content.decode()
    assert "cancelled" in detail and str(subs["gone"].cancellation_kartra_id) in detail


def test_the_dashboard_shows_mrr_statuses_and_failures_per_day(admin_client, subscribed):
    data = dashboard()
    figures = data["subscriptions"]
    assert figures["mrr"] == Decimal("63.48")
    assert (figures["active"], figures["failed_payment"], figures["cancelled"]) == (2, 1, 1)
    chart = figures["chart"]
    assert "(1 failed, 1 cancelled in 30 days)" in chart.title
    content = admin_client.get(reverse("admin:index")).content.decode()
    mrr = content.index('id="kartra-mrr"')
    assert "63.48" in content[mrr : content.index("</dd>", mrr)]
    assert 'data-chart="churn"' in content
