"""MRR over time (``leads.revenue.mrr_series``): each month's end counts the subscriptions
that had started and were, by the status rules, active then; the last point is today's MRR."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from leads.models import Subscription
from leads.revenue import month_starts, mrr_series
from leads.selectors import subscription_totals
from tests.factories import LeadFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 7, 10, 12, 0, tzinfo=UTC)


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=10, tzinfo=UTC)


#: name: (monthly amount, facts). The months are those ending Jul 2025 ... Jun 2026.
TABLE = {
    "active since September": (10, {"first_sale_at": "2025-09-15",
                                    "last_payment_at": "2026-07-01"}),
    "cancelled in January": (20, {"first_sale_at": "2025-06-01", "last_payment_at": "2026-01-01",
                                  "cancelled": True, "cancelled_at": "2026-01-20"}),
    "trial until 5 March": (30, {"first_sale_at": "2026-02-10", "trial_ends_at": "2026-03-05",
                                 "last_payment_at": "2026-07-05"}),
    "completed in March": (40, {"first_sale_at": "2025-10-05", "last_payment_at": "2026-03-05",
                                "payments_left": 0}),
    "failed in May": (50, {"first_sale_at": "2025-11-10", "last_payment_at": "2026-04-10",
                           "last_failure_at": "2026-05-10", "failed_payments": 1}),
    "failed, then paid": (5, {"first_sale_at": "2025-12-01", "last_failure_at": "2026-03-01",
                              "last_payment_at": "2026-04-01", "failed_payments": 1}),
    "only a rebill known": (7, {"last_payment_at": "2026-05-20"}),
    "no amount known": (None, {"first_sale_at": "2025-08-01"}),
    "in a trial now": (60, {"first_sale_at": "2026-07-01", "trial_ends_at": "2026-07-20"}),
    "started this month": (3, {"first_sale_at": "2026-07-03", "last_payment_at": "2026-07-03"}),
}  # fmt: skip

#: (the month's last day, MRR), oldest first, then now.
EXPECTED = [
    (date(2025, 7, 31), 20),
    (date(2025, 8, 31), 20),
    (date(2025, 9, 30), 30),  # + active since September
    (date(2025, 10, 31), 70),  # + completed in March
    (date(2025, 11, 30), 120),  # + failed in May
    (date(2025, 12, 31), 125),  # + failed, then paid
    (date(2026, 1, 31), 105),  # - cancelled in January
    (date(2026, 2, 28), 105),  # trial until 5 March: not yet
    (date(2026, 3, 31), 95),  # + its 30 - completed in March
    (date(2026, 4, 30), 95),
    (date(2026, 5, 31), 52),  # - failed in May, + only a rebill known
    (date(2026, 6, 30), 52),
    (date(2026, 7, 10), 55),  # now: + started this month (the trial of July counts nothing)
]


@pytest.fixture
def subscriptions():
    lead = LeadFactory()
    for n, (name, (monthly, facts)) in enumerate(TABLE.items()):
        values = {k: at(v) if k.endswith("_at") else v for k, v in facts.items()}
        SubscriptionFactory(
            kartra_id=80_000 + n,
            lead=lead,
            price_point=name[:64],
            monthly_amount=None if monthly is None else Decimal(monthly),
            **values,
        )


def test_month_ends_are_the_first_instants_of_the_following_months():
    assert month_starts(NOW, 3) == [
        datetime(2026, 5, 1, tzinfo=UTC),
        datetime(2026, 6, 1, tzinfo=UTC),
        datetime(2026, 7, 1, tzinfo=UTC),
    ]
    assert month_starts(datetime(2026, 1, 31, tzinfo=UTC), 2) == [
        datetime(2025, 12, 1, tzinfo=UTC),
        datetime(2026, 1, 1, tzinfo=UTC),
    ]


def test_each_month_counts_what_was_active_at_its_end(subscriptions, django_assert_num_queries):
    with django_assert_num_queries(1):
        series = mrr_series(now=NOW)
    assert series == [(day, Decimal(amount)) for day, amount in EXPECTED]


def test_now_is_the_mrr_figure_to_the_cent(subscriptions):
    Subscription.objects.filter(monthly_amount=Decimal(3)).update(monthly_amount=Decimal("3.33"))
    (_, now), mrr = mrr_series(now=NOW)[-1], subscription_totals(now=NOW)["mrr"]
    assert now == mrr == Decimal("55.33")


def test_a_queryset_narrows_the_series(subscriptions):
    series = mrr_series(Subscription.objects.filter(price_point="active since September"), now=NOW)
    assert [amount for _, amount in series] == [0, 0] + [10] * 11


def test_no_subscriptions_give_zeros(db):
    series = mrr_series(now=NOW, months=3)
    assert series == [
        (date(2026, 4, 30), 0),
        (date(2026, 5, 31), 0),
        (date(2026, 6, 30), 0),
        (date(2026, 7, 10), 0),
    ]
