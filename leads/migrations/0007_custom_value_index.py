"""The index behind the custom field value filter on text fields (PostgreSQL only).

``leads.selectors.text_equals_ci`` matches a field's text case-insensitively:
``field_id = F AND text <> '' AND md5(lower(text)) = md5(lower(V))``. Without this index, a
field that most leads fill reads every one of its values to compare them. The MD5 keeps
each entry small: a btree entry cannot hold a long text-area value. Partial, because
choice fields keep their values as options and leave the text empty. SQL rather than
``Meta.indexes`` for the reasons 0002_api_indexes gives; built CONCURRENTLY so a live
mirror keeps taking webhooks meanwhile. Choice fields need none: the option table's
foreign-key indexes lead from an option to the values that chose it.
"""

from django.db import migrations

from kartra_mirror.pg_indexes import postgres_indexes

INDEXES = {
    "customvalue_text_md5_idx": (
        "leads_customfieldvalue (field_id, (md5(lower(text)))) WHERE text <> ''"
    ),
}


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("leads", "0006_segment"),
    ]

    operations = [
        postgres_indexes(INDEXES),
    ]
