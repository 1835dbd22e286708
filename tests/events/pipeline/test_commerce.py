"""Transactions seen by a snapshot and by a webhook received before it but processed after
(a backlog, a linger, a database retry, ``kartra_replay``): the webhook's detail, which
``get_lead`` never carries, fills what the snapshot left empty, whatever the order."""

import json

import pytest

from events.services import deliveries_process_batch
from leads.models import Subscription, Transaction
from tests.payloads import action_details, example_details, lead_block

from ._helpers import at, snapshot, store

pytestmark = pytest.mark.django_db


def _details(*transactions: dict) -> dict:
    return example_details(
        id="1", email="lead1@example.com", transactions=list(transactions),
        calendars=[], surveys=[],
    )  # fmt: skip


def _webhook(action: str) -> bytes:
    return json.dumps(
        {"lead": lead_block(1), "action": action, "action_details": action_details(action)}
    ).encode()


def test_cancellation_webhook_processed_after_a_snapshot_still_cancels_the_subscription():
    snapshot(
        _details(
            {"transaction_id": "9003", "product_name": "Course", "transaction_type":
             "Cancellation", "transaction_amount": "0", "transaction_date": "2024-01-15 10:00:00"}
        ),
        at(10),
    )  # fmt: skip
    store(_webhook("cancel_subscription"), at(5))  # received before the get_lead request

    assert deliveries_process_batch() == 1

    txn = Transaction.objects.get(kartra_id=9003)
    assert txn.subscription is not None and txn.subscription.kartra_id == 555
    assert Subscription.objects.get(kartra_id=555).cancelled


def test_purchase_webhook_processed_after_a_snapshot_keeps_its_detail():
    snapshot(
        _details(
            {"transaction_id": "9001", "product_name": "Course", "product_price_point": "2",
             "transaction_type": "Sale", "transaction_amount": "110.50",
             "transaction_date": "2024-01-15 10:00:00"}
        ),
        at(10),
    )  # fmt: skip
    store(_webhook("buy_product"), at(5))

    assert deliveries_process_batch() == 1

    txn = Transaction.objects.get(kartra_id=9001)
    # Processed in the other order (webhook, then snapshot) these are all kept.
    assert (txn.buyer_email, txn.payment_processor_type) == ("lead1@example.com", "Stripe")
    assert "buyer_email" in txn.raw


def test_refund_webhook_processed_after_a_snapshot_links_its_sale():
    sale = {
        "transaction_id": "9001",
        "product_name": "Course",
        "transaction_type": "Sale",
        "transaction_amount": "110.50",
        "transaction_date": "2024-01-15 10:00:00",
    }
    refund = {
        "transaction_id": "9002",
        "product_name": "Course",
        "transaction_type": "Refund",
        "transaction_amount": "-110.50",
        "transaction_date": "2024-01-16 10:00:00",
    }
    snapshot(_details(sale, refund), at(10))
    store(_webhook("refund_product"), at(5))

    assert deliveries_process_batch() == 1

    assert Transaction.objects.get(kartra_id=9002).parent_id == (
        Transaction.objects.get(kartra_id=9001).pk
    )


def test_same_two_observations_in_the_other_order_for_comparison():
    """Webhook first, snapshot after: everything is kept too."""
    store(_webhook("cancel_subscription"), at(5))
    assert deliveries_process_batch() == 1
    snapshot(
        _details(
            {"transaction_id": "9003", "product_name": "Course", "transaction_type":
             "Cancellation", "transaction_amount": "0", "transaction_date": "2024-01-15 10:00:00"}
        ),
        at(10),
    )  # fmt: skip
    txn = Transaction.objects.get(kartra_id=9003)
    assert txn.subscription.kartra_id == 555
    assert Subscription.objects.get(kartra_id=555).cancelled
    assert txn.buyer_email == "lead1@example.com"


def test_webhook_raw_survives_two_snapshots():
    """A webhook's full raw transaction stays through any number of later snapshots, whose
    short raw objects only fill an empty one."""
    store(_webhook("buy_product"), at(0))
    assert deliveries_process_batch() == 1
    short = {
        "transaction_id": "9001",
        "product_name": "Course",
        "transaction_type": "Sale",
        "transaction_amount": "110.50",
        "transaction_date": "2024-01-15 10:00:00",
    }
    snapshot(_details(short), at(10))
    assert "buyer_email" in Transaction.objects.get(kartra_id=9001).raw  # kept once
    snapshot(_details(short), at(20))
    assert "buyer_email" in Transaction.objects.get(kartra_id=9001).raw
