"""Redacting stored bodies (pure): a body about the erased lead keeps its action and
non-personal details; a body that only mentions them loses only the mention."""

import json
from urllib.parse import parse_qsl

from events.redaction import Mentions, body_redact, headers_redact, json_scrub
from tests.payloads import body

MENTIONS = Mentions.of(emails=["Ann@X.com"], values=["Annabel", "5550100"])


def test_a_body_about_the_lead_keeps_the_action_and_the_transaction_but_no_buyer():
    raw = body("buy_product", lead_id=7, email="ann@x.com", first_name="Annabel")

    redacted = json.loads(body_redact(raw, "application/json", MENTIONS, whole=True))

    assert redacted["action"] == "buy_product" and redacted["redacted"] is True
    assert "lead" not in redacted
    txn = redacted["action_details"]["transaction_details"]
    assert txn["transaction_id"] == "9001" and txn["transaction_full_amount"] == "110.50"
    assert not [key for key in txn if key.startswith(("buyer_", "shipping_"))]


def test_a_body_that_only_mentions_the_lead_keeps_its_shape():
    raw = json.dumps({"lead": {"id": 8, "email": "bob@x.com"}, "note": "from ANN@x.com"})

    redacted = json.loads(body_redact(raw.encode(), "application/json", MENTIONS, whole=False))

    assert redacted == {"lead": {"id": 8, "email": "bob@x.com"}, "note": "from [erased]"}


def test_an_email_is_matched_as_a_whole_address_only():
    assert MENTIONS.scrub_text("joann@x.com, ann@x.com.au, ann@x.com") == (
        "joann@x.com, ann@x.com.au, [erased]"
    )
    assert MENTIONS.found_in(b'{"e": "ann%40x.com"}')
    assert not MENTIONS.found_in(b'{"e": "joann@x.com"}')


def test_names_and_phones_are_matched_as_whole_values():
    assert json_scrub({"a": "Annabel", "b": "Annabella", "c": ["5550100"]}, MENTIONS) == {
        "a": "[erased]",
        "b": "Annabella",
        "c": ["[erased]"],
    }


def test_form_bodies_stay_form_bodies():
    raw = (
        b"lead%5Bemail%5D=ann%40x.com&lead%5Bfirst_name%5D=Annabel&product_id=77&amount=9.5"
        b"&lead_email=ann%40x.com&lead_id=7&transaction_last_4_card_digits=4242"
    )

    fields = dict(parse_qsl(body_redact(raw, "application/x-www-form-urlencoded; charset=utf-8",
                                        MENTIONS, whole=True).decode()))  # fmt: skip

    assert fields == {"product_id": "77", "amount": "9.5", "redacted": "1"}


def test_a_body_that_is_not_json_is_replaced_whole():
    assert body_redact(b"ann@x.com, not json", "text/plain", MENTIONS, whole=True) == (
        b'{"redacted": true}'
    )
    assert body_redact(b"to ann@x.com", "text/plain", MENTIONS, whole=False) == b"to [erased]"


def test_headers_keep_only_the_senders():
    headers = {"Content-Type": "application/json", "X-Forwarded-For": "203.0.113.9",
               "User-Agent": "Kartra"}  # fmt: skip
    assert headers_redact(headers) == {"Content-Type": "application/json", "User-Agent": "Kartra"}
