"""The delivery table carries one index per question the product asks it (every delivery
writes each index twice: stored, then processed), and events' 0008 migration gets there on a
database made before it, keeping its rows."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("events", "0007_erasure")]


def delivery_indexes() -> dict[str, tuple[str, ...]]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "events_delivery")
    return {
        name: tuple(info["columns"])
        for name, info in constraints.items()
        if info["index"] and not info["primary_key"]
    }


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


def latest():
    return [n for n in MigrationExecutor(connection).loader.graph.leaf_nodes() if n[0] == "events"]


def test_a_digest_has_one_index_for_its_lookups_by_equality():
    """(That no index leads another, here as on every table: tests/kartra_mirror/test_indexes.)"""
    indexes = delivery_indexes()

    assert indexes["delivery_sha256_idx"] == ("body_sha256",)
    assert not [name for name in indexes if name.endswith("_like")]


def test_0008_keeps_the_rows_and_their_digest_lookup():
    old = migrate(BEFORE)
    try:
        assert any(columns == ("action",) for columns in delivery_indexes().values())
        Delivery = old.get_model("events", "Delivery")
        Delivery.objects.create(
            received_at=timezone.now(), body=b"{}", body_sha256="ab" * 32, size=2, action="x"
        )

        new = migrate(latest())

        assert new.get_model("events", "Delivery").objects.filter(body_sha256="ab" * 32).exists()
        assert delivery_indexes()["delivery_sha256_idx"] == ("body_sha256",)
        assert not any(
            columns in {("action",), ("lead_id",)} for columns in delivery_indexes().values()
        )
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
