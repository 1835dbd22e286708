"""parse_webhook: one fixture per documented action (001, 000, kartra-facts.md), and the
shape errors."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from leads.normalize import (
    WEBHOOK_ACTIONS,
    AnswerRecord,
    CalendarRecord,
    CatalogRef,
    MembershipRecord,
    OptionRef,
    PayloadError,
    ProductRef,
    SurveyRecord,
    TransactionRecord,
    parse_webhook,
    webhook_first_look,
)

from ._support import WEBHOOKS, utc, webhook_bytes

LEAD = {"id": "1", "email": "a@b.c"}

REFUND_FIELDS = {
    "price_point": "2",
    "buyer_first_name": "John",
    "buyer_last_name": "Doe",
    "buyer_email": "johndoe@gmail.com",
    "buyer_username": "johndoe",
    "base_amount": Decimal("1200.50"),  # "1,200.50"
    "discount": Decimal("0.00"),
    "tax": None,  # "N/A"
    "shipping": None,  # ""
    "affiliate": "aff_user",
    "jv": "",
    "transaction_date": utc(2019, 7, 2, 3, 30, 0),  # 23:30 EDT the day before
    "parent_kartra_id": 5001,
    "subscription_pay_number": 1,
    "original_kartra_id": 5001,
    "buyer_billing_country": "United States",
    "buyer_billing_state": "NY",
    "buyer_billing_phone_country_code": "+1",
    "buyer_billing_phone_number": "1234567",
    "buyer_billing_address": "address",
    "buyer_billing_city": "New York",
    "buyer_billing_zip": "1234",
    "vendor_tracking_id_1": "abc",
    "vendor_tracking_id_2": "",
    "vendor_tracking_link": "Spring promo",
    "shipping_first_name": "John",
    "shipping_last_name": "Doe",
    "shipping_address": "address",
    "shipping_city": "New York",
    "shipping_zip": "1234",
    "shipping_country": "United States",
    "shipping_state": "NY",
    "payment_processor_type": "PayPal",
}

EXPECTED_DETAILS = {
    "list_subscription": CatalogRef(1, "list 1"),
    "list_unsubscription": CatalogRef(7, "Newsletter"),
    "assign_tag": CatalogRef(12, "Customer"),
    "unassign_tag": CatalogRef(12, "Customer"),
    "filled_form": CatalogRef(31, "Optin form"),
    "sequence_subscription": CatalogRef(4, "Welcome"),
    "sequence_unsubscription": CatalogRef(4, "Welcome"),
    "sequence_completion": CatalogRef(5, "Onboarding"),
    "click_tracking_link": CatalogRef(55, "FB ad"),
    "click_page_split_test_link": CatalogRef(66, "Split A"),
    "video_play": CatalogRef(8, "Intro"),
    "video_complete": CatalogRef(8, "Intro"),
    "kartra_page_visit": CatalogRef(77, "Sales page"),
    "reaches_score": 250,
    "membership_granted": MembershipRecord(CatalogRef(3, "Academy"), CatalogRef(9, "Gold")),
    "membership_revoked": MembershipRecord(CatalogRef(4, "External club"), None),
    "affiliate_signup": ProductRef(21, "Course internal", "The Course"),
    "jv_signup": ProductRef(21, "Course internal", "The Course"),
    "calendar_subscribe": CalendarRecord(
        calendar=CatalogRef(123, "first calendar"),
        calendar_class=CatalogRef(22, "first class"),
        subscription_kartra_id=None,
        status=None,
        vendor_id=None,
        vendor_timezone="",
        hosts=(),
        events=(),
        ics_calendar_link="",
    ),
    "calendar_complete": CalendarRecord(
        calendar=CatalogRef(123, "first calendar"),
        calendar_class=None,  # class_id "0", class_name ""
        subscription_kartra_id=None,
        status=None,
        vendor_id=None,
        vendor_timezone="",
        hosts=(),
        events=(),
        ics_calendar_link="",
    ),
    "calendar_cancel": CalendarRecord(
        calendar=CatalogRef(123, "first calendar"),
        calendar_class=CatalogRef(22, "first class"),
        subscription_kartra_id=1885,
        status=None,
        vendor_id=None,
        vendor_timezone="America/New_York",
        hosts=({"first_name": "host", "last_name": "host", "email": "hostemail@gmail.com"},),
        events=((utc(2020, 12, 14, 14, 0), 60),),
        ics_calendar_link="",
    ),
    "survey_complete": SurveyRecord(
        survey=CatalogRef(127, "My Quiz"),
        survey_type="quiz",
        score=Decimal("50.00"),
        completion_time=75,
        completed_at=None,
        answers=(
            AnswerRecord(150, "5+5", 1, (OptionRef(125, "10"),)),
            AnswerRecord(151, "Question", 2, (OptionRef(131, "Cats"), OptionRef(132, "Dogs"))),
        ),
    ),
    "buy_product": TransactionRecord(
        kartra_id=5001,
        product=ProductRef(21, "Course internal", None),
        subscription_kartra_id=None,  # 0
        fields={
            "transaction_type": "sale",
            "price_point": "1",
            "buyer_first_name": "Jane",
            "buyer_last_name": "Roe",
            "buyer_email": "jane@example.com",
            "buyer_username": "jane",
            "full_amount": Decimal("107.90"),
            "amount": Decimal("107.90"),  # what get_lead calls transaction_amount
            "base_amount": Decimal("100.00"),
            "discount": Decimal("0.00"),
            "tax": Decimal("7.90"),
            "shipping": Decimal("0.00"),
            "affiliate": "",
            "jv": "",
            "transaction_date": utc(2019, 1, 15, 13, 31, 2),  # January: EST, +5h
            "parent_kartra_id": None,
            "subscription_pay_number": 1,
            "original_kartra_id": 5001,
            "buyer_billing_country": "United States",
            "buyer_billing_state": "MA",
            "buyer_billing_phone_country_code": "+1",
            "buyer_billing_phone_number": "5550100",
            "buyer_billing_address": "1 Main St",
            "buyer_billing_city": "Boston",
            "buyer_billing_zip": "02101",
            "vendor_tracking_id_1": "",
            "vendor_tracking_id_2": "",
            "vendor_tracking_link": "",
            "trial_payment": False,
            "trial_period": 0,
            "rebill_circle": 30,
            "payments_left": 2,
            "shipping_first_name": "",
            "shipping_last_name": "",
            "shipping_address": "",
            "shipping_city": "",
            "shipping_zip": "",
            "shipping_country": "",
            "shipping_state": "",
            "payment_processor_type": "Stripe",
        },
        raw={},  # compared separately
    ),
    "refund_product": TransactionRecord(
        kartra_id=5002,
        product=ProductRef(21, "test product", None),
        subscription_kartra_id=777,
        fields={
            "transaction_type": "refund",
            "full_amount": Decimal("300.00"),
            "amount": Decimal("300.00"),
            **REFUND_FIELDS,
        },
        raw={},
    ),
    "partial_refund_product": TransactionRecord(
        kartra_id=5004,
        product=ProductRef(21, "test product", None),
        subscription_kartra_id=777,
        fields={
            "transaction_type": "partial_refund",
            "full_amount": Decimal("49.50"),
            "amount": Decimal("49.50"),
            **REFUND_FIELDS,
        },
        raw={},
    ),
    "cancel_subscription": TransactionRecord(
        kartra_id=5003,
        product=ProductRef(22, "Monthly club", None),
        subscription_kartra_id=778,
        fields={
            "transaction_type": "cancellation",
            "price_point": "3",
            "buyer_first_name": "John",
            "buyer_last_name": "Doe",
            "buyer_email": "johndoe@gmail.com",
            "buyer_username": "johndoe",
            # 01:30 on the fall-back night happens twice; fold=0 takes the first (EDT).
            "transaction_date": utc(2019, 11, 3, 5, 30, 0),
            "original_kartra_id": 5002,
            "buyer_billing_country": "United States",
            "buyer_billing_state": "NY",
            "buyer_billing_phone_country_code": "+1",
            "buyer_billing_phone_number": "1234567",
            "buyer_billing_address": "address",
            "buyer_billing_city": "New York",
            "buyer_billing_zip": "1234",
            "payment_processor_type": "Braintree",
        },
        raw={},
    ),
}


def test_the_26_documented_actions():
    assert len(WEBHOOK_ACTIONS) == 26
    assert set(EXPECTED_DETAILS) == WEBHOOK_ACTIONS
    assert {path.stem for path in WEBHOOKS.glob("*.json")} == WEBHOOK_ACTIONS


@pytest.mark.parametrize("action", sorted(EXPECTED_DETAILS))
def test_webhook_fixture(action):
    body = webhook_bytes(action)
    event = parse_webhook(body)
    assert event.action == action
    assert event.known is True
    expected = EXPECTED_DETAILS[action]
    if isinstance(expected, TransactionRecord):
        assert event.detail.kartra_id == expected.kartra_id
        assert event.detail.product == expected.product
        assert event.detail.subscription_kartra_id == expected.subscription_kartra_id
        assert event.detail.fields == expected.fields
        assert event.detail.raw == event.raw_details["transaction_details"]
    else:
        assert event.detail == expected
    # Bytes, text and an already-decoded dict give the same event.
    assert parse_webhook(body.decode()) == event
    assert webhook_first_look(body) == (action, event.lead.kartra_id)


@pytest.mark.parametrize(
    ("action", "lead_id", "date_joined"),
    [
        ("assign_tag", 2, utc(2019, 1, 15, 13, 30)),  # integer ids, January (+5h)
        ("unassign_tag", 1, utc(2018, 4, 26, 4, 0)),  # string ids (001's example block)
        ("kartra_page_visit", 3, utc(2020, 7, 4, 16, 0)),  # 000's block, July (+4h)
    ],
)
def test_lead_block_variants(action, lead_id, date_joined):
    lead = parse_webhook(webhook_bytes(action)).lead
    assert lead.kartra_id == lead_id
    assert lead.fields["date_joined"] == date_joined


def test_kartra_page_visit_lead_block_has_000_keys_only():
    fields = parse_webhook(webhook_bytes("kartra_page_visit")).lead.fields
    assert fields["lead_preferred_time_zone"] == "America/Chicago"
    assert fields["sales_tax_id"] == "CA-99"
    assert fields["gdpr_lead_status_date"] is None  # ""
    # Absent keys stay absent, so applying the profile never blanks them.
    assert "google_plus" not in fields
    assert "lead_deleted" not in fields
    assert "lead_deleted_date" not in fields


def test_integer_lead_block():
    lead = parse_webhook(webhook_bytes("assign_tag")).lead
    assert lead.fields["lead_deleted_date"] is None  # 0000-00-00 00:00:00
    assert lead.fields["source"] == "single-optin"
    assert lead.fields["score"] == 15
    assert lead.fields["gdpr_lead_communications"] == 1
    assert lead.custom_values[0].options == (OptionRef(2, "blue"),)
    assert lead.custom_values[1].text == ""


def test_filled_form_also_accepts_form_key():
    body = {"lead": LEAD, "action": "filled_form", "action_details": {"form": {"form_id": 3}}}
    assert parse_webhook(body).detail == CatalogRef(3, "")


def test_sequence_tree_name_in_a_webhook():
    details = {"sequence": {"sequence_id": "9", "tree_name": "Tree"}}
    body = {"lead": LEAD, "action": "sequence_subscription", "action_details": details}
    assert parse_webhook(body).detail == CatalogRef(9, "Tree")


@pytest.mark.parametrize(
    ("membership", "level"),
    [
        ({"membership_id": 1, "membership_name": "M"}, None),
        ({"membership_id": 1, "membership_name": "M", "level_id": "", "level_name": ""}, None),
        ({"membership_id": 1, "membership_name": "M", "level_id": 0, "level_name": None}, None),
        ({"membership_id": 1, "membership_name": "M", "level_id": "5"}, CatalogRef(5, "")),
        (
            {"membership_id": 1, "membership_name": "M", "level_name": "Gold"},
            CatalogRef(None, "Gold"),
        ),
    ],
)
def test_membership_level(membership, level):
    details = {"membership": membership}
    event = parse_webhook({"lead": LEAD, "action": "membership_granted", "action_details": details})
    assert event.detail == MembershipRecord(CatalogRef(1, "M"), level)


def test_transaction_type_defaults_from_action():
    details = {"transaction_details": {"transaction_id": "9"}}
    body = {"lead": LEAD, "action": "refund_product", "action_details": details}
    assert parse_webhook(body).detail.fields == {"transaction_type": "refund"}


def test_product_official_name_absent_vs_empty():
    def product(payload):
        body = {"lead": LEAD, "action": "jv_signup", "action_details": {"product": payload}}
        return parse_webhook(body).detail

    assert product({"product_id": 1, "product_name": "p"}).official_name is None
    assert product({"product_id": 1, "official_product_name": "N/A"}).official_name == ""


def test_unknown_action_is_returned_unparsed():
    body = {"lead": LEAD, "action": " lead_visits_external_page ", "action_details": []}
    event = parse_webhook(json.dumps(body))
    assert event.action == "lead_visits_external_page"
    assert event.known is False
    assert event.detail is None
    assert event.raw_details == {}
    assert event.lead.kartra_id == 1

    body["action_details"] = {"url": "https://example.com"}
    assert parse_webhook(body).raw_details == {"url": "https://example.com"}
    del body["action_details"]
    assert parse_webhook(body).known is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"not json", "body"),
        (b"[1, 2]", "body"),
        ({"action": "assign_tag", "action_details": {}}, "lead"),
        ({"lead": {}, "action": "assign_tag"}, "lead.id"),
        ({"lead": {"id": "0"}, "action": "assign_tag"}, "lead.id"),
        ({"lead": {"id": "abc"}, "action": "assign_tag"}, "lead.id"),
        ({"lead": LEAD}, "action"),
        ({"lead": LEAD, "action": "  "}, "action"),
        ({"lead": LEAD, "action": 5}, "action"),
        ({"lead": LEAD, "action": "assign_tag"}, "action_details"),
        ({"lead": LEAD, "action": "assign_tag", "action_details": []}, "action_details"),
        ({"lead": LEAD, "action": "assign_tag", "action_details": {}}, "action_details.tag"),
        (
            {"lead": LEAD, "action": "assign_tag", "action_details": {"tag": {"tag_id": "x"}}},
            "action_details.tag.tag_id",
        ),
        (
            {"lead": LEAD, "action": "assign_tag", "action_details": {"tag": {"tag_name": ""}}},
            "action_details.tag",
        ),
        (
            {"lead": LEAD, "action": "reaches_score", "action_details": {"points": "lots"}},
            "action_details.points",
        ),
        ({"lead": LEAD, "action": "reaches_score", "action_details": {}}, "action_details.points"),
        (
            {
                "lead": LEAD,
                "action": "buy_product",
                "action_details": {
                    "transaction_details": {"transaction_id": 1, "transaction_full_amount": "a"}
                },
            },
            "action_details.transaction_details.transaction_full_amount",
        ),
        (
            {
                "lead": LEAD,
                "action": "buy_product",
                "action_details": {"transaction_details": {"transaction_type": "sale"}},
            },
            "action_details.transaction_details.transaction_id",
        ),
        (
            {"lead": LEAD, "action": "jv_signup", "action_details": {"product": {}}},
            "action_details.product",
        ),
        (
            {"lead": {"id": 1, "date_joined": "yesterday"}, "action": "x"},
            "lead.date_joined",
        ),
    ],
)
def test_shape_errors_name_the_field(body, field):
    with pytest.raises(PayloadError) as caught:
        parse_webhook(body)
    assert caught.value.field == field
    assert field in str(caught.value)
    # The webhook URL's first look raises the same, but for the lead block's values other
    # than its id, which it leaves to processing.
    if field.startswith("lead.") and field != "lead.id":
        assert webhook_first_look(body) == (body["action"], 1)
    else:
        with pytest.raises(PayloadError) as looked:
            webhook_first_look(body)
        assert str(looked.value) == str(caught.value)


@pytest.mark.parametrize(
    ("details", "amount"),
    [
        ({"transaction_full_amount": "107.90"}, Decimal("107.90")),
        # Both keys: transaction_amount is get_lead's own name for it.
        ({"transaction_full_amount": "107.90", "transaction_amount": "100"}, Decimal("100.00")),
        ({"transaction_full_amount": "N/A"}, None),
        ({}, "absent"),
    ],
)
def test_a_webhook_transaction_fills_amount_from_its_full_amount(details, amount):
    transaction = {"transaction_id": "5", "transaction_type": "sale", **details}
    body = {"lead": {"id": "1"}, "action": "buy_product",
            "action_details": {"transaction_details": transaction}}  # fmt: skip
    fields = parse_webhook(body).detail.fields
    assert fields.get("amount", "absent") == amount
