"""The fake's IPN: the form-encoded payment callback Kartra posts per product
(``kartra-facts.md``, "IPN"; variables as Kartra's help centre lists them).

An account with an ``ipn_outbox`` (a list) queues one IPN body for each transaction it
records: sales and refunds (beside their webhooks) and rebills and failed rebills, which
only the IPN reports. Cancellations have no IPN type. :meth:`IpnMixin.take_ipns` hands the
queued bodies over, for :func:`post_ipn` to send.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import httpx

from .data import FakeAccountData
from .model import FakeLead, FakeTransaction, words
from .render import kartra_date

#: The IPN's variables, in the order Kartra's help centre lists them.
IPN_KEYS = words(
    "transaction_id transaction_full_amount transaction_base_amount transaction_discount "
    "transaction_shipping transaction_tax transaction_date transaction_type "
    "transaction_parent_id transaction_affiliate transaction_jv transaction_subscription_id "
    "transaction_internal_subscription_id transaction_subscription_pay_number "
    "transaction_last_4_card_digits original_id transaction_quantity product_name product_id "
    "product_price_point trial trial_amount trial_period payments_left lead_id "
    "lead_first_name lead_last_name lead_email lead_username lead_phone_country_code "
    "lead_phone_number lead_address lead_city lead_zip lead_state lead_country"
)
#: Transaction types an IPN reports (a cancellation has none).
IPN_TYPES = frozenset({"sale", "refund", "partial_refund", "rebill", "failed", "chargeback"})
EMPTY = "N/A"
FORM = "application/x-www-form-urlencoded"


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def ipn_fields(account: FakeAccountData, lead: FakeLead, txn: FakeTransaction) -> dict[str, str]:
    """The IPN's variables for ``txn`` of ``lead``, as text, ``N/A`` where empty."""
    product = account.products[txn.product_id]
    pp = account.price_point(txn.product_id, txn.price_point)
    sub = next((s for s in lead.subscriptions if s.id == txn.subscription_id), None)
    paypal = txn.processor == "PayPal"
    values: dict[str, Any] = {
        "transaction_id": txn.id,
        "transaction_full_amount": _money(txn.amount),
        "transaction_base_amount": _money(txn.base_amount),
        "transaction_discount": _money(txn.discount),
        "transaction_shipping": _money(txn.shipping),
        "transaction_tax": _money(txn.tax),
        "transaction_date": kartra_date(txn.date),
        "transaction_type": txn.type,
        "transaction_parent_id": txn.parent_id,
        "transaction_affiliate": txn.affiliate,
        "transaction_jv": "",
        # PayPal orders carry PayPal's own subscription id here; Kartra's is the internal one.
        "transaction_subscription_id": (
            f"I-{txn.subscription_id:08d}PP" if paypal else txn.subscription_id
        )
        if txn.subscription_id
        else "",
        "transaction_internal_subscription_id": txn.subscription_id or "",
        "transaction_subscription_pay_number": txn.pay_number if txn.subscription_id else "",
        "transaction_last_4_card_digits": "" if paypal else f"{txn.id % 10000:04d}",
        "original_id": txn.original_id or txn.id,
        "transaction_quantity": 1,
        "product_name": product.name,
        "product_id": product.id,
        "product_price_point": txn.price_point,
        "trial": 1 if pp.trial_days else 0,
        "trial_amount": "",
        "trial_period": pp.trial_days or "",
        "payments_left": sub.payments_left if sub else 0,
        "lead_id": lead.id,
        "lead_first_name": lead.first_name,
        "lead_last_name": lead.last_name,
        "lead_email": lead.email,
        "lead_username": lead.username,
        "lead_phone_country_code": lead.phone_country_code,
        "lead_phone_number": lead.phone,
        "lead_address": lead.address,
        "lead_city": lead.city,
        "lead_zip": lead.zip,
        "lead_state": lead.state,
        "lead_country": lead.country,
    }
    return {key: str(values[key]) if values[key] != "" else EMPTY for key in IPN_KEYS}


def ipn_body(account: FakeAccountData, lead: FakeLead, txn: FakeTransaction) -> str:
    """The IPN's form-encoded body for ``txn``."""
    return urlencode(ipn_fields(account, lead, txn))


def post_ipn(url: str, body: str | bytes, *, client: Any = None) -> Any:
    """POST an IPN body form-encoded, as Kartra does. ``client`` as for ``post_webhook``:
    an ``httpx.Client``, None (a one-off request) or a Django test ``Client`` (``url`` is
    then a path)."""
    raw = body.encode() if isinstance(body, str) else body
    if client is None:
        return httpx.post(url, content=raw, headers={"Content-Type": FORM}, timeout=10)
    if isinstance(client, httpx.Client):
        return client.post(url, content=raw, headers={"Content-Type": FORM})
    return client.post(url, data=raw, content_type=FORM)


def queue_ipn(account: FakeAccountData, lead: FakeLead, txn: FakeTransaction) -> None:
    """Queue the IPN of ``txn`` when the account sends IPNs and its type has one."""
    if account.ipn_outbox is not None and txn.type in IPN_TYPES:
        account.ipn_outbox.append(ipn_body(account, lead, txn))


class IpnMixin(FakeAccountData):
    """The IPN queue, and the payments only the IPN reports: rebills and failed rebills."""

    def take_ipns(self) -> list[str]:
        """The IPN bodies queued since the last call, oldest first."""
        with self.lock:
            if self.ipn_outbox is None:
                return []
            bodies = self.ipn_outbox[:]
            self.ipn_outbox.clear()
            return bodies

    def rebill(self, lead_id: int, subscription_id: int, *, failed: bool = False):
        """The next payment of an active subscription: collected (``rebill``, one payment
        fewer left) or refused by the card (``failed``). No webhook; returns the
        transaction."""
        with self.lock:
            lead = self.lead(lead_id)
            sub = next(s for s in lead.subscriptions if s.id == subscription_id)
            pp = self.price_point(sub.product_id, sub.price_point)
            first = next(t for t in lead.transactions if t.id == sub.original_transaction_id)
            paid = 1 + sum(
                1 for t in lead.transactions if t.subscription_id == sub.id and t.type == "rebill"
            )
            if not failed and sub.payments_left != 9999:
                sub.payments_left = max(sub.payments_left - 1, 0)
            txn = FakeTransaction(
                self.new_id("transaction", 50001),
                "failed" if failed else "rebill",
                sub.product_id,
                sub.price_point,
                pp.amount,
                self.now,
                subscription_id=sub.id,
                pay_number=paid + 1,
                original_id=sub.original_transaction_id,
                base_amount=pp.amount,
                processor=first.processor,
            )
            lead.transactions.append(txn)
            queue_ipn(self, lead, txn)
            return txn
