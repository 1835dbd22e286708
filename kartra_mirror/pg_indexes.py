"""Index operations for migrations.

``postgres_indexes``: PostgreSQL-only indexes (expression, trigram and partial indexes that
the planner needs on a big account), built CONCURRENTLY so a live mirror keeps taking
webhooks. They are plain SQL rather than ``Meta.indexes`` so the migration state stays the
models' own; SQLite (tests, small installs) gets none of them. A migration using this must
set ``atomic = False``: CREATE INDEX CONCURRENTLY cannot run inside a transaction.

``AdoptIndex`` makes such an index the model's own; ``DropOwnIndex`` drops a foreign key's
index that another index makes redundant, without touching the key's constraint.
"""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor


def _on_postgresql(schema_editor: BaseDatabaseSchemaEditor) -> bool:
    return schema_editor.connection.vendor == "postgresql"


def postgres_indexes(indexes: dict[str, str]) -> migrations.RunPython:
    """A reversible operation creating ``{name: "table (columns) ..."}`` on PostgreSQL."""

    def create(apps, schema_editor):
        if not _on_postgresql(schema_editor):
            return
        for name, definition in indexes.items():
            schema_editor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {definition}")

    def drop(apps, schema_editor):
        if not _on_postgresql(schema_editor):
            return
        for name in indexes:
            schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")

    return migrations.RunPython(create, drop, elidable=False)


class AdoptIndex(migrations.AddIndex):
    """``AddIndex`` of an index that an earlier migration built on PostgreSQL with
    :func:`postgres_indexes`, under the same name and on the same columns: from now on the
    model states it, so that it serves every database and an index it makes redundant can
    go. PostgreSQL keeps the index it has; other databases build it (and drop it when the
    migration is reversed)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if not _on_postgresql(schema_editor):
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if not _on_postgresql(schema_editor):
            super().database_backwards(app_label, schema_editor, from_state, to_state)

    def describe(self) -> str:
        return f"Adopt index {self.index.name} on {self.model_name} (built on PostgreSQL before)"


class DropOwnIndex(migrations.AlterField):
    """``AlterField`` of a foreign key to ``db_index=False``, whose column leads another
    index or a unique constraint. On the database it only drops the field's own index:
    Django's ``AlterField`` would also drop and add back the key's constraint, whose check
    reads the whole table while it holds off the writes of both tables."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        meta = model._meta
        column = meta.get_field(self.name).column
        named = {index.name for index in meta.indexes} | {c.name for c in meta.constraints}
        with schema_editor.connection.cursor() as cursor:
            found = schema_editor.connection.introspection.get_constraints(cursor, meta.db_table)
        for name, about in found.items():
            own = about["index"] and not about["unique"] and not about["primary_key"]
            if own and about["columns"] == [column] and name not in named:
                schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        # AlterField's backwards runs its forwards between the swapped states: Django's own,
        # which builds the index again (and adds back the constraint).
        super().database_forwards(app_label, schema_editor, from_state, to_state)
