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
