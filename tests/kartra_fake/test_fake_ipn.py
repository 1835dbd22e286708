"""The fake's IPN bodies, checked against the IPN variables of kartra-facts.md ("IPN") and
Kartra's help centre: form-encoded flat fields, N/A for empty values."""

from __future__ import annotations

from collections import Counter
from urllib.parse import parse_qs, parse_qsl

import httpx

from kartra_fake import FakeAccount, generate_account, play_events, post_ipn
from kartra_fake.model import words
from tests.conftest import FAKE_ANCHOR

# Typed from Kartra's help centre pages; independent of the fake's own constant on purpose.
IPN_VARIABLES = set(
    words(
        "transaction_id transaction_full_amount transaction_base_amount transaction_discount "
        "transaction_shipping transaction_tax transaction_date transaction_type "
        "transaction_parent_id transaction_affiliate transaction_jv transaction_subscription_id "
        "transaction_internal_subscription_id transaction_subscription_pay_number "
        "transaction_last_4_card_digits original_id transaction_quantity product_name "
        "product_id product_price_point trial trial_amount trial_period payments_left lead_id "
        "lead_first_name lead_last_name lead_email lead_username lead_phone_country_code "
        "lead_phone_number lead_address lead_city lead_zip lead_state lead_country"
    )
)


def _ipn_account() -> FakeAccount:
    account = generate_account(12, seed=3, anchor=FAKE_ANCHOR)
    account.ipn_outbox = []
    return account


def _fields(body: str) -> dict[str, str]:
    return dict(parse_qsl(body, keep_blank_values=True, strict_parsing=True))


def test_no_ipn_is_queued_unless_the_account_sends_them():
    account = generate_account(12, seed=3, anchor=FAKE_ANCHOR)
    account.buy_product(1001, next(iter(account.products)))
    assert account.ipn_outbox is None and account.take_ipns() == []


def test_a_sale_and_its_refund_each_send_one_ipn_of_every_variable():
    account = _ipn_account()
    product = next(p for p in account.products.values() if not p.price_points[0].recurring)
    sale = account.buy_product(1001, product.id)["action_details"]["transaction_details"]
    account.refund_product(1001, int(sale["transaction_id"]))
    bodies = account.take_ipns()
    assert account.take_ipns() == []  # handed over once
    sold, refunded = (_fields(body) for body in bodies)
    assert set(sold) == set(refunded) == IPN_VARIABLES
    assert all(value.strip() != "" for value in sold.values())  # empty is "N/A"
    assert sold["transaction_jv"] == "N/A"
    assert (sold["transaction_type"], refunded["transaction_type"]) == ("sale", "refund")
    assert sold["transaction_id"] == str(sale["transaction_id"])
    assert refunded["transaction_parent_id"] == sold["transaction_id"]
    assert sold["transaction_full_amount"] == f"{float(sale['transaction_full_amount']):.2f}"
    assert sold["transaction_internal_subscription_id"] == "N/A"
    assert (sold["lead_id"], sold["lead_email"]) == ("1001", account.lead(1001).email)


def test_rebills_and_failures_are_sent_by_ipn_only():
    account = _ipn_account()
    lead = next(
        x for x in account.leads.values() if any(s.status == "active" for s in x.subscriptions)
    )
    sub = next(s for s in lead.subscriptions if s.status == "active")
    rebill = account.rebill(lead.id, sub.id)
    failed = account.rebill(lead.id, sub.id, failed=True)
    first, second = (_fields(body) for body in account.take_ipns())
    assert (first["transaction_type"], second["transaction_type"]) == ("rebill", "failed")
    assert first["transaction_id"] == str(rebill.id) and second["transaction_id"] == str(failed.id)
    assert first["transaction_internal_subscription_id"] == str(sub.id)
    assert first["original_id"] == str(sub.original_transaction_id)
    assert first["transaction_parent_id"] == "0"  # as Kartra documents it
    assert int(second["transaction_subscription_pay_number"]) == rebill.pay_number + 1
    if rebill.processor == "PayPal":
        assert not first["transaction_subscription_id"].isdigit()  # PayPal's own id


def test_play_sends_rebills_and_failures_when_ipns_are_on():
    account = _ipn_account()
    kinds = Counter()
    for _mutation, _body in play_events(account, 300, seed=5):
        kinds.update(_fields(body)["transaction_type"] for body in account.take_ipns())
    assert {"sale", "rebill", "failed"} <= set(kinds)


def test_post_ipn_sends_form_fields():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.update(content_type=request.headers["Content-Type"], body=request.content)
        return httpx.Response(200)

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        post_ipn("http://127.0.0.1/ipn/", "transaction_id=1&lead_email=a%40b.c", client=client)
    assert seen["content_type"] == "application/x-www-form-urlencoded"
    assert parse_qs(seen["body"].decode()) == {"transaction_id": ["1"], "lead_email": ["a@b.c"]}
