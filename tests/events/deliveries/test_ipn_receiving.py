"""The IPN endpoint: stored first (marked ``ipn``), answered, processed by the delivery
pipeline into the same ``Transaction`` rows the webhooks write (``kartra-facts.md``, "IPN")."""

import json
import logging
from decimal import Decimal
from urllib.parse import urlencode

import pytest

from events.models import Activity, Delivery, DeliveryKind, DeliveryStatus
from events.services import delivery_process
from leads.models import Lead, Subscription, Transaction
from tests.payloads import (
    body,
    ipn_body,
    ipn_fields,
    lead_block,
    rebill_fields,
    transaction_details,
)

from .conftest import TOKEN

pytestmark = pytest.mark.django_db

FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def post_ipn(client):
    def _post(data: bytes | str | dict, *, token: str = TOKEN, content_type: str = FORM):
        if isinstance(data, dict):
            data = urlencode(data)
        return client.post(f"/webhooks/kartra/{token}/ipn/", data=data, content_type=content_type)

    return _post


def _buy_webhook(txn_id: int, **extra) -> bytes:
    details = transaction_details(txn_id, **extra)
    return json.dumps(
        {"lead": lead_block(1), "action": "buy_product", "action_details": {
            "transaction_details": details}}
    ).encode()  # fmt: skip


def test_an_ipn_is_stored_marked_and_applied(post_ipn):
    response = post_ipn(ipn_body(9001))
    assert response.status_code == 200
    delivery = Delivery.objects.get()
    assert response.json() == {"delivery": delivery.pk, "status": "processed"}
    assert (delivery.kind, delivery.action, delivery.status) == ("ipn", "ipn_sale", "processed")
    assert delivery.content_type == FORM and bytes(delivery.body) == ipn_body(9001)
    txn = Transaction.objects.get()
    assert (txn.kartra_id, txn.transaction_type, txn.amount) == (9001, "sale", Decimal("110.50"))
    assert (txn.quantity, txn.card_last_digits, txn.discount) == (1, "4242", None)
    assert txn.lead == delivery.lead and txn.lead.kartra_id == 1
    assert Activity.objects.get().transaction == txn


def test_the_buyer_is_not_applied_as_a_profile(post, post_ipn):
    post(body("assign_tag"))  # the lead's profile, from a webhook
    post_ipn(ipn_body(9001, lead_first_name="Checkout", lead_email="lead1@example.com"))
    lead = Lead.objects.get()
    assert lead.first_name == "John"
    assert Transaction.objects.get().buyer_first_name == "Checkout"
    assert lead.mirror_refresh_requested_at is not None  # get_lead brings the rest


def test_an_unknown_buyer_becomes_a_pending_lead_to_refresh(post_ipn):
    post_ipn(ipn_body(9001, lead_id=55))
    lead = Lead.objects.get()
    assert (lead.kartra_id, lead.mirror_status) == (55, "pending")
    assert lead.mirror_refresh_requested_at is not None


@pytest.mark.parametrize(
    ("data", "content_type", "reason"),
    [
        (body("buy_product"), "application/json", "body: JSON, not the IPN's form-encoded"),
        (ipn_fields(transaction_id=None), FORM, "transaction_id: value required"),
        (ipn_fields(transaction_type="upgrade"), FORM, "not an IPN transaction type"),
        (ipn_fields(transaction_full_amount="12,34,5"), FORM,
         "transaction_full_amount: expected an amount"),
        (ipn_fields(lead_id="N/A"), FORM, "lead_id: value required"),
        (b"", FORM, "body: empty"),
    ],
)  # fmt: skip
def test_a_bad_ipn_is_kept_with_its_reason_and_nothing_applied(
    post_ipn, data, content_type, reason
):
    response = post_ipn(data, content_type=content_type)
    assert response.status_code == 400
    assert reason in response.json()["error"]
    delivery = Delivery.objects.get()
    assert (delivery.kind, delivery.status) == (DeliveryKind.IPN, DeliveryStatus.REJECTED)
    assert reason in delivery.error
    assert delivery.body is not None
    assert not Transaction.objects.exists() and not Lead.objects.exists()
    assert not Activity.objects.exists()
    # Reprocessing reads it as an IPN again, and refuses it again.
    assert delivery_process(delivery_id=delivery.pk).status == DeliveryStatus.REJECTED


def test_unknown_token_is_404_and_the_token_never_reaches_the_logs(post_ipn, caplog):
    with caplog.at_level(logging.DEBUG):
        assert post_ipn(ipn_body(), token="wrong-secret").status_code == 404
        assert post_ipn(b"not=an&ipn=1").status_code == 400
    assert not Delivery.objects.filter(kind=DeliveryKind.WEBHOOK).exists()
    from kartra_mirror.logs import redact

    for record in caplog.records:
        assert "wrong-secret" not in redact(record.getMessage())
        assert TOKEN not in redact(record.getMessage())


def test_a_json_webhook_on_the_ipn_url_is_not_read_as_one(post_ipn):
    post_ipn(body("buy_product"), content_type="application/json")
    assert Delivery.objects.get().action == ""


def test_an_ipn_stored_now_is_processed_later_as_an_ipn(post_ipn, settings, monkeypatch):
    from events import views
    from events.services import deliveries_process_batch

    settings.KARTRA_PROCESS_INLINE = False
    wakeups = []
    monkeypatch.setattr(views, "deliveries_drain_soon", lambda: wakeups.append(1))
    assert post_ipn(ipn_body(9001)).json()["status"] == "received"
    assert wakeups == [1]
    assert deliveries_process_batch() == 1
    assert Delivery.objects.get().status == "processed"
    assert Transaction.objects.get().kartra_id == 9001


@pytest.mark.parametrize("ipn_first", [True, False], ids=["ipn-first", "webhook-first"])
def test_a_purchase_seen_by_webhook_and_ipn_is_one_row(post, post_ipn, ipn_first):
    webhook = _buy_webhook(9001, vendor_tracking_id_1="fb-ad")
    ipn = ipn_body(9001, lead_first_name="Johnny", transaction_full_amount="99.00")
    for send in (lambda: post_ipn(ipn), lambda: post(webhook))[:: 1 if ipn_first else -1]:
        assert send().status_code == 200
    txn = Transaction.objects.get()
    assert txn.kartra_id == 9001
    assert txn.vendor_tracking_id_1 == "fb-ad"  # only the webhook carries it
    assert txn.payment_processor_type == "Stripe"
    assert (txn.quantity, txn.card_last_digits) == (1, "4242")  # only the IPN carries them
    # Both carry the buyer's name and the amount: the newest observation (the second) wins.
    assert txn.buyer_first_name == ("John" if ipn_first else "Johnny")
    assert txn.amount == (Decimal("110.50") if ipn_first else Decimal("99.00"))
    assert (txn.tax, txn.transaction_type, txn.product.kartra_id) == (Decimal("10.50"), "sale", 77)
    assert Activity.objects.filter(transaction=txn).count() == 2


def test_a_rebill_links_to_its_subscription_and_first_payment(post_ipn):
    sale = ipn_fields(
        9001,
        transaction_subscription_id="7001",
        transaction_internal_subscription_id="7001",
        transaction_subscription_pay_number="1",
        original_id="9001",
    )
    post_ipn(rebill_fields(9005, subscription=7001, original=9001, pay_number=2))  # before it
    post_ipn(sale)
    failed = rebill_fields(9006, subscription=7001, original=9001, pay_number=3)
    post_ipn({**failed, "transaction_type": "failed"})
    subscription = Subscription.objects.get()
    assert subscription.kartra_id == 7001 and subscription.product.kartra_id == 77
    first, rebill, failed = Transaction.objects.order_by("kartra_id")
    assert {t.subscription for t in (first, rebill, failed)} == {subscription}
    assert (rebill.transaction_type, rebill.subscription_pay_number) == ("rebill", 2)
    assert (failed.transaction_type, failed.subscription_pay_number) == ("failed", 3)
    assert rebill.parent == first and failed.parent == first and first.parent is None
    assert rebill.amount == Decimal("29.00")
    assert Delivery.objects.filter(kind="ipn", status="processed").count() == 3
