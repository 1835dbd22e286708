"""The IPN normaliser: form-encoded flat fields, ``N/A`` as empty, one PayloadError naming
the field for any bad value (``kartra-facts.md``, "IPN")."""

from decimal import Decimal
from urllib.parse import urlencode

import pytest

from leads.normalize import IPN_ACTIONS, PayloadError, parse_ipn
from tests.payloads import ipn_body, ipn_fields, rebill_fields

from ._support import utc


def _parse(**fields):
    return parse_ipn(urlencode(ipn_fields(**fields)).encode())


def test_a_sale_reads_every_documented_variable():
    event = parse_ipn(ipn_body(9001))
    record = event.detail
    assert event.action == "ipn_sale" and event.known
    assert (record.kartra_id, record.subscription_kartra_id) == (9001, None)
    assert (record.product.kartra_id, record.product.name) == (77, "Course")
    assert record.fields == {
        "transaction_type": "sale",
        "price_point": "2",
        "amount": Decimal("110.50"),
        "full_amount": Decimal("110.50"),
        "base_amount": Decimal("100.00"),
        "discount": None,  # N/A
        "shipping": Decimal("0.00"),
        "tax": Decimal("10.50"),
        "transaction_date": utc(2024, 1, 15, 15, 0),  # Eastern wall time
        "parent_kartra_id": None,  # 0: none
        "original_kartra_id": None,
        "affiliate": "",
        "jv": "",
        "subscription_pay_number": None,
        "quantity": 1,
        "card_last_digits": "4242",
        "trial_payment": False,
        "trial_amount": None,
        "trial_period": None,
        "payments_left": 0,
        "buyer_first_name": "John",
        "buyer_last_name": "Doe",
        "buyer_email": "lead1@example.com",
        "buyer_username": "john",
        "buyer_billing_phone_country_code": "+1",
        "buyer_billing_phone_number": "",  # N/A
        "buyer_billing_address": "1 Main St",
        "buyer_billing_city": "New York",
        "buyer_billing_zip": "10001",
        "buyer_billing_state": "NY",
        "buyer_billing_country": "US",
    }
    assert record.raw["lead_phone_number"] == "N/A"  # the IPN as sent


def test_the_buyer_names_the_lead_but_is_no_profile():
    lead = _parse(lead_id="42", lead_email="Buyer@Example.com").lead
    assert (lead.kartra_id, lead.fields, lead.custom_values) == (
        42,
        {"email": "Buyer@Example.com"},
        None,
    )


def test_older_buyer_keys_are_read_too():
    fields = ipn_fields(lead_id=None, lead_email=None, lead_first_name=None)
    fields.update(buyer_id="5", buyer_email="old@example.com", buyer_first_name="Old")
    event = parse_ipn(urlencode(fields))
    assert (event.lead.kartra_id, event.lead.fields["email"]) == (5, "old@example.com")
    assert event.detail.fields["buyer_first_name"] == "Old"


def test_a_rebill_links_its_subscription_and_its_first_payment():
    event = parse_ipn(
        urlencode(rebill_fields(9005, subscription=7001, original=9001, pay_number=3))
    )
    record = event.detail
    assert event.action == "ipn_rebill"
    assert record.subscription_kartra_id == 7001
    assert record.fields["subscription_pay_number"] == 3
    assert record.fields["parent_kartra_id"] == 9001  # Kartra sends 0: the original stands in
    assert record.fields["original_kartra_id"] == 9001
    assert record.fields["payments_left"] == 9


def test_paypal_subscription_id_gives_way_to_kartras_internal_one():
    fields = rebill_fields(9005, subscription=7001, original=9001, pay_number=2)
    fields["transaction_subscription_id"] = "I-8XK2JH7Y9"
    assert parse_ipn(urlencode(fields)).detail.subscription_kartra_id == 7001


def test_a_refund_keeps_the_sale_it_refunds_as_parent():
    record = _parse(txn_id=9002, kind="refund", transaction_parent_id="9001").detail
    assert record.fields["parent_kartra_id"] == 9001


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"transaction_id": None}, "transaction_id", "value required"),
        ({"transaction_id": "N/A"}, "transaction_id", "value required"),
        ({"transaction_id": "abc"}, "transaction_id", "expected an integer"),
        ({"transaction_type": "N/A"}, "transaction_type", "value required"),
        ({"transaction_type": "upgrade"}, "transaction_type", "not an IPN transaction type"),
        ({"transaction_type": "cancellation"}, "transaction_type", "not an IPN transaction type"),
        ({"transaction_full_amount": "ten"}, "transaction_full_amount", "expected an amount"),
        ({"transaction_tax": "1e9999"}, "transaction_tax", "expected an amount"),
        ({"trial_amount": "$5"}, "trial_amount", "expected an amount"),
        ({"transaction_quantity": "-1"}, "transaction_quantity", "expected a number of units"),
        ({"lead_id": "N/A"}, "lead_id", "value required"),
        ({"transaction_date": "yesterday"}, "transaction_date", "expected YYYY-MM-DD HH:MM:SS"),
        ({"transaction_internal_subscription_id": "x"}, "transaction_internal_subscription_id",
         "expected an integer"),
        ({"transaction_subscription_id": "I-8XK2"}, "transaction_subscription_id",
         "expected an integer"),
    ],
)  # fmt: skip
def test_a_bad_value_is_one_error_naming_its_field(fields, field, reason):
    with pytest.raises(PayloadError) as caught:
        _parse(**fields)
    assert caught.value.field == field
    assert reason in str(caught.value)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"lead": {"id": 1}, "action": "buy_product"}', "JSON, not the IPN's form-encoded"),
        (b"[1, 2]", "JSON"),
        (b"", "empty"),
        (b"   ", "empty"),
        (b"transaction_id", "not form-encoded"),
        (b"transaction_id=1&name=%ff", "not form-encoded"),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
def test_a_body_that_is_not_an_ipn_says_so(body, reason):
    with pytest.raises(PayloadError) as caught:
        parse_ipn(body)
    assert caught.value.field == "body"
    assert reason in str(caught.value)


def test_types_compare_as_kartra_spells_them():
    assert _parse(kind="Partial_Refund").action == "ipn_partial_refund"
    assert {f"ipn_{k}" for k in ("sale", "refund", "partial_refund", "rebill", "failed")} < set(
        IPN_ACTIONS
    )


def test_a_key_sent_twice_keeps_the_last_value():
    body = ipn_body(9001) + b"&transaction_full_amount=5.00"
    assert parse_ipn(body).detail.fields["full_amount"] == Decimal("5.00")
