"""Transactions that name no subscription (``get_lead``'s carry no
``transaction_subscription_id``, 002) linked to their lead's one subscription of the same
product and price point (``leads.services.commerce._transactions_link``), and the facts
and status of the subscriptions they join."""

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from leads.models import Subscription, SubscriptionStatus, Transaction
from leads.normalize import parse_lead_details
from leads.selectors import subscriptions_with_status
from leads.services.snapshot import lead_apply_snapshot
from tests.payloads import example_details, ipn_fields

from .test_subscriptions import LATER, SALE, SUB, apply, rebill_ipn, sale_ipn

pytestmark = pytest.mark.django_db

OTHER_SUB = 7002
OTHER_SALE = 6001


def other_sale_ipn() -> bytes:
    """A second subscription of lead 1 to the same product and price point."""
    fields = ipn_fields(
        OTHER_SALE,
        transaction_full_amount="29.00",
        transaction_subscription_id=str(OTHER_SUB),
        transaction_internal_subscription_id=str(OTHER_SUB),
        transaction_subscription_pay_number="1",
        original_id=str(OTHER_SALE),
        payments_left="2",
    )
    return urlencode(fields).encode()


def snapshot(*transactions: tuple[int, str, str, str], minutes: int = 1) -> None:
    """Apply a ``get_lead`` snapshot of lead 1 (the IPNs' buyer) listing ``transactions``
    (id, type as get_lead spells it, price point, date), taken ``minutes`` from now."""
    details = example_details(
        id="1",
        email="lead1@example.com",
        transactions=[
            {
                "transaction_id": str(txn),
                "product_name": "Course",
                "product_price_point": pp,
                "transaction_type": kind,
                "transaction_amount": "29.00",
                "transaction_date": date,
            }
            for txn, kind, pp, date in transactions
        ],
    )
    lead_apply_snapshot(
        snapshot=parse_lead_details(details),
        requested_at=timezone.now() + timedelta(minutes=minutes),
        sync_run_id=None,
    )


def linked(txn: int) -> int | None:
    sub = Transaction.objects.get(kartra_id=txn).subscription
    return sub.kartra_id if sub else None


def status(kartra_id: int = SUB) -> tuple[str, int | None]:
    row = subscriptions_with_status(now=LATER).get(kartra_id=kartra_id)
    return row.status, row.status_set_by


SNAPSHOT_SALE = (SALE, "Sale", "2", "2024-01-15 10:00:00")
SNAPSHOT_REBILL = (5002, "Rebill", "2", "2024-02-15 10:00:00")


def test_a_rebill_only_a_snapshot_saw_joins_its_subscription():
    apply(sale_ipn())
    snapshot(SNAPSHOT_SALE, SNAPSHOT_REBILL)
    assert linked(5002) == SUB
    sub = Subscription.objects.get()
    assert (sub.payments_made, sub.last_payment_kartra_id) == (2, 5002)
    assert sub.last_payment_at == Transaction.objects.get(kartra_id=5002).transaction_date
    assert status() == (SubscriptionStatus.ACTIVE, 5002)


def test_a_failure_and_a_cancellation_only_a_snapshot_saw_set_the_status():
    apply(sale_ipn())
    snapshot(SNAPSHOT_SALE, SNAPSHOT_REBILL, (5003, "Failed", "2", "2024-03-15 10:00:00"))
    sub = Subscription.objects.get()
    assert (sub.failed_payments, sub.last_failure_kartra_id) == (1, 5003)
    assert status() == (SubscriptionStatus.FAILED_PAYMENT, 5003)
    snapshot(
        SNAPSHOT_SALE,
        SNAPSHOT_REBILL,
        (5003, "Failed", "2", "2024-03-15 10:00:00"),
        (5004, "Cancellation", "2", "2024-03-20 10:00:00"),
        minutes=2,
    )
    assert status() == (SubscriptionStatus.CANCELLED, 5004)


def test_other_price_points_refunds_and_leads_without_a_subscription_stay_unlinked():
    snapshot(SNAPSHOT_SALE, SNAPSHOT_REBILL)  # no subscription known yet
    assert linked(SALE) is None and linked(5002) is None
    apply(sale_ipn())
    snapshot(
        SNAPSHOT_SALE,
        SNAPSHOT_REBILL,
        (5005, "Rebill", "3", "2024-02-15 10:00:00"),  # another price point
        (5006, "Refund", "2", "2024-02-16 10:00:00"),  # not a payment of the plan
        minutes=2,
    )
    assert linked(5002) == SUB
    assert linked(5005) is None and linked(5006) is None


def test_two_subscriptions_of_the_product_and_price_point_leave_it_unlinked():
    apply(
        sale_ipn(),
        other_sale_ipn(),
    )
    snapshot(SNAPSHOT_SALE, SNAPSHOT_REBILL)
    assert linked(5002) is None
    assert sorted(Subscription.objects.values_list("payments_made", flat=True)) == [1, 1]


def test_a_link_once_made_stays_when_later_observations_name_no_subscription():
    apply(sale_ipn())
    snapshot(SNAPSHOT_SALE, SNAPSHOT_REBILL)
    assert linked(5002) == SUB
    # A second subscription of the same plan makes the rule ambiguous; newer snapshots
    # (no subscription id) leave the link as it is.
    apply(other_sale_ipn())
    snapshot(SNAPSHOT_SALE, SNAPSHOT_REBILL, minutes=5)
    assert linked(SALE) == SUB and linked(5002) == SUB
    assert Subscription.objects.get(kartra_id=SUB).payments_made == 2


def test_an_ipn_naming_the_subscription_after_a_snapshot_gathers_its_earlier_payments():
    snapshot(
        SNAPSHOT_SALE,
        SNAPSHOT_REBILL,
        (5003, "Rebill", "2", "2024-03-15 10:00:00"),
        (5010, "Sale", "9", "2024-01-20 10:00:00"),  # a one-off of another price point
    )
    assert not Transaction.objects.filter(subscription__isnull=False).exists()
    apply(rebill_ipn(5004, 4, "2024-04-15 10:00:00", left="5"))
    sub = Subscription.objects.get()
    assert sorted(sub.transactions.values_list("kartra_id", flat=True)) == [
        SALE,
        5002,
        5003,
        5004,
    ]
    assert (sub.first_sale_kartra_id, sub.payments_made, sub.last_payment_kartra_id) == (
        SALE,
        4,
        5004,
    )
    assert sub.price_point == "2"
    assert linked(5010) is None
    assert status() == (SubscriptionStatus.ACTIVE, 5004)


def test_a_second_sale_of_the_plan_is_a_subscription_not_known_and_links_nothing():
    apply(sale_ipn())  # subscription 7001, its first sale 5001
    snapshot(
        SNAPSHOT_SALE,
        (6001, "Sale", "2", "2024-05-01 10:00:00"),  # subscribed again: no IPN seen
        (6002, "Rebill", "2", "2024-06-01 10:00:00"),
    )
    assert linked(SALE) == SUB
    assert linked(6001) is None and linked(6002) is None
    assert Subscription.objects.get().payments_made == 1
