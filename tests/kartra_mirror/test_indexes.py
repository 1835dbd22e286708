"""Every index of the mirror's tables answers a question no other index answers: an index
whose columns lead another index (or a unique constraint) only costs each write of its table.
Checked on the database the migrations built, PostgreSQL's SQL-only indexes included, and
on the way there from a database made before the redundant indexes were dropped."""

import pytest
from django.apps import apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

#: The last migrations before leads' 0013 and events' 0009 dropped the redundant indexes.
BEFORE = [("leads", "0012_subscription_status"), ("events", "0008_delivery_indexes")]


class Index:
    def __init__(self, name: str, columns: tuple[str, ...], unique: bool, whole: bool) -> None:
        self.name, self.columns, self.unique = name, columns, unique
        self.whole = (
            whole  # neither partial nor on an expression: it serves any lookup of its columns
        )

    def leads(self, other: "Index") -> bool:
        """Whether this index's columns are the leading columns of ``other``."""
        return self.columns == other.columns[: len(self.columns)]


def indexes(table: str) -> list[Index]:
    """The table's indexes (primary key aside) with their key columns, as the database has
    them."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                """
                SELECT i.relname, ix.indisunique,
                       ix.indpred IS NULL AND ix.indexprs IS NULL AND am.amname = 'btree',
                       -- a key column with another operator class than its type's default
                       -- (varchar_pattern_ops) answers other questions: named with it
                       ARRAY(
                           SELECT a.attname
                                  || CASE WHEN o.opcdefault THEN '' ELSE ' ' || o.opcname END
                           FROM unnest((ix.indkey::int2[])[0:ix.indnkeyatts - 1],
                                       (ix.indclass::oid[])[0:ix.indnkeyatts - 1])
                                WITH ORDINALITY AS k(attnum, opclass, n)
                           JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum
                           JOIN pg_opclass o ON o.oid = k.opclass
                           ORDER BY k.n)
                FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid
                JOIN pg_am am ON am.oid = i.relam
                WHERE ix.indrelid = %s::regclass AND NOT ix.indisprimary
                """,
                [table],
            )
            return [Index(name, tuple(cols), unique, whole) for name, unique, whole, cols in cursor]
        found = []
        cursor.execute(f"PRAGMA index_list({connection.ops.quote_name(table)})")
        for _, name, unique, origin, partial in cursor.fetchall():
            if origin == "pk":
                continue
            cursor.execute(f"PRAGMA index_info({connection.ops.quote_name(name)})")
            columns = [column for _, cid, column in cursor.fetchall()]
            whole = not partial and None not in columns
            found.append(Index(name, tuple(columns), bool(unique), whole))
        return found


def mirror_tables() -> list[str]:
    """The tables of the leads and events apps, less the join tables Django makes for a
    many-to-many field (their indexes are Django's own)."""
    return sorted(
        model._meta.db_table
        for label in ("leads", "events")
        for model in apps.get_app_config(label).get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.auto_created
    )


def redundant() -> list[str]:
    found = []
    for table in mirror_tables():
        every = indexes(table)
        for index in every:
            if index.unique or not index.whole:
                continue
            covering = [o for o in every if o is not index and o.whole and index.leads(o)]
            found += [f"{table}: {index.name} leads {o.name}" for o in covering]
    return found


def test_no_index_of_the_mirror_leads_another():
    assert redundant() == []


def foreign_keys() -> dict[str, list[tuple[str, ...]]]:
    """The columns of each table's foreign key constraints."""
    with connection.cursor() as cursor:
        return {
            table: sorted(
                tuple(about["columns"])
                for about in connection.introspection.get_constraints(cursor, table).values()
                if about["foreign_key"]
            )
            for table in mirror_tables()
        }


def test_every_foreign_key_leads_an_index():
    """A lead's rows are found, and deleted with it, through an index on their key."""
    for table, keys in foreign_keys().items():
        every = indexes(table)
        for (column,) in keys:
            assert any(i.columns[0] == column for i in every if i.whole), (table, column)


def latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def migrate(targets) -> None:
    MigrationExecutor(connection).migrate(targets)


def test_the_migrations_drop_the_redundant_indexes_and_build_them_back_when_reversed():
    migrate(BEFORE)
    try:
        before = redundant()
        assert any("leads_leadtag: " in found for found in before)
        if connection.vendor == "postgresql":  # SQLite had no paging indexes before
            assert any("leads_lead: lead_updated_idx" in found for found in before)
        keys = foreign_keys()

        migrate(latest())

        assert redundant() == []
        assert foreign_keys() == keys
        names = {index.name for index in indexes("leads_lead")}
        assert {"lead_updated_page_idx", "lead_score_page_idx"} <= names
        assert not {"lead_updated_idx", "lead_score_idx"} & names
    finally:
        migrate(latest())
