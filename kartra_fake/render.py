"""How the fake account looks on the wire: ``get_lead`` answers, catalogue answers and the
parts of webhook bodies, each in the shape of Kartra's docs, quirks included."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from .data import FakeAccountData
from .model import (
    KARTRA_TZ,
    TEXT_FIELD_TYPES,
    FakeCalendarSubscription,
    FakeLead,
    FakeSurveyResult,
    FakeTransaction,
    words,
)

#: How ids, flags and scores travel in one delivery: all strings (get_lead, 001's first
#: example), all integers (001's reference tables), or "mixed" like 001's example (strings,
#: but integer gdpr flags and action_details ids).
IdStyle = Literal["str", "int", "mixed"]
AmountStyle = Literal["str", "float"]

DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
ZERO_DATE = "0000-00-00 00:00:00"

# Lead block of every 001 webhook, in the documented order (35 keys + custom_fields).
WEBHOOK_LEAD_KEYS = words(
    "id first_name middle_name last_name last_name2 email phone_country_code phone company "
    "address city zip state country date_joined website ip ip_country facebook twitter linkedin "
    "google_plus sales_tax_id lead_picture source score lead_deleted lead_deleted_date "
    "referring_id blacklisted source_id gdpr_lead_status gdpr_lead_status_date "
    "gdpr_lead_status_ip gdpr_lead_communications custom_fields"
)
# kartra_page_visit's lead block (000 doc): no google_plus/lead_deleted*, has the time zone.
PAGE_VISIT_LEAD_KEYS = words(
    "id first_name middle_name last_name last_name2 email phone_country_code phone company "
    "address city zip state country date_joined website ip ip_country facebook twitter linkedin "
    "sales_tax_id lead_picture source score referring_id blacklisted source_id gdpr_lead_status "
    "gdpr_lead_status_date gdpr_lead_status_ip gdpr_lead_communications lead_preferred_time_zone "
    "custom_fields"
)
# Profile fields that may be empty; a lead renders them as "" or "N/A" (its empty_style).
OPTIONAL_TEXT = frozenset(
    words(
        "middle_name last_name2 company sales_tax_id phone_country_code phone address zip city "
        "state website facebook twitter linkedin google_plus notes"
    )
)

# transaction_details keys per action, in 001's order.
_COMMON_HEAD = words(
    "transaction_id buyer_first_name buyer_last_name buyer_email buyer_username buyer_id "
    "product_name product_id product_price_point"
)
_AMOUNTS = words(
    "transaction_full_amount transaction_base_amount transaction_discount transaction_tax "
    "transaction_shipping transaction_affiliate transaction_jv"
)
_BILLING = words(
    "buyer_billing_country buyer_billing_state buyer_billing_phone_country_code "
    "buyer_billing_phone_number buyer_billing_address buyer_billing_city buyer_billing_zip"
)
_VENDOR = words("vendor_tracking_id_1 vendor_tracking_id_2 vendor_tracking_link")
_SHIPPING = words(
    "shipping_first_name shipping_last_name shipping_address shipping_city shipping_zip "
    "shipping_country shipping_state"
)
_SUBSCRIPTION = words(
    "transaction_parent_id transaction_subscription_id transaction_subscription_pay_number "
    "original_id"
)
BUY_KEYS = (
    _COMMON_HEAD
    + _AMOUNTS
    + ["transaction_date", "transaction_type"]
    + _SUBSCRIPTION
    + _BILLING
    + _VENDOR
    + words("trial_payment trial_period rebill_circle payments_left")
    + _SHIPPING
    + ["payment_processor_type"]
)
REFUND_KEYS = (
    _COMMON_HEAD
    + _AMOUNTS
    + ["transaction_date", "transaction_type"]
    + _SUBSCRIPTION
    + _BILLING
    + _VENDOR
    + _SHIPPING
    + ["payment_processor_type"]
)
CANCEL_KEYS = (
    _COMMON_HEAD
    + words("transaction_date transaction_type transaction_subscription_id original_id")
    + _BILLING
    + ["payment_processor_type"]
)
TRANSACTION_KEYS = {
    "sale": BUY_KEYS,
    "refund": REFUND_KEYS,
    "partial_refund": REFUND_KEYS,
    "cancellation": CANCEL_KEYS,
}


def kartra_date(value: datetime | None, empty: str = ZERO_DATE) -> str:
    """``YYYY-MM-DD HH:MM:SS`` wall time in America/New_York, no zone marker."""
    return empty if value is None else value.astimezone(KARTRA_TZ).strftime(DATE_FORMAT)


def as_id(value: int, style: IdStyle) -> str | int:
    """An id, flag or score as this delivery sends it."""
    return value if style == "int" else str(value)


def as_amount(value: Decimal, style: AmountStyle) -> str | float:
    """An amount as ``"300.00"`` or ``300.0``."""
    return f"{value:.2f}" if style == "str" else float(value)


def _flag(value: bool, style: IdStyle) -> str | int:
    return as_id(1 if value else 0, style)


def _text(lead: FakeLead, name: str) -> str:
    value = getattr(lead, name)
    if not value and name in OPTIONAL_TEXT:
        return lead.empty_style
    return value


# -- shared blocks --------------------------------------------------------------------------


def custom_fields_block(
    account: FakeAccountData, lead: FakeLead, style: IdStyle
) -> list[dict[str, Any]]:
    """Every account custom field with this lead's value, even empty ones (002 doc, **)."""
    block = []
    for cf in account.custom_fields.values():
        value = lead.custom_fields.get(cf.id)
        if cf.type in TEXT_FIELD_TYPES:
            field_value: Any = value if isinstance(value, str) else ""
        else:
            names = {option.id: option.name for option in cf.options}
            chosen = value if isinstance(value, list) else []
            field_value = [
                {"option_id": as_id(oid, style), "option_value": names[oid]} for oid in chosen
            ]
        block.append(
            {
                "field_id": as_id(cf.id, style),
                "field_identifier": cf.identifier,
                "field_type": cf.type,
                "field_value": field_value,
            }
        )
    return block


def _profile(lead: FakeLead, style: IdStyle) -> dict[str, Any]:
    scalar = "str" if style == "mixed" else style
    return {
        "id": as_id(lead.id, scalar),
        "email": lead.email,
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "username": lead.username,
        **{name: _text(lead, name) for name in OPTIONAL_TEXT},
        "date_joined": kartra_date(lead.date_joined),
        "ip": lead.ip,
        "ip_country": lead.ip_country,
        "country": lead.country,
        "lead_picture": lead.lead_picture,
        "lead_preferred_time_zone": lead.lead_preferred_time_zone,
        "source": lead.source,
        "source_id": as_id(lead.source_id, scalar),
        "referring_id": as_id(lead.referring_id, scalar),
        "score": as_id(lead.score, scalar),
        "blacklisted": _flag(lead.blacklisted, scalar),
        "lead_deleted": _flag(lead.deleted, scalar),
        "lead_deleted_date": kartra_date(lead.deleted_date),
        "gdpr_lead_status": as_id(lead.gdpr_lead_status, "int" if style == "mixed" else style),
        "gdpr_lead_status_date": kartra_date(lead.gdpr_lead_status_date, lead.empty_date_style),
        "gdpr_lead_status_ip": lead.gdpr_lead_status_ip,
    }


def webhook_lead(
    account: FakeAccountData, lead: FakeLead, style: IdStyle, *, page_visit: bool = False
) -> dict[str, Any]:
    """The ``lead`` block of a webhook (001 doc), or of ``kartra_page_visit`` (000 doc)."""
    values = _profile(lead, style)
    # 001/000: "0 – if the user has agreed to be contacted, 1 – if not" (get_lead says 1 = agreed).
    values["gdpr_lead_communications"] = as_id(
        0 if lead.gdpr_agreed else 1, "int" if style == "mixed" else style
    )
    values["custom_fields"] = custom_fields_block(
        account, lead, "str" if style == "mixed" else style
    )
    keys = PAGE_VISIT_LEAD_KEYS if page_visit else WEBHOOK_LEAD_KEYS
    return {key: values[key] for key in keys}


# -- get_lead -------------------------------------------------------------------------------


def _transaction_row(
    account: FakeAccountData, lead: FakeLead, txn: FakeTransaction
) -> dict[str, Any]:
    product = account.products[txn.product_id]
    id_key, pp_key = (
        ("transaction_id", "product_price_point")
        if lead.transaction_style == "example"
        else ("id", "price_point")
    )
    return {
        id_key: str(txn.id),
        "product_name": product.name,
        pp_key: str(txn.price_point),
        "transaction_type": txn.type.capitalize(),
        "transaction_amount": f"{txn.amount:.2f}",
        "transaction_date": kartra_date(txn.date),
    }


def calendar_row(account: FakeAccountData, sub: FakeCalendarSubscription, style: IdStyle) -> dict:
    """A calendar subscription as 002's ``calendars`` entries show it."""
    calendar = account.calendars[sub.calendar_id]
    klass = next(c for c in calendar.classes if c.id == sub.class_id)
    row: dict[str, Any] = {
        "calendar_name": calendar.name,
        "calendar_id": as_id(calendar.id, style),
        "class_name": klass.name,
        "class_id": as_id(klass.id, style),
        "subscription_id": as_id(sub.id, style),
        "calendar_subscription_status": sub.status,
        "vendor_id": as_id(calendar.vendor_id, style),
        "vendor_timezone": calendar.vendor_timezone,
        "hosts": hosts_block(account, sub.calendar_id),
        "events": events_block(sub),
    }
    if sub.status in ("Active", "Pending"):
        row["ics_calendar_link"] = f"https://app.kartra.com/calendar/ics/{sub.id}"
    return row


def hosts_block(account: FakeAccountData, calendar_id: int) -> list[dict[str, str]]:
    """A calendar's hosts."""
    return [
        {
            "host_first_name": h.first_name,
            "host_last_name": h.last_name,
            "host_email_address": h.email,
        }
        for h in account.calendars[calendar_id].hosts
    ]


def events_block(sub: FakeCalendarSubscription) -> list[dict[str, Any]]:
    """Event dates (``YYYY-MM-DD HH:MM``, Eastern) and durations in minutes."""
    return [
        {"event_date": start.astimezone(KARTRA_TZ).strftime("%Y-%m-%d %H:%M"), "event_duration": m}
        for start, m in sub.events
    ]


def survey_block(
    account: FakeAccountData, result: FakeSurveyResult, style: IdStyle, *, with_date: bool
) -> dict[str, Any]:
    """A survey result as 002's ``surveys`` entries (``with_date``) or survey_complete shows it."""
    survey = account.surveys[result.survey_id]
    questions = []
    for question in survey.questions:
        chosen = result.answers.get(question.id, [])
        if survey.type == 1:
            correct = 0
        else:
            correct = 1 if sorted(chosen) == sorted(question.correct_option_ids) else 2
        names = {option.id: option.name for option in question.options}
        questions.append(
            {
                "question_id": as_id(question.id, style),
                "question_title": question.title,
                "question_correct": as_id(correct, style),
                "answers": [
                    {"option_id": as_id(oid, style), "option_value": names[oid]} for oid in chosen
                ],
            }
        )
    block: dict[str, Any] = {
        "survey_id": as_id(survey.id, style),
        "survey_name": survey.name,
        "survey_type": as_id(survey.type, style),
        "survey_score": "N/A" if result.score is None else as_id(result.score, style),
        "survey_completion_time": as_id(result.completion_time, style),
    }
    if with_date:
        block["survey_completion_date"] = kartra_date(result.completion_date)
    block["questions"] = questions
    return block


def lead_details(account: FakeAccountData, lead: FakeLead) -> dict[str, Any]:
    """``lead_details`` of a ``get_lead`` answer, keys in the order of 002's example."""
    p = _profile(lead, "str")
    details: dict[str, Any] = {
        key: p[key]
        for key in words(
            "id first_name middle_name last_name last_name2 company sales_tax_id email username "
            "date_joined phone_country_code phone ip address zip city state country lead_picture "
            "score source source_id ip_country website facebook twitter linkedin "
            "lead_preferred_time_zone notes referring_id blacklisted gdpr_lead_status "
            "gdpr_lead_status_date"
        )
    }
    details["gdpr_lead_communications"] = "1" if lead.gdpr_agreed else "0"
    details["gdpr_lead_status_ip"] = lead.gdpr_lead_status_ip
    details["tags"] = [{"tag_name": account.tags[t].name} for t in sorted(lead.tags)]
    details["lists"] = [
        {"list_name": account.lists[s.list_id].name, "active": "1" if s.active else "0"}
        for s in lead.lists.values()
    ]
    details["sequences"] = [
        {
            lead.sequence_key: account.sequences[s.sequence_id].name,
            "step": str(s.step),
            "status": s.status,
        }
        for s in lead.sequences.values()
    ]
    details["transactions"] = [_transaction_row(account, lead, t) for t in lead.transactions]
    details["memberships"] = [
        {
            "name": account.memberships[m.membership_id].name,
            "level_name": account.level(m.membership_id, m.level_id).name,
            "active": "1" if m.active else "0",
        }
        for m in lead.memberships.values()
    ]
    details["custom_fields"] = custom_fields_block(account, lead, "str")
    details["calendars"] = [calendar_row(account, c, "str") for c in lead.calendars]
    details["surveys"] = [survey_block(account, s, "str", with_date=True) for s in lead.surveys]
    return details


# -- transaction webhooks -------------------------------------------------------------------


def transaction_details(
    account: FakeAccountData,
    lead: FakeLead,
    txn: FakeTransaction,
    style: IdStyle,
    amounts: AmountStyle,
) -> dict[str, Any]:
    """``action_details.transaction_details`` for buy/refund/partial refund/cancel (001 doc)."""
    product = account.products[txn.product_id]
    price_point = account.price_point(txn.product_id, txn.price_point)
    sub = next((s for s in lead.subscriptions if s.id == txn.subscription_id), None)
    ids = "int" if style == "mixed" else style
    values: dict[str, Any] = {
        "transaction_id": as_id(txn.id, ids),
        "buyer_first_name": lead.first_name,
        "buyer_last_name": lead.last_name,
        "buyer_email": lead.email,
        "buyer_username": lead.username,
        "buyer_id": as_id(lead.id, ids),
        "product_name": product.name,
        "product_id": as_id(product.id, ids),
        "product_price_point": as_id(txn.price_point, ids),
        "transaction_full_amount": as_amount(txn.amount, amounts),
        "transaction_base_amount": as_amount(txn.base_amount, amounts),
        "transaction_discount": as_amount(txn.discount, amounts),
        "transaction_tax": as_amount(txn.tax, amounts),
        "transaction_shipping": as_amount(txn.shipping, amounts),
        "transaction_affiliate": txn.affiliate,
        "transaction_jv": "",
        "transaction_date": kartra_date(txn.date),
        "transaction_type": txn.type,
        "transaction_parent_id": as_id(txn.parent_id, ids),
        "transaction_subscription_id": as_id(txn.subscription_id, ids),
        "transaction_subscription_pay_number": as_id(txn.pay_number, ids),
        "original_id": as_id(txn.original_id or txn.id, ids),
        "buyer_billing_country": lead.country,
        "buyer_billing_state": lead.state,
        "buyer_billing_phone_country_code": lead.phone_country_code,
        "buyer_billing_phone_number": lead.phone,
        "buyer_billing_address": lead.address,
        "buyer_billing_city": lead.city,
        "buyer_billing_zip": lead.zip,
        "vendor_tracking_id_1": "",
        "vendor_tracking_id_2": "",
        "vendor_tracking_link": "",
        "trial_payment": as_id(1 if price_point.trial_days else 0, ids),
        "trial_period": as_id(price_point.trial_days, ids),
        "rebill_circle": as_id(30 if price_point.recurring else 0, ids),
        "payments_left": as_id(sub.payments_left if sub else 0, ids),
        "shipping_first_name": lead.first_name,
        "shipping_last_name": lead.last_name,
        "shipping_address": lead.address,
        "shipping_city": lead.city,
        "shipping_zip": lead.zip,
        "shipping_country": lead.country,
        "shipping_state": lead.state,
        "payment_processor_type": txn.processor,
    }
    return {key: values[key] for key in TRANSACTION_KEYS[txn.type]}


# -- catalogue answers ----------------------------------------------------------------------


def catalogue_custom_fields(account: FakeAccountData) -> list[dict[str, Any]]:
    """``retrieve_custom_fields``: ids as strings, options for choice types only."""
    fields = []
    for cf in account.custom_fields.values():
        item: dict[str, Any] = {
            "field_id": str(cf.id),
            "field_identifier": cf.identifier,
            "field_type": cf.type,
        }
        if cf.type not in TEXT_FIELD_TYPES:
            item["field_value"] = [
                {"option_id": str(o.id), "option_value": o.name} for o in cf.options
            ]
        fields.append(item)
    return fields


def catalogue_pages(account: FakeAccountData, shape: Literal["dicts", "names"]) -> list[Any]:
    """``retrieve_account_pages``: undocumented shape, so the fake can answer either way."""
    if shape == "names":
        return [page.name for page in account.pages.values()]
    return [{"page_id": str(page.id), "page_name": page.name} for page in account.pages.values()]
