"""IPN bodies as Kartra posts them (``kartra-facts.md``, "IPN"; the variables of Kartra's
help centre pages): form-encoded flat fields, ``N/A`` for empty values. Written out here,
independent of the fake's renderer."""

from urllib.parse import urlencode


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
