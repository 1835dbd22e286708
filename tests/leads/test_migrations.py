"""Data carried through leads' migrations (run forward and back on the test database)."""

from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("leads", "0003_admin_indexes")]
AFTER = [("leads", "0004_tolerant_enums_field_ids_replaced_sets")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


@pytest.fixture
def at_0003():
    yield migrate(BEFORE)
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_0004_names_survey_types_and_gives_webhook_transactions_their_amount(at_0003):
    old = at_0003
    for name, survey_type in (("S", 1), ("Q", 2), ("U", None)):
        old.get_model("leads", "Survey").objects.create(name=name, survey_type=survey_type)
    lead = old.get_model("leads", "Lead").objects.create(kartra_id=1)
    Transaction = old.get_model("leads", "Transaction")
    now = timezone.now()
    for kartra_id, amount, full_amount in ((1, None, "110.50"), (2, "300.00", None)):
        Transaction.objects.create(
            kartra_id=kartra_id, lead=lead, transaction_type="sale", amount=amount,
            full_amount=full_amount, observed_at=now, observed_source="webhook",
        )  # fmt: skip

    new = migrate(AFTER)

    types = dict(new.get_model("leads", "Survey").objects.values_list("name", "survey_type"))
    assert types == {"S": "survey", "Q": "quiz", "U": None}
    amounts = new.get_model("leads", "Transaction").objects.values_list("kartra_id", "amount")
    assert dict(amounts) == {1: Decimal("110.50"), 2: Decimal("300.00")}

    new.get_model("leads", "Survey").objects.filter(name="U").update(survey_type="poll")
    old = migrate(BEFORE)
    types = dict(old.get_model("leads", "Survey").objects.values_list("name", "survey_type"))
    assert types == {"S": 1, "Q": 2, "U": None}


def test_0012_computes_existing_subscriptions_facts_and_signups():
    from leads.revenue import FACT_FIELDS

    events = ("events", "0008_delivery_indexes")  # the last before events needs leads' 0013
    old = migrate([("leads", "0011_change_history"), events])
    try:
        Lead = old.get_model("leads", "Lead")
        lead = Lead.objects.create(kartra_id=1)
        product = old.get_model("leads", "Product").objects.create(kartra_id=77, name="Club")
        observed = {"observed_at": timezone.now(), "observed_source": "webhook"}
        sub = old.get_model("leads", "Subscription").objects.create(
            kartra_id=7001, lead=lead, product=product, **observed
        )
        Transaction = old.get_model("leads", "Transaction")
        sold = timezone.now() - timezone.timedelta(days=40)
        for kartra_id, kind, days in ((1, "sale", 0), (2, "rebill", 30), (3, "failed", 35)):
            Transaction.objects.create(
                kartra_id=kartra_id, lead=lead, product=product, subscription=sub,
                transaction_type=kind, amount=Decimal("20.00"), price_point="2",
                transaction_date=sold + timezone.timedelta(days=days), **observed,
            )  # fmt: skip
        Activity = old.get_model("events", "Activity")
        for action, days in (("affiliate_signup", 3), ("affiliate_signup", 1), ("jv_signup", 2)):
            Activity.objects.create(
                lead=lead, product=product, action=action,
                occurred_at=timezone.now() - timezone.timedelta(days=days),
            )  # fmt: skip

        new = migrate([("leads", "0012_subscription_status"), events])

        row = new.get_model("leads", "Subscription").objects.get()
        facts = {name: getattr(row, name) for name in FACT_FIELDS}
        assert (facts["first_sale_kartra_id"], facts["last_payment_kartra_id"]) == (1, 2)
        assert (facts["payments_made"], facts["failed_payments"], facts["price_point"]) == (
            2, 1, "2",
        )  # fmt: skip
        assert facts["last_failure_kartra_id"] == 3 and facts["monthly_amount"] == Decimal("20")
        signups = new.get_model("leads", "ProductSignup").objects.order_by("kind")
        assert [(s.kind, s.product_id) for s in signups] == [
            ("affiliate", product.pk),
            ("jv", product.pk),
        ]
        first = Activity.objects.filter(action="affiliate_signup").order_by("occurred_at")[0]
        assert signups[0].signed_up_at == first.occurred_at
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
