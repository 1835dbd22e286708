"""Transactions: webhook ``transaction_details`` and ``get_lead``'s ``transactions``.

Webhooks (``kartra-docs/001_e756867310665d73.txt``, buy_product / refund_product /
partial_refund_product / cancel_subscription) send ``transaction_full_amount`` and friends,
lowercase types (``"sale"``). ``get_lead`` (``002``) sends ``transaction_amount`` and
capitalised types (``"Sale"``, ``"Partial_refund"``), and names its keys
``transaction_id``/``product_price_point`` in the example but ``id``/``price_point`` in
the table: both are accepted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import PayloadError
from .records import ProductRef, TransactionRecord
from .values import (
    INT,
    child,
    first_key,
    is_empty,
    json_storable,
    open_choice,
    require_dict,
    to_bool,
    to_datetime,
    to_decimal,
    to_id,
    to_int,
    to_ref_id,
    to_text,
)

PRODUCT_NAME_MAX = 255  # Product.name / official_name

#: ``Transaction.transaction_type`` values; Kartra's spellings compare case-insensitively and
#: a type outside these is kept as sent.
TRANSACTION_TYPES = {
    name: name
    for name in (
        "sale",
        "refund",
        "partial_refund",
        "cancellation",
        "rebill",
        "chargeback",
        "failed",
    )
}

#: Kartra key -> (``Transaction`` field, max_length). ``tests/leads/normalize/test_models_sync.py``
#: checks the lengths against the model.
TEXT_FIELDS: dict[str, tuple[str, int]] = {
    "buyer_first_name": ("buyer_first_name", 255),
    "buyer_last_name": ("buyer_last_name", 255),
    "buyer_email": ("buyer_email", 254),
    "buyer_username": ("buyer_username", 255),
    "buyer_billing_country": ("buyer_billing_country", 255),
    "buyer_billing_state": ("buyer_billing_state", 255),
    "buyer_billing_phone_country_code": ("buyer_billing_phone_country_code", 32),
    "buyer_billing_phone_number": ("buyer_billing_phone_number", 64),
    "buyer_billing_address": ("buyer_billing_address", 512),
    "buyer_billing_city": ("buyer_billing_city", 255),
    "buyer_billing_zip": ("buyer_billing_zip", 64),
    "shipping_first_name": ("shipping_first_name", 255),
    "shipping_last_name": ("shipping_last_name", 255),
    "shipping_address": ("shipping_address", 512),
    "shipping_city": ("shipping_city", 255),
    "shipping_zip": ("shipping_zip", 64),
    "shipping_country": ("shipping_country", 255),
    "shipping_state": ("shipping_state", 255),
    "transaction_affiliate": ("affiliate", 255),
    "transaction_jv": ("jv", 255),
    "vendor_tracking_id_1": ("vendor_tracking_id_1", 255),
    "vendor_tracking_id_2": ("vendor_tracking_id_2", 255),
    "vendor_tracking_link": ("vendor_tracking_link", 512),
    "payment_processor_type": ("payment_processor_type", 64),
}

AMOUNT_FIELDS = {
    "transaction_amount": "amount",  # get_lead: "the amount charged for the transaction"
    "transaction_full_amount": "full_amount",  # webhooks from here on
    "transaction_base_amount": "base_amount",
    "transaction_discount": "discount",
    "transaction_tax": "tax",
    "transaction_shipping": "shipping",
}

PRICE_POINT_MAX = 64
TRANSACTION_TYPE_MAX = 64  # Transaction.transaction_type


def _counter(value: Any, field: str) -> int | None:
    """trial_period, rebill_circle, payments_left: an integer, or ``None`` for a wording
    such as ``"Until cancelled"`` (``kartra-facts.md``: "some numeric fields hold text");
    the wording stays in ``raw``."""
    if isinstance(value, str) and not any("0" <= char <= "9" for char in value):
        return None
    return to_int(value, field, bits=INT)


def _pay_number(value: Any, field: str) -> int | None:
    return to_int(value, field, bits=INT)


#: Kartra key -> (``Transaction`` field, converter) for the non-text, non-amount keys.
_CONVERTED: dict[str, tuple[str, Callable[[Any, str], Any]]] = {
    "transaction_date": ("transaction_date", to_datetime),
    "transaction_parent_id": ("parent_kartra_id", to_ref_id),
    "original_id": ("original_kartra_id", to_ref_id),
    "transaction_subscription_pay_number": ("subscription_pay_number", _pay_number),
    "trial_payment": ("trial_payment", to_bool),
    "trial_period": ("trial_period", _counter),
    "rebill_circle": ("rebill_circle", _counter),
    "payments_left": ("payments_left", _counter),
}


def parse_product(obj: dict, path: str) -> ProductRef | None:
    """``product_id``/``product_name``/``official_product_name`` of ``obj``; ``None`` when
    neither id nor name is given. ``official_name`` is ``None`` when its key is absent."""
    kartra_id = to_ref_id(obj.get("product_id"), child(path, "product_id"))
    name = to_text(obj.get("product_name"), child(path, "product_name"), PRODUCT_NAME_MAX)
    official: str | None = None
    if "official_product_name" in obj:
        official = to_text(
            obj["official_product_name"], child(path, "official_product_name"), PRODUCT_NAME_MAX
        )
    if kartra_id is None and not name and not official:
        return None
    return ProductRef(kartra_id=kartra_id, name=name, official_name=official)


def parse_transaction_type(value: Any, field: str) -> str:
    """``"Sale"``, ``"sale"``, ``"Partial_refund"`` ... -> ``Transaction`` type values; an
    unknown type as sent."""
    return open_choice(value, field, TRANSACTION_TYPES, TRANSACTION_TYPE_MAX)


def parse_transaction(obj: Any, path: str, *, default_type: str | None = None) -> TransactionRecord:
    """One transaction object (webhook or ``get_lead``).

    ``default_type`` stands in for a missing or empty ``transaction_type`` (a webhook's
    action says what happened); without one, the type is required.
    """
    obj = require_dict(obj, path)
    id_key, id_value = first_key(obj, "transaction_id", "id")
    kartra_id = to_id(id_value, child(path, id_key or "transaction_id"))

    fields: dict[str, Any] = {}
    type_value = obj.get("transaction_type")
    if not is_empty(type_value):
        fields["transaction_type"] = parse_transaction_type(
            type_value, child(path, "transaction_type")
        )
    elif default_type is not None:
        fields["transaction_type"] = default_type
    else:
        raise PayloadError(child(path, "transaction_type"), type_value, "value required")

    pp_key, pp_value = first_key(obj, "product_price_point", "price_point")
    if pp_key is not None:
        fields["price_point"] = to_text(pp_value, child(path, pp_key), PRICE_POINT_MAX)

    for key, value in obj.items():
        if key in TEXT_FIELDS:
            name, max_length = TEXT_FIELDS[key]
            fields[name] = to_text(value, child(path, key), max_length)
        elif key in AMOUNT_FIELDS:
            fields[AMOUNT_FIELDS[key]] = to_decimal(value, child(path, key))
        elif key in _CONVERTED:
            name, convert = _CONVERTED[key]
            fields[name] = convert(value, child(path, key))

    if "full_amount" in fields and "amount" not in fields:
        # A webhook's full amount is "the final paid amount on this specific transaction"
        # (001), what get_lead calls transaction_amount (002): both fill ``amount``, which
        # the API, filters and snapshots read.
        fields["amount"] = fields["full_amount"]

    subscription = to_ref_id(
        obj.get("transaction_subscription_id"), child(path, "transaction_subscription_id")
    )
    return TransactionRecord(
        kartra_id=kartra_id,
        product=parse_product(obj, path),
        subscription_kartra_id=subscription,
        fields=fields,
        raw=json_storable(obj),
    )
