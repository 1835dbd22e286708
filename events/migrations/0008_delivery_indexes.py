"""Fewer indexes on deliveries, each of which every delivery writes twice (stored, then
processed): ``action`` and ``lead`` alone are the leading columns of
``delivery_action_idx`` and ``delivery_lead_idx``, and a digest is looked up by equality
only, so its ``varchar_pattern_ops`` copy (PostgreSQL) goes. The digest's own index is
renamed, not rebuilt: a large table keeps it as it is.
"""

from django.db import migrations, models

OLD = "events_delivery_body_sha256_e1fd95de"
NEW = "delivery_sha256_idx"


def _rename(schema_editor, old: str, new: str) -> None:
    quote = schema_editor.quote_name
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {quote(old + '_like')}")
        schema_editor.execute(f"ALTER INDEX IF EXISTS {quote(old)} RENAME TO {quote(new)}")
    else:  # SQLite cannot rename an index
        schema_editor.execute(f"DROP INDEX IF EXISTS {quote(old)}")
        schema_editor.execute(f"CREATE INDEX {quote(new)} ON events_delivery (body_sha256)")


def forward(apps, schema_editor) -> None:
    _rename(schema_editor, OLD, NEW)


def backward(apps, schema_editor) -> None:
    _rename(schema_editor, NEW, OLD)


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0007_erasure"),
    ]

    operations = [
        migrations.AlterField(
            model_name="delivery",
            name="action",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AlterField(
            model_name="delivery",
            name="lead",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=models.deletion.SET_NULL,
                related_name="deliveries",
                to="leads.lead",
            ),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="delivery",
                    name="body_sha256",
                    field=models.CharField(max_length=64),
                ),
                migrations.AddIndex(
                    model_name="delivery",
                    index=models.Index(fields=["body_sha256"], name=NEW),
                ),
            ],
            database_operations=[migrations.RunPython(forward, backward)],
        ),
    ]
