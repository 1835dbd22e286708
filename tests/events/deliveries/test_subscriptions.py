"""Subscriptions through the delivery pipeline: IPN rebills and failures linked to their
subscription, the facts they tell, and the status derived from them (``leads.revenue``),
the same whichever order the webhooks and IPNs arrive in."""

import itertools
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

import pytest

from events.models import DeliveryKind
from events.services import delivery_process, delivery_store
from leads.models import ProductSignup, Subscription, SubscriptionStatus, Transaction
from leads.revenue import FACT_FIELDS
from leads.selectors import subscription_totals, subscriptions_with_status
from tests.payloads import body, ipn_fields, lead_block, rebill_fields, transaction_details

pytestmark = pytest.mark.django_db

SUB = 7001
SALE = 5001
# 2024-01-15 10:00 in New York (Kartra's wall time) is 15:00 UTC.
SOLD_AT = datetime(2024, 1, 15, 15, 0, tzinfo=UTC)
LATER = datetime(2025, 1, 1, tzinfo=UTC)


def _form(fields: dict) -> bytes:
    return urlencode(fields).encode()


def sale_ipn(**extra) -> bytes:
    return _form(
        ipn_fields(
            SALE,
            transaction_full_amount="29.00",
            transaction_base_amount="29.00",
            transaction_subscription_id=str(SUB),
            transaction_internal_subscription_id=str(SUB),
            transaction_subscription_pay_number="1",
            original_id=str(SALE),
            payments_left="2",
            **extra,
        )
    )


def rebill_ipn(txn: int, pay_number: int, date: str, *, left: str, kind: str = "rebill") -> bytes:
    fields = rebill_fields(
        txn,
        subscription=SUB,
        original=SALE,
        pay_number=pay_number,
        transaction_date=date,
    )
    fields.update(transaction_type=kind, payments_left=left)
    return _form(fields)


def cancel_webhook(txn: int = 5099, date: str = "2024-03-20 09:00:00") -> bytes:
    details = transaction_details(
        txn,
        kind="cancellation",
        transaction_subscription_id=str(SUB),
        original_id=str(SALE),
        transaction_date=date,
        transaction_full_amount="0.00",
    )
    return json.dumps(
        {
            "lead": lead_block(1),
            "action": "cancel_subscription",
            "action_details": {"transaction_details": details},
        }
    ).encode()


def apply(*bodies: bytes) -> None:
    """Store and process each body in the order given (JSON: a webhook; else an IPN)."""
    for raw in bodies:
        kind = DeliveryKind.WEBHOOK if raw.startswith(b"{") else DeliveryKind.IPN
        delivery = delivery_process(delivery_id=delivery_store(body=raw, kind=kind).pk)
        assert delivery.status == "processed", delivery.error


def status(now: datetime = LATER) -> tuple[str, int | None]:
    row = subscriptions_with_status(now=now).get(kartra_id=SUB)
    return row.status, row.status_set_by


REBILL = rebill_ipn(5002, 2, "2024-02-15 10:00:00", left="1")
FAILED = rebill_ipn(5003, 3, "2024-03-15 10:00:00", left="1", kind="failed")
RETRIED = rebill_ipn(5004, 3, "2024-03-18 10:00:00", left="0")


def test_ipn_rebills_are_linked_to_their_subscription_and_first_payment():
    apply(sale_ipn(), REBILL)
    sub = Subscription.objects.get()
    rebill = Transaction.objects.get(kartra_id=5002)
    assert rebill.subscription == sub and rebill.parent.kartra_id == SALE
    assert sub.lead.kartra_id == 1 and sub.product.kartra_id == 77 and sub.price_point == "2"
    assert (sub.first_sale_kartra_id, sub.first_sale_at) == (SALE, SOLD_AT)
    assert (sub.last_payment_kartra_id, sub.payments_made, sub.payments_left) == (5002, 2, 1)
    assert list(sub.transactions.order_by("kartra_id").values_list("kartra_id", flat=True)) == [
        SALE,
        5002,
    ]


def test_a_rebill_before_its_sale_links_and_the_sale_fills_in_later():
    apply(REBILL)
    sub = Subscription.objects.get()
    assert (sub.first_sale_kartra_id, sub.last_payment_kartra_id) == (None, 5002)
    apply(sale_ipn())
    sub.refresh_from_db()
    assert (sub.first_sale_kartra_id, sub.payments_made) == (SALE, 2)
    assert Transaction.objects.get(kartra_id=5002).parent.kartra_id == SALE


# (deliveries, status, transaction that set it): every status and each transition.
TABLE = [
    ((sale_ipn(),), SubscriptionStatus.ACTIVE, SALE),
    ((sale_ipn(), REBILL), SubscriptionStatus.ACTIVE, 5002),
    ((sale_ipn(), REBILL, FAILED), SubscriptionStatus.FAILED_PAYMENT, 5003),
    ((FAILED,), SubscriptionStatus.FAILED_PAYMENT, 5003),
    ((sale_ipn(), REBILL, FAILED, RETRIED), SubscriptionStatus.COMPLETED, 5004),
    ((sale_ipn(), cancel_webhook()), SubscriptionStatus.CANCELLED, 5099),
    ((sale_ipn(), REBILL, FAILED, cancel_webhook()), SubscriptionStatus.CANCELLED, 5099),
    ((sale_ipn(trial="1", trial_period="14"),), SubscriptionStatus.TRIAL, SALE),
]


@pytest.mark.parametrize(("deliveries", "expected", "set_by"), TABLE)
def test_the_status_follows_from_what_was_observed(deliveries, expected, set_by):
    apply(*deliveries)
    now = SOLD_AT + timedelta(days=3) if expected == SubscriptionStatus.TRIAL else LATER
    assert status(now) == (expected, set_by)


def test_a_trial_ends_on_its_own():
    apply(sale_ipn(trial="1", trial_period="14"))
    sub = Subscription.objects.get()
    assert sub.trial_ends_at == SOLD_AT + timedelta(days=14)
    assert status(SOLD_AT + timedelta(days=13))[0] == SubscriptionStatus.TRIAL
    assert status(SOLD_AT + timedelta(days=15)) == (SubscriptionStatus.ACTIVE, SALE)


@pytest.mark.parametrize(
    "order", list(itertools.permutations(range(4))), ids=lambda o: "".join(map(str, o))
)
def test_every_arrival_order_gives_the_same_facts_and_status(order):
    deliveries = [sale_ipn(), REBILL, FAILED, cancel_webhook()]
    apply(*[deliveries[i] for i in order])
    sub = Subscription.objects.get()
    facts = {name: getattr(sub, name) for name in FACT_FIELDS}
    assert facts["payments_made"] == 2 and facts["failed_payments"] == 1
    assert facts["first_sale_kartra_id"] == SALE and facts["last_failure_kartra_id"] == 5003
    assert facts["cancelled"] and facts["cancellation_kartra_id"] == 5099
    assert facts["payments_left"] == 1  # the newest transaction that says: the failure
    assert status() == (SubscriptionStatus.CANCELLED, 5099)


def test_failed_then_collected_in_either_order_is_active():
    later_rebill = rebill_ipn(5005, 3, "2024-03-25 10:00:00", left="1")
    apply(sale_ipn(), later_rebill, FAILED)  # the failure processed last, dated earlier
    assert status() == (SubscriptionStatus.ACTIVE, 5005)


def test_odd_values_are_stored_as_sent_and_do_not_drop_the_delivery():
    odd = rebill_ipn(5002, 2, "2024-02-15 10:00:00", left="Until cancelled")
    apply(sale_ipn(), odd)
    sub = Subscription.objects.get()
    assert sub.payments_left == 2  # the wording is no number: the sale's count stands
    assert Transaction.objects.get(kartra_id=5002).raw["payments_left"] == "Until cancelled"
    weird = transaction_details(
        5010, kind="voided", transaction_subscription_id=str(SUB), original_id=str(SALE)
    )
    apply(
        json.dumps(
            {"lead": lead_block(1), "action": "buy_product",
             "action_details": {"transaction_details": weird}}
        ).encode()
    )  # fmt: skip
    assert Transaction.objects.get(kartra_id=5010).transaction_type == "voided"
    assert status()[0] == SubscriptionStatus.ACTIVE


def test_mrr_counts_active_subscriptions_by_the_month():
    apply(sale_ipn(), REBILL)
    sub = Subscription.objects.get()
    # No rebill_circle in an IPN: the period is the gap between the two payments (31 days),
    # a month.
    assert (sub.recurring_amount, sub.billing_days, sub.monthly_amount) == (
        Decimal("29.00"),
        31,
        Decimal("29.00"),
    )
    totals = subscription_totals(now=LATER)
    assert totals["mrr"] == Decimal("29.00") and totals["active"] == 1
    apply(FAILED)
    totals = subscription_totals(now=LATER)
    assert (totals["mrr"], totals["active"], totals["failed_payment"]) == (Decimal("0"), 0, 1)


def test_a_snapshot_of_the_same_transactions_keeps_the_facts():
    """get_lead's short form names no subscription: it neither unlinks nor changes one."""
    from leads.normalize import parse_lead_details
    from leads.services.snapshot import lead_apply_snapshot

    apply(sale_ipn(), REBILL)
    before = {name: getattr(Subscription.objects.get(), name) for name in FACT_FIELDS}
    answer = {
        "status": "Success",
        "lead_details": {
            "id": "1",
            "email": "lead1@example.com",
            "transactions": [
                {"transaction_id": str(SALE), "product_name": "Course", "price_point": "2",
                 "transaction_type": "Sale", "transaction_amount": "29.00",
                 "transaction_date": "2024-01-15 10:00:00"},
                {"transaction_id": "5002", "product_name": "Course", "price_point": "2",
                 "transaction_type": "Rebill", "transaction_amount": "29.00",
                 "transaction_date": "2024-02-15 10:00:00"},
            ],
        },
    }  # fmt: skip
    lead_apply_snapshot(snapshot=parse_lead_details(answer), requested_at=LATER, sync_run_id=None)
    after = {name: getattr(Subscription.objects.get(), name) for name in FACT_FIELDS}
    assert after == before
    assert Transaction.objects.filter(subscription__isnull=False).count() == 2


def test_affiliate_and_jv_signups_are_lead_state_dated_by_the_first_delivery():
    apply(body("affiliate_signup"), body("jv_signup"), body("affiliate_signup"))
    signups = {s.kind: s for s in ProductSignup.objects.select_related("product", "lead")}
    assert set(signups) == {"affiliate", "jv"}
    first = signups["affiliate"]
    assert first.lead.kartra_id == 1 and first.product.kartra_id is not None
    assert first.signed_up_at < signups["jv"].signed_up_at
    assert ProductSignup.objects.count() == 2  # the second affiliate sign-up is the same one
