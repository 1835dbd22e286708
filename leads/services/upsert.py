"""One statement that inserts observed rows or updates them, newest observation winning.

Django's ``bulk_create(update_conflicts=True)`` cannot say *when* to update, so an older
observation applied late would overwrite a newer one. This writes

    INSERT INTO t (...) VALUES (...), (...)
    ON CONFLICT (key) [WHERE partial-index predicate] DO UPDATE SET c = EXCLUDED.c, ...
    WHERE t.observed_at <= EXCLUDED.observed_at

which PostgreSQL and SQLite (3.24+) both run, and which decides per row, under the row's
lock, whether the stored observation is older. Rows are sent in key order, so concurrent
writers lock them in one order.
"""

from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

from django.db import connection, models
from django.utils import timezone

#: Rows per statement at most; fewer where the database caps a statement's parameters
#: (Django keeps SQLite at 999).
CHUNK = 500


def upsert_observed(
    model: type[models.Model],
    rows: Iterable[dict[str, Any]],
    *,
    unique: Sequence[str],
    update: Sequence[str],
    conflict_where: str = "",
    expressions: dict[str, str] | None = None,
    fill_when_older: bool = False,
    older_expressions: dict[str, str] | None = None,
) -> int:
    """Insert ``rows`` (dicts by field attname, e.g. ``lead_id``) into ``model``'s table;
    where one conflicts with a stored row on ``unique``, overwrite the stored row's
    ``update`` fields and its observation if the stored observation is not newer.

    Fields a row leaves out take their model default. ``conflict_where`` is the predicate
    of a partial unique index named by ``unique`` (e.g. ``"level_id IS NULL"``).
    ``expressions`` replaces ``EXCLUDED.<column>`` for some ``update`` fields with SQL in
    which ``{old}`` is the stored value, ``{new}`` the incoming one and ``{table}`` the
    stored row's table. Rows that name the primary key update those rows (``unique`` is
    then the primary key). Of rows with equal keys only the newest observation is sent (of
    equal ones, the last given). Returns the number of rows sent.

    ``fill_when_older``: an older observation still fills the stored row's empty fields
    (NULL, or an empty text) with what it carries; the newer observation keeps the rest.
    For rows whose sources carry different fields (a webhook's full transaction, a
    snapshot's short one), so that the order they are processed in does not matter;
    ``older_expressions`` replaces that filling for some fields.
    """
    rows = list(_newest(rows, unique).values())
    quote = connection.ops.quote_name
    newer = f"{{table}}.{quote('observed_at')} <= EXCLUDED.{quote('observed_at')}"
    observation = ["observed_at", "observed_source", "observed_ref"]
    if fill_when_older:
        # No WHERE: every column decides, by the observations' times, what it keeps.
        fields = {f.attname: f for f in model._meta.concrete_fields}
        filled = {}
        for name in [*update, *observation]:
            when_newer = (expressions or {}).get(name, "{new}")
            if name in (older_expressions or {}):
                when_older = older_expressions[name]
            elif name in observation:
                when_older = "{old}"
            elif isinstance(fields[name], models.CharField | models.TextField):
                when_older = "COALESCE(NULLIF({old}, ''), {new})"
            else:
                when_older = "COALESCE({old}, {new})"
            filled[name] = f"CASE WHEN {newer} THEN {when_newer} ELSE {when_older} END"
        expressions, newer = filled, ""
    _write(
        model,
        rows,
        unique=unique,
        update=[*update, *observation],
        conflict_where=conflict_where,
        expressions=expressions,
        where=newer,
    )
    return len(rows)


def objects_update(model: type[models.Model], objs: Sequence[models.Model], fields) -> None:
    """Save ``fields`` of ``objs`` (stored rows) with one statement, as ``bulk_update``
    does; the statement is an upsert on the primary key that always conflicts, because
    Django's ``bulk_update`` builds a CASE per row and field, which for a batch of leads
    costs seconds of Python. Fields that are not null travel too, for the INSERT half."""
    pk = model._meta.pk
    sent = {f.attname for f in model._meta.concrete_fields if not f.null} | {
        model._meta.get_field(name).attname for name in fields
    }
    rows = [{name: getattr(obj, name) for name in sent} for obj in objs]
    update = [model._meta.get_field(name).attname for name in fields]
    _write(model, rows, unique=[pk.attname], update=update)


def _write(
    model: type[models.Model],
    rows: list[dict[str, Any]],
    *,
    unique: Sequence[str],
    update: Sequence[str],
    conflict_where: str = "",
    expressions: dict[str, str] | None = None,
    where: str = "",
) -> None:
    """``INSERT ... ON CONFLICT (unique) DO UPDATE SET update ... [WHERE where]``, in chunks
    that respect the database's limit on parameters. Columns are the model's, less a
    primary key the rows do not name; missing values take the field's default."""
    if not rows:
        return
    pk = model._meta.pk.attname
    fields = [f for f in model._meta.concrete_fields if not f.primary_key or pk in rows[0]]
    sent = {*rows[0], *update}
    fields = [f for f in fields if f.attname in sent or not f.null or f.has_default()]
    by_attname = {f.attname: f for f in fields}
    columns = [f.attname for f in fields]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    target = ", ".join(quote(by_attname[k].column) for k in unique)
    if conflict_where:
        target += f") WHERE ({conflict_where}"
    expressions = expressions or {}

    def assignment(name: str) -> str:
        column = quote(by_attname[name].column)
        new = f"EXCLUDED.{column}"
        value = (
            expressions[name].format(old=f"{table}.{column}", new=new, table=table)
            if name in expressions
            else new
        )
        return f"{column} = {value}"

    sets = ", ".join(assignment(k) for k in update)
    condition = f" WHERE {where.format(table=table)}" if where else ""
    rows.sort(key=lambda row: tuple(_order(row[k]) for k in unique))
    now = timezone.now()
    limit = connection.features.max_query_params
    size = min(CHUNK, limit // len(columns)) if limit else CHUNK
    names = ", ".join(quote(by_attname[c].column) for c in columns)
    for start in range(0, len(rows), size):
        chunk = rows[start : start + size]
        values = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(chunk))
        params = [
            by_attname[name].get_db_prep_save(_value(by_attname[name], row, now), connection)
            for row in chunk
            for name in columns
        ]
        sql = (
            f"INSERT INTO {table} ({names}) VALUES {values} "
            f"ON CONFLICT ({target}) DO UPDATE SET {sets}{condition}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


def _newest(rows: Iterable[dict[str, Any]], unique: Sequence[str]) -> dict[tuple, dict]:
    """Of rows with equal keys, the newest observation (of equal ones, the last given)."""
    newest: dict[tuple, dict[str, Any]] = {}
    for row in rows:
        key = tuple(row[k] for k in unique)
        if key not in newest or newest[key]["observed_at"] <= row["observed_at"]:
            newest[key] = row
    return newest


def _order(value: Any) -> tuple:
    """A sort key for key values that may be None (a membership access without a level)."""
    return (value is not None, value if value is not None else 0)


def _value(field: models.Field, row: dict[str, Any], now) -> Any:
    if field.attname in row:
        return row[field.attname]
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return now
    return field.get_default()


def applied_keys(
    model: type[models.Model], rows: Sequence[dict[str, Any]], *, unique: Sequence[str]
) -> dict[tuple, int]:
    """The keys (values of ``unique``) of ``rows`` whose observation the stored row now
    carries, i.e. where ``upsert_observed`` wrote it; with the stored rows' primary keys.
    One query. Key values must not be None."""
    sent = _newest(rows, unique)
    if not sent:
        return {}
    query = model.objects.filter(
        **{f"{k}__in": {key[n] for key in sent} for n, k in enumerate(unique)}
    ).values_list("pk", *unique, "observed_at", "observed_source", "observed_ref")
    found = {}
    for pk, *key, at, source, ref in query:
        row = sent.get(tuple(key))
        if row is not None and (at, source, ref) == (
            row["observed_at"],
            row["observed_source"],
            row.get("observed_ref"),
        ):
            found[tuple(key)] = pk
    return found


def insert_row(model: type[models.Model], values: dict[str, Any]) -> int:
    """Insert one row of ``model`` (``values`` by attname; other fields take their default)
    and return its primary key, with one statement and none of ``Model.save()``'s work: for
    the webhook receiver, whose request is this one INSERT. The statement is built once
    per model."""
    columns, sql = _insert_sql(model)
    now = timezone.now()
    fields = model._meta
    params = [
        fields.get_field(name).get_db_prep_save(
            _value(fields.get_field(name), values, now), connection
        )
        for name in columns
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if connection.features.can_return_columns_from_insert:
            return cursor.fetchone()[0]
        return cursor.lastrowid


@cache
def _insert_sql(model: type[models.Model]) -> tuple[list[str], str]:
    quote = connection.ops.quote_name
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(quote(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({placeholders})"
    if connection.features.can_return_columns_from_insert:
        sql += f" RETURNING {quote(model._meta.pk.column)}"
    return [f.attname for f in fields], sql
