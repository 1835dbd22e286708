"""Kartra's wire payloads for tests, in one place: webhook bodies (001 doc), IPN bodies
(``kartra-facts.md``, "IPN") and ``get_lead`` answers (002 doc).

The webhook lead block comes from the fake's own renderer (``kartra_fake.render``, checked
against the docs by ``tests/kartra_fake/test_docs_conformance.py``) fed with the 001 doc's
example lead, so its shape is written once. The rest is written out with the docs' example
values, which the tests assert on: the fake renders the accounts it generates, and its
``transaction_details`` carries keys per transaction type that these bodies leave out.
"""

import copy
import json
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from kartra_fake import FakeCustomField, FakeLead, FakeNamed
from kartra_fake.data import FakeAccountData
from kartra_fake.model import KARTRA_TZ
from kartra_fake.render import webhook_lead
from leads.normalize import loads_lenient

# -- webhooks (001 doc) ---------------------------------------------------------------------

_DOC_DATE = datetime(2018, 4, 26, tzinfo=KARTRA_TZ)
# The 001 doc's example account: two custom fields, one with options.
_DOC_ACCOUNT = FakeAccountData(
    custom_fields={
        323: FakeCustomField(323, "color", "checkbox", [FakeNamed(1, "red"), FakeNamed(2, "blue")]),
        325: FakeCustomField(325, "favorite_dish", "input_field"),
    },
    anchor=_DOC_DATE,
)


def lead_block(lead_id: int | str = 1, *, as_int: bool = False, **overrides: Any) -> dict:
    """The lead block of the 001 doc's list_subscription example; ids as strings (the doc's
    GDPR flags stay numbers) or, ``as_int``, every id a number; ``overrides`` replace keys."""
    lead = FakeLead(
        id=int(lead_id),
        email=f"lead{lead_id}@example.com",
        first_name="John",
        middle_name="Doe",
        last_name="Doe",
        last_name2="Doe",
        phone_country_code="+1",
        phone="1234567",
        company="company",
        address="address",
        city="New York",
        zip="1234",
        state="state",
        country="United States",
        date_joined=_DOC_DATE,
        website="http://www.example.com",
        ip="127.0.0.1",
        ip_country="United States",
        facebook="facebook",
        twitter="twitter",
        linkedin="linkedin",
        google_plus="google_plus",
        sales_tax_id="1234",
        lead_picture="http://www.example.com",
        source="0",
        gdpr_lead_status=1,
        gdpr_lead_status_date=_DOC_DATE,
        gdpr_lead_status_ip="127.0.0.1",
        gdpr_agreed=True,
        custom_fields={323: [1, 2], 325: "beef lasagna"},
    )
    block = webhook_lead(_DOC_ACCOUNT, lead, "int" if as_int else "mixed")
    block.update(overrides)
    return block


def transaction_details(txn_id: int, *, kind: str = "sale", as_int: bool = False, **extra) -> dict:
    num = (lambda v: int(v)) if as_int else (lambda v: str(v))
    details = {
        "transaction_id": num(txn_id),
        "buyer_first_name": "John",
        "buyer_last_name": "Doe",
        "buyer_email": "lead1@example.com",
        "buyer_username": "john",
        "buyer_id": num(1),
        "product_name": "Course",
        "product_id": num(77),
        "product_price_point": num(2),
        "transaction_full_amount": 110.5 if as_int else "110.50",
        "transaction_base_amount": "100.00",
        "transaction_discount": "0.00",
        "transaction_tax": "10.50",
        "transaction_shipping": "0",
        "transaction_affiliate": "",
        "transaction_jv": "",
        "transaction_date": "2024-01-15 10:00:00",
        "transaction_type": kind,
        "transaction_parent_id": num(0),
        "transaction_subscription_id": num(0),
        "transaction_subscription_pay_number": num(1),
        "original_id": num(txn_id),
        "buyer_billing_country": "US",
        "buyer_billing_state": "NY",
        "buyer_billing_phone_country_code": "+1",
        "buyer_billing_phone_number": "1234567",
        "buyer_billing_address": "1 Main St",
        "buyer_billing_city": "New York",
        "buyer_billing_zip": "10001",
        "vendor_tracking_id_1": "",
        "vendor_tracking_id_2": "",
        "vendor_tracking_link": "",
        "payment_processor_type": "Stripe",
    }
    details.update(extra)
    return details


def action_details(action: str, *, as_int: bool = False) -> Any:
    """The documented ``action_details`` for each action."""
    num = (lambda v: int(v)) if as_int else (lambda v: str(v))
    named = {
        "list_subscription": ("list", "list", 11, "Newsletter"),
        "list_unsubscription": ("list", "list", 11, "Newsletter"),
        "assign_tag": ("tag", "tag", 21, "VIP"),
        "unassign_tag": ("tag", "tag", 21, "VIP"),
        "filled_form": ("tag", "form", 31, "Signup form"),
        "sequence_subscription": ("sequence", "sequence", 41, "Welcome"),
        "sequence_unsubscription": ("sequence", "sequence", 41, "Welcome"),
        "sequence_completion": ("sequence", "sequence", 41, "Welcome"),
        "click_tracking_link": ("tracking_link", "tracking_link", 51, "Promo link"),
        "click_page_split_test_link": (
            "page_split_test_link",
            "page_split_test_link",
            61,
            "Split A",
        ),
        "video_play": ("video", "video", 71, "Intro video"),
        "video_complete": ("video", "video", 71, "Intro video"),
        "kartra_page_visit": ("kartra_page", "kartra_page", 81, "Sales page"),
    }
    if action in named:
        key, prefix, ident, name = named[action]
        return {key: {f"{prefix}_id": num(ident), f"{prefix}_name": name}}
    if action == "buy_product":
        return {"transaction_details": transaction_details(9001, as_int=as_int)}
    if action in ("refund_product", "partial_refund_product"):
        kind = "refund" if action == "refund_product" else "partial_refund"
        return {
            "transaction_details": transaction_details(
                9002,
                kind=kind,
                as_int=as_int,
                transaction_parent_id=num(9001),
                transaction_full_amount="-110.50" if kind == "refund" else "-20.00",
            )
        }
    if action == "cancel_subscription":
        return {
            "transaction_details": transaction_details(
                9003,
                kind="cancellation",
                as_int=as_int,
                transaction_subscription_id=num(555),
            )
        }
    if action == "reaches_score":
        return {"points": num(150)}
    if action in ("membership_granted", "membership_revoked"):
        return {
            "membership": {
                "membership_id": num(91),
                "membership_name": "Academy",
                "level_id": num(92),
                "level_name": "Gold",
            }
        }
    if action in ("affiliate_signup", "jv_signup"):
        return {
            "product": {
                "product_id": num(77),
                "product_name": "Course",
                "official_product_name": "The Course",
            }
        }
    if action.startswith("calendar_"):
        return {
            "calendar": {
                "calendar_id": num(123),
                "calendar_name": "Coaching",
                "class_id": num(22),
                "class_name": "Intro call",
            }
        }
    if action == "survey_complete":
        return {
            "survey": {
                "survey_id": num(127),
                "survey_name": "My Quiz",
                "survey_type": num(2),
                "survey_score": num(50),
                "survey_completion_time": num(75),
                "questions": [
                    {
                        "question_id": num(150),
                        "question_title": "5+5",
                        "question_correct": num(1),
                        "answers": [{"option_id": num(125), "option_value": "10"}],
                    }
                ],
            }
        }
    raise KeyError(action)


def body(action: str, *, lead_id: int = 1, as_int: bool = False, **lead_overrides) -> bytes:
    """A full webhook body: the lead block and the documented details of ``action``."""
    payload = {
        "lead": lead_block(lead_id, as_int=as_int, **lead_overrides),
        "action": action,
        "action_details": action_details(action, as_int=as_int),
    }
    return json.dumps(payload).encode()


def webhook_body(lead_id: int, action: str, details: dict, **lead: Any) -> dict:
    """A minimal outbound-API body (001 doc shape) for one lead."""
    block = {"id": str(lead_id), "email": f"lead{lead_id}@example.com", **lead}
    return {"lead": block, "action": action, "action_details": details}


# -- IPN ------------------------------------------------------------------------------------
# Form-encoded flat fields, ``N/A`` for empty values (the variables of Kartra's help centre
# pages). Written out here, independent of the fake's renderer (``kartra_fake.ipn``).


def ipn_fields(txn_id: int = 9001, *, kind: str = "sale", lead_id: int | None = 1, **extra):
    """A one-time sale's IPN (subscription fields ``N/A``), with ``extra`` replacing fields;
    a value of ``None`` drops the field."""
    fields = {
        "transaction_id": str(txn_id),
        "transaction_full_amount": "110.50",
        "transaction_base_amount": "100.00",
        "transaction_discount": "N/A",
        "transaction_shipping": "0.00",
        "transaction_tax": "10.50",
        "transaction_date": "2024-01-15 10:00:00",
        "transaction_type": kind,
        "transaction_parent_id": "0",
        "transaction_affiliate": "N/A",
        "transaction_jv": "N/A",
        "transaction_quantity": "1",
        "transaction_subscription_id": "N/A",
        "transaction_internal_subscription_id": "N/A",
        "transaction_subscription_pay_number": "N/A",
        "transaction_last_4_card_digits": "4242",
        "original_id": "0",
        "product_name": "Course",
        "product_id": "77",
        "product_price_point": "2",
        "trial": "0",
        "trial_amount": "N/A",
        "trial_period": "N/A",
        "payments_left": "0",
        "lead_id": None if lead_id is None else str(lead_id),
        "lead_first_name": "John",
        "lead_last_name": "Doe",
        "lead_email": f"lead{lead_id or 1}@example.com",
        "lead_username": "john",
        "lead_phone_country_code": "+1",
        "lead_phone_number": "N/A",
        "lead_address": "1 Main St",
        "lead_city": "New York",
        "lead_zip": "10001",
        "lead_state": "NY",
        "lead_country": "US",
    }
    fields.update(extra)
    return {key: value for key, value in fields.items() if value is not None}


def rebill_fields(txn_id: int, *, subscription: int, original: int, pay_number: int, **extra):
    """A subscription's rebill: Kartra sends parent 0 and the first payment as original_id."""
    return ipn_fields(
        txn_id,
        kind="rebill",
        transaction_full_amount="29.00",
        transaction_base_amount="29.00",
        transaction_tax="0.00",
        transaction_subscription_id=str(subscription),
        transaction_internal_subscription_id=str(subscription),
        transaction_subscription_pay_number=str(pay_number),
        original_id=str(original),
        payments_left="9",
        **extra,
    )


def ipn_body(txn_id: int = 9001, **kwargs) -> bytes:
    return urlencode(ipn_fields(txn_id, **kwargs)).encode()


# -- get_lead (002 doc) ---------------------------------------------------------------------

EXAMPLE_002 = (
    Path(__file__).parent / "leads" / "normalize" / "fixtures" / "002_get_lead_success.json"
)


def example_details(**overrides: Any) -> dict:
    """``lead_details`` of the 002 doc's example (a fresh copy), with top-level overrides."""
    details = copy.deepcopy(loads_lenient(EXAMPLE_002.read_bytes())["lead_details"])
    details.update(overrides)
    return details
