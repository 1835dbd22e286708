"""PostgreSQL-only indexes for migrations: expression, trigram and partial indexes that the
planner needs on a big account, built CONCURRENTLY so a live mirror keeps taking webhooks.

They are plain SQL rather than ``Meta.indexes`` so the migration state stays the models'
own; SQLite (tests, small installs) gets none of them. A migration using this must set
``atomic = False``: CREATE INDEX CONCURRENTLY cannot run inside a transaction.
"""

from django.db import migrations


def postgres_indexes(indexes: dict[str, str]) -> migrations.RunPython:
    """A reversible operation creating ``{name: "table (columns) ..."}`` on PostgreSQL."""

    def create(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for name, definition in indexes.items():
            schema_editor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {definition}")

    def drop(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for name in indexes:
            schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")

    return migrations.RunPython(create, drop, elidable=False)
