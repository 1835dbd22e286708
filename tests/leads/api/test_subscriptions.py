"""/api/v1/subscriptions/ with their derived status, transactions by subscription, and the
leads' affiliate and JV sign-up filters."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from leads.models import TransactionType
from leads.services.commerce import subscriptions_refresh
from tests import factories as f
from tests.kartra_mirror.api.conftest import get, ids

pytestmark = pytest.mark.django_db


def _subscription(kartra_id: int, product, *types: str, **facts):
    """A subscription with transactions of ``types``, a day apart, its facts refreshed."""
    sub = f.SubscriptionFactory(kartra_id=kartra_id, product=product, **facts)
    start = timezone.now() - timedelta(days=60)
    for n, kind in enumerate(types):
        f.TransactionFactory(
            kartra_id=kartra_id * 10 + n,
            lead=sub.lead,
            product=product,
            subscription=sub,
            transaction_type=kind,
            transaction_date=start + timedelta(days=30 * n),
            amount=Decimal("20.00") if kind != TransactionType.CANCELLATION else Decimal("0"),
        )
    subscriptions_refresh([sub.pk])
    return sub


@pytest.fixture
def subscriptions(db):
    course, club = f.ProductFactory(kartra_id=77), f.ProductFactory(kartra_id=88)
    S, R, F, C = (
        TransactionType.SALE,
        TransactionType.REBILL,
        TransactionType.FAILED,
        TransactionType.CANCELLATION,
    )
    return {
        "active": _subscription(1, course, S, R),
        "failed": _subscription(2, course, S, F),
        "cancelled": _subscription(3, club, S, C),
        "club active": _subscription(4, club, S),
    }


def test_subscriptions_filter_by_status_and_product(client_reader, subscriptions):
    assert ids(client_reader, "subscriptions/", status="active") == [4, 1]
    assert ids(client_reader, "subscriptions/", status="failed_payment") == [2]
    assert ids(client_reader, "subscriptions/", status="cancelled") == [3]
    assert ids(client_reader, "subscriptions/", status="trial") == []
    assert ids(client_reader, "subscriptions/", product=77) == [2, 1]
    assert ids(client_reader, "subscriptions/", product=88, status="active") == [4]
    assert get(client_reader, "subscriptions/", status="paused").status_code == 400


def test_a_subscription_shows_its_status_what_set_it_and_its_facts(client_reader, subscriptions):
    body = get(client_reader, "subscriptions/2/").json()
    assert (body["status"], body["status_set_by"]) == ("failed_payment", 21)
    assert body["status_since"] == body["last_failure_at"]
    assert (body["payments_made"], body["failed_payments"], body["first_sale_kartra_id"]) == (
        1,
        1,
        20,
    )
    active = get(client_reader, "subscriptions/1/").json()
    assert (active["status"], active["status_set_by"], active["monthly_amount"]) == (
        "active",
        11,
        "20.00",
    )
    assert active["billing_days"] == 30  # the gap between its two payments


def test_transactions_filter_by_subscription(client_reader, subscriptions):
    f.TransactionFactory(kartra_id=999)  # no subscription
    assert ids(client_reader, "transactions/", subscription=1) == [11, 10]
    assert ids(client_reader, "transactions/", subscription=3, transaction_type="cancellation") == [
        31
    ]
    assert ids(client_reader, "transactions/", subscription=12345) == []


def test_leads_filter_by_affiliate_and_jv_signups(client_reader):
    now = timezone.now()
    course, club = f.ProductFactory(kartra_id=77), f.ProductFactory(kartra_id=88)
    early = f.ProductSignupFactory(
        lead__kartra_id=1, product=course, signed_up_at=now - timedelta(days=40)
    )
    f.ProductSignupFactory(lead__kartra_id=2, product=club, signed_up_at=now - timedelta(days=2))
    f.ProductSignupFactory(lead__kartra_id=3, product=course, kind="jv", signed_up_at=now)
    f.LeadFactory(kartra_id=4)
    leads = lambda **params: sorted(ids(client_reader, "leads/", **params))  # noqa: E731
    assert leads(affiliate_product_id=77) == [1]
    assert leads(affiliate_product_id=[77, 88]) == [1, 2]
    assert leads(jv_product_id=77) == [3]
    assert leads(signup="affiliate") == [1, 2]
    assert leads(signup="jv") == [3]
    since = (now - timedelta(days=7)).isoformat()
    assert leads(signed_up_after=since) == [2, 3]
    assert leads(signup="affiliate", signed_up_after=since) == [2]
    assert leads(affiliate_product_id=77, signed_up_after=since) == []
    assert leads(affiliate_product_id=77, signed_up_before=since) == [1]
    assert leads(affiliate_product_id=12345) == []
    body = get(client_reader, "leads/1/").json()
    assert body["signups"] == [
        {
            "kind": "affiliate",
            "product": {
                "id": 77,
                "url": "http://testserver/api/v1/products/77/",
                "name": course.name,
            },
            "signed_up_at": body["signups"][0]["signed_up_at"],
        }
    ]
    assert early.signed_up_at.isoformat()[:19] == body["signups"][0]["signed_up_at"][:19]


def test_the_schema_documents_the_new_filters():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = schema["paths"]

    def parameters(path: str) -> dict:
        return {p["name"]: p for p in paths[path]["get"]["parameters"]}

    status = parameters("/api/v1/subscriptions/")["status"]["schema"]
    assert set(status["enum"]) == {"active", "trial", "failed_payment", "cancelled", "completed"}
    assert "product" in parameters("/api/v1/subscriptions/")
    assert "subscription" in parameters("/api/v1/transactions/")
    lead_filters = parameters("/api/v1/leads/")
    assert {"affiliate_product_id", "jv_product_id", "signup", "signed_up_after",
            "signed_up_before"} <= set(lead_filters)  # fmt: skip
