"""Subscriptions' facts, billing period and monthly amount (``leads.revenue``): pure code."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from leads.revenue import (
    DEFAULT_BILLING_DAYS,
    FACT_SOURCES,
    billing_days,
    monthly_amount,
    subscription_facts,
)

T0 = datetime(2024, 1, 15, 15, 0, tzinfo=UTC)


def txn(kartra_id: int, kind: str, days: float = 0, **fields) -> dict:
    row = dict.fromkeys(FACT_SOURCES)
    row.update(
        subscription_id=1,
        kartra_id=kartra_id,
        transaction_type=kind,
        transaction_date=T0 + timedelta(days=days),
        observed_at=T0,
        amount=Decimal("29.00"),
        price_point="",
    )
    row.update(fields)
    return row


@pytest.mark.parametrize(
    ("days", "amount", "monthly"),
    [
        (30, "29.00", "29.00"),
        (31, "29.00", "29.00"),
        (28, "29.00", "29.00"),
        (7, "10.00", "43.48"),  # 30.44 / 7 payments a month
        (14, "10.00", "21.74"),
        (90, "90.00", "30.00"),  # a quarter
        (365, "120.00", "10.00"),  # a year
        (45, "45.00", "30.44"),  # no whole number of months: in proportion
    ],
)
def test_monthly_amount(days, amount, monthly):
    assert monthly_amount(Decimal(amount), days) == Decimal(monthly)


def test_monthly_amount_of_nothing_is_none():
    assert monthly_amount(None, 30) is None and monthly_amount(Decimal("1"), None) is None


def test_billing_days_rebill_circle_then_gaps_then_a_month():
    assert billing_days([txn(1, "sale", rebill_circle=7)]) == 7
    # A trial's first payment says the days until the trial ends, not the period.
    trial = txn(1, "sale", trial_payment=True, rebill_circle=14)
    assert billing_days([trial]) == DEFAULT_BILLING_DAYS
    gaps = [txn(1, "sale"), txn(2, "rebill", 14), txn(3, "rebill", 28), txn(4, "rebill", 90)]
    assert billing_days(gaps) == 14  # the median gap
    assert billing_days([txn(1, "sale")]) == DEFAULT_BILLING_DAYS


def test_facts_in_any_order():
    rows = [
        txn(10, "sale", 0, payments_left=3, price_point="2", rebill_circle=30),
        txn(11, "rebill", 30, payments_left=2, subscription_pay_number=2),
        txn(12, "failed", 60, payments_left=2),
        txn(13, "refund", 65, amount=Decimal("-29.00")),
        txn(14, "cancellation", 70, amount=Decimal("0")),
    ]
    facts = subscription_facts(rows)
    assert facts == subscription_facts(list(reversed(rows)))
    assert facts["first_sale_kartra_id"] == 10 and facts["first_sale_at"] == T0
    assert (facts["payments_made"], facts["payments_left"], facts["price_point"]) == (2, 2, "2")
    assert (facts["last_payment_kartra_id"], facts["last_failure_kartra_id"]) == (11, 12)
    assert (facts["failed_payments"], facts["cancelled"], facts["cancellation_kartra_id"]) == (
        1,
        True,
        14,
    )
    assert facts["cancelled_at"] == T0 + timedelta(days=70)
    assert (facts["recurring_amount"], facts["billing_days"], facts["monthly_amount"]) == (
        Decimal("29.00"),
        30,
        Decimal("29.00"),
    )


def test_a_pay_number_counts_payments_the_mirror_did_not_see():
    facts = subscription_facts([txn(20, "rebill", 0, subscription_pay_number=5)])
    assert facts["payments_made"] == 5 and facts["first_sale_kartra_id"] is None


def test_a_trial_ends_trial_period_days_after_the_first_sale_and_bills_its_base_amount():
    sale = txn(
        30,
        "sale",
        trial_payment=True,
        trial_period=14,
        amount=Decimal("1.00"),
        base_amount=Decimal("47.00"),
    )
    facts = subscription_facts([sale])
    assert facts["trial_ends_at"] == T0 + timedelta(days=14)
    assert facts["recurring_amount"] == Decimal("47.00")
    assert subscription_facts([{**sale, "trial_payment": False}])["trial_ends_at"] is None


def test_no_transactions_no_facts():
    facts = subscription_facts([])
    assert facts["payments_made"] == 0 and facts["monthly_amount"] is None
    assert not facts["cancelled"]
