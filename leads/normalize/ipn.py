"""The IPN: Kartra's per-product payment callback (``kartra-facts.md``, "IPN").

Unlike the outbound API it posts **form-encoded flat fields**, with ``N/A`` for an empty
value, and it is the only source of rebills and failed payments. Its transaction keys are
the webhook's ``transaction_details`` keys (``001``), so they go through
:func:`~.transaction.parse_transaction`; what only the IPN sends is parsed here. Kartra's
help centre pages on the IPN add ``transaction_internal_subscription_id`` (the numeric id;
``transaction_subscription_id`` is PayPal's own id for PayPal orders), ``transaction_quantity``,
``transaction_last_4_card_digits``, ``trial``/``trial_amount``, ``chargeback`` as a type, and
name the buyer ``lead_*`` (older pages: ``buyer_*``, as webhooks do; both are read).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl

from . import profile
from .errors import PayloadError
from .records import IpnEvent, ProfileRecord
from .transaction import TEXT_FIELDS, parse_transaction, parse_transaction_type
from .values import (
    INT,
    first_key,
    is_empty,
    json_storable,
    to_bool,
    to_decimal,
    to_id,
    to_int,
    to_ref_id,
    to_text,
)

#: The types an IPN reports; any other is refused whole, never half-applied.
IPN_TYPES = ("sale", "refund", "partial_refund", "rebill", "failed", "chargeback")

#: IPN actions as the delivery archive records them.
IPN_ACTIONS: frozenset[str] = frozenset(f"ipn_{kind}" for kind in IPN_TYPES)

#: The IPN's buyer key -> the ``Transaction`` field it fills (the webhook's ``buyer_*``).
BUYER_FIELDS = {
    "lead_first_name": "buyer_first_name",
    "lead_last_name": "buyer_last_name",
    "lead_email": "buyer_email",
    "lead_username": "buyer_username",
    "lead_phone_country_code": "buyer_billing_phone_country_code",
    "lead_phone_number": "buyer_billing_phone_number",
    "lead_address": "buyer_billing_address",
    "lead_city": "buyer_billing_city",
    "lead_zip": "buyer_billing_zip",
    "lead_state": "buyer_billing_state",
    "lead_country": "buyer_billing_country",
}

CARD_DIGITS_MAX = 16  # Transaction.card_last_digits

#: Keys this module reads itself; the rest go to ``parse_transaction``.
_OWN_KEYS = frozenset(
    {
        *BUYER_FIELDS,
        "transaction_type",
        "transaction_subscription_id",
        "transaction_internal_subscription_id",
        "lead_id",
        "buyer_id",
    }
)


def _quantity(value: Any, field: str) -> int | None:
    number = to_int(value, field, bits=INT)
    if number is not None and number < 0:
        raise PayloadError(field, value, "expected a number of units")
    return number


def _card_digits(value: Any, field: str) -> str:
    return to_text(value, field, CARD_DIGITS_MAX)


#: IPN-only key -> (``Transaction`` field, converter).
_EXTRA: dict[str, tuple[str, Callable[[Any, str], Any]]] = {
    "transaction_quantity": ("quantity", _quantity),
    "trial_amount": ("trial_amount", to_decimal),
    "transaction_last_4_card_digits": ("card_last_digits", _card_digits),
    "trial": ("trial_payment", to_bool),
}


def decode_form(data: bytes | str | Mapping[str, str]) -> dict[str, str]:
    """The IPN's fields from its raw body: ``application/x-www-form-urlencoded`` UTF-8; a
    key sent twice keeps its last value (as PHP reads it). A body that is empty, JSON (the
    webhook's shape, posted to the IPN URL) or not form-encoded is a :class:`PayloadError`."""
    if isinstance(data, Mapping):
        return dict(data)
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise PayloadError("body", data, "not UTF-8 text") from None
    else:
        text = data
    text = text.strip()
    if not text:
        raise PayloadError("body", data, "empty; expected the IPN's form-encoded fields")
    if text[0] in "{[":
        reason = "JSON, not the IPN's form-encoded fields (the webhook URL takes JSON)"
        raise PayloadError("body", text, reason)
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True, errors="strict")
    except ValueError:  # a field without "=", or escapes that are not UTF-8
        raise PayloadError("body", text, "not form-encoded fields") from None
    return dict(pairs)


def parse_ipn(data: bytes | str | Mapping[str, str]) -> IpnEvent:
    """Parse one IPN body into an :class:`IpnEvent`.

    ``transaction_id``, a documented ``transaction_type`` and the buyer's ``lead_id`` (or
    ``buyer_id``) are required; every other field may be absent or ``N/A``. Any bad value
    is a :class:`PayloadError` naming its field, so an IPN applies whole or not at all.
    """
    fields = decode_form(data)
    to_id(fields.get("transaction_id"), "transaction_id")  # named first: it is the key
    kind = _ipn_type(fields.get("transaction_type"))
    lead = _buyer(fields)
    record = parse_transaction(
        {k: v for k, v in fields.items() if k not in _OWN_KEYS}, "", default_type=kind
    )
    extra: dict[str, Any] = {}
    for key, (name, convert) in _EXTRA.items():
        if key in fields and name not in record.fields:  # trial_payment, if sent, wins
            extra[name] = convert(fields[key], key)
    for key, name in BUYER_FIELDS.items():
        if key in fields:
            extra[name] = to_text(fields[key], key, TEXT_FIELDS[name][1])
    record = replace(
        record,
        fields=_with_parent({**record.fields, **extra}, kind, record.kartra_id),
        subscription_kartra_id=_subscription(fields),
        raw=json_storable(fields),
    )
    return IpnEvent(action=f"ipn_{kind}", lead=lead, detail=record, raw_details=record.raw)


def _ipn_type(value: Any) -> str:
    if is_empty(value):
        raise PayloadError("transaction_type", value, "value required")
    kind = parse_transaction_type(value, "transaction_type")
    if kind not in IPN_TYPES:
        raise PayloadError(
            "transaction_type", value, f"not an IPN transaction type ({', '.join(IPN_TYPES)})"
        )
    return kind


def _buyer(fields: dict[str, str]) -> ProfileRecord:
    """The buyer as a lead: its Kartra id, and its email to claim a pending import."""
    key, value = first_key(fields, "lead_id", "buyer_id")
    kartra_id = to_id(value, key or "lead_id")
    email_key, email = first_key(fields, "lead_email", "buyer_email")
    email = to_text(email, email_key or "lead_email", profile.TEXT_FIELDS["email"])
    return ProfileRecord(
        kartra_id=kartra_id, fields={"email": email} if email else {}, custom_values=None, raw={}
    )


def _subscription(fields: dict[str, str]) -> int | None:
    """Kartra's numeric subscription id: ``transaction_internal_subscription_id`` when sent,
    else ``transaction_subscription_id`` (kept in ``raw`` either way)."""
    internal = fields.get("transaction_internal_subscription_id")
    if not is_empty(internal):
        return to_ref_id(internal, "transaction_internal_subscription_id")
    return to_ref_id(fields.get("transaction_subscription_id"), "transaction_subscription_id")


def _with_parent(fields: dict[str, Any], kind: str, kartra_id: int) -> dict[str, Any]:
    """A rebill or failed payment names no parent (Kartra sends ``transaction_parent_id``
    ``0``); its parent is the subscription's first payment, ``original_id``."""
    original = fields.get("original_kartra_id")
    if (
        kind in ("rebill", "failed")
        and fields.get("parent_kartra_id") is None
        and original is not None
        and original != kartra_id
    ):
        return {**fields, "parent_kartra_id": original}
    return fields
