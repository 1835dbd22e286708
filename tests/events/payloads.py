"""Webhook bodies in the exact shapes of Kartra's outbound doc (001) and the facts file."""

import json
from typing import Any


def lead_block(lead_id: int | str = 1, *, as_int: bool = False, **overrides: Any) -> dict:
    """The 44-key lead block of the 001 doc's list_subscription example."""
    num = (lambda v: int(v)) if as_int else (lambda v: str(v))
    block = {
        "id": num(lead_id),
        "first_name": "John",
        "middle_name": "Doe",
        "last_name": "Doe",
        "last_name2": "Doe",
        "email": f"lead{lead_id}@example.com",
        "phone_country_code": "+1",
        "phone": "1234567",
        "company": "company",
        "address": "address",
        "city": "New York",
        "zip": "1234",
        "state": "state",
        "country": "United States",
        "date_joined": "2018-04-26 00:00:00",
        "website": "http://www.example.com",
        "ip": "127.0.0.1",
        "ip_country": "United States",
        "facebook": "facebook",
        "twitter": "twitter",
        "linkedin": "linkedin",
        "google_plus": "google_plus",
        "sales_tax_id": "1234",
        "lead_picture": "http://www.example.com",
        "source": "0",
        "score": num(0),
        "lead_deleted": num(0),
        "lead_deleted_date": "0000-00-00 00:00:00",
        "referring_id": num(0),
        "blacklisted": num(0),
        "source_id": num(0),
        "gdpr_lead_status": 1,
        "gdpr_lead_status_date": "2018-04-26 00:00:00",
        "gdpr_lead_status_ip": "127.0.0.1",
        "gdpr_lead_communications": 0,
        "custom_fields": [
            {
                "field_id": num(323),
                "field_identifier": "color",
                "field_type": "checkbox",
                "field_value": [
                    {"option_id": num(1), "option_value": "red"},
                    {"option_id": num(2), "option_value": "blue"},
                ],
            },
            {
                "field_id": num(325),
                "field_identifier": "favorite_dish",
                "field_type": "input_field",
                "field_value": "beef lasagna",
            },
        ],
    }
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
    payload = {
        "lead": lead_block(lead_id, as_int=as_int, **lead_overrides),
        "action": action,
        "action_details": action_details(action, as_int=as_int),
    }
    return json.dumps(payload).encode()
