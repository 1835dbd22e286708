"""/api/v1/transactions/ and /api/v1/subscriptions/."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from leads.models import TransactionType
from tests import factories as f
from tests.kartra_mirror.api.conftest import detail_url, get, ids

pytestmark = pytest.mark.django_db


@pytest.fixture
def transactions(db):
    now = timezone.now()
    course = f.ProductFactory(name="course")
    return [
        f.TransactionFactory(
            kartra_id=1,
            lead__kartra_id=10,
            product=course,
            amount=Decimal("10.00"),
            transaction_date=now - timedelta(days=10),
        ),
        f.TransactionFactory(
            kartra_id=2,
            lead__kartra_id=20,
            product=course,
            amount=Decimal("99.50"),
            transaction_type=TransactionType.REFUND,
            transaction_date=now - timedelta(days=1),
        ),
        f.TransactionFactory(
            kartra_id=3,
            lead__kartra_id=30,
            amount=None,
            transaction_date=None,
            transaction_type=TransactionType.REBILL,
        ),
    ]


def kartra_ids(client, **params) -> list[int]:
    return ids(client, "transactions/", **params)


def test_transaction_detail_by_kartra_id(client_reader, transactions):
    body = get(client_reader, "transactions/2/").json()
    assert body["id"] == 2 and body["url"] == detail_url("transactions/2/")
    assert body["lead"] == {
        "id": 20,
        "url": detail_url("leads/20/"),
        "email": transactions[1].lead.email,
    }
    assert body["product"]["name"] == "course"
    assert body["amount"] == "99.50"
    assert "raw" not in body


def test_transaction_filters(client_reader, transactions):
    course = transactions[0].product
    assert kartra_ids(client_reader, lead=20) == [2]
    assert kartra_ids(client_reader, product=course.kartra_id) == [2, 1]
    assert kartra_ids(client_reader, transaction_type="rebill") == [3]
    three_days_ago = (timezone.now() - timedelta(days=3)).isoformat()
    assert kartra_ids(client_reader, date_after=three_days_ago) == [2]
    assert kartra_ids(client_reader, date_before=three_days_ago) == [1]
    assert kartra_ids(client_reader, amount_min="50") == [2]
    assert kartra_ids(client_reader, amount_max="50") == [1]
    assert kartra_ids(client_reader, amount_min="10", amount_max="10.00") == [1]


def test_transaction_orderings(client_reader, transactions):
    assert kartra_ids(client_reader) == [3, 2, 1]
    assert kartra_ids(client_reader, ordering="id") == [1, 2, 3]
    assert kartra_ids(client_reader, ordering="transaction_date") == [1, 2, 3]  # NULL last
    assert kartra_ids(client_reader, ordering="-transaction_date") == [3, 2, 1]
    assert kartra_ids(client_reader, ordering="amount") == [1, 2, 3]
    assert kartra_ids(client_reader, ordering="-amount") == [3, 2, 1]


def test_subscriptions(client_reader):
    mine = f.SubscriptionFactory(lead__kartra_id=4)
    other = f.SubscriptionFactory()
    assert ids(client_reader, "subscriptions/", lead=4) == [mine.kartra_id]
    product = other.product.kartra_id
    assert ids(client_reader, "subscriptions/", product=product) == [other.kartra_id]
    body = get(client_reader, f"subscriptions/{mine.kartra_id}/").json()
    assert body["url"] == detail_url(f"subscriptions/{mine.kartra_id}/")
    assert body["lead"]["id"] == 4 and body["lead"]["url"] == detail_url("leads/4/")
