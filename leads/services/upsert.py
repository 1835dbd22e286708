"""One statement that inserts observed rows or updates them, newest observation winning.

Django's ``bulk_create(update_conflicts=True)`` cannot say *when* to update, so an older
observation applied late would overwrite a newer one. This writes

    INSERT INTO t (...) VALUES (...), (...)
    ON CONFLICT (key) [WHERE partial-index predicate] DO UPDATE SET c = EXCLUDED.c, ...
    WHERE t.observed_at <= EXCLUDED.observed_at

which PostgreSQL and SQLite (3.24+) both run, and which decides per row, under the row's
lock, whether the stored observation is older. Rows are sent in key order, so concurrent
writers lock them in one order.

The batch writers' other statements are here too: plain inserts and upserts of rows given
as dicts (``rows_insert``, ``rows_upsert``: ``bulk_create`` without a model instance per
row), the save of loaded rows (``objects_update``), and an update or select of rows joined
to a list of values (``rows_joined``). On PostgreSQL every one sends its rows as one typed
array per column, bound apart from the statement (``UNNEST``), so that a batch of any size
is one short statement that psycopg parses once and whose values it dumps in C.
"""

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from django.db import (
    DEFAULT_DB_ALIAS,
    InterfaceError,
    OperationalError,
    connection,
    connections,
    models,
)
from django.db.backends.base.base import BaseDatabaseWrapper
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


def rows_upsert(
    model: type[models.Model],
    rows: list[dict[str, Any]],
    *,
    unique: Sequence[str],
    update: Sequence[str],
) -> None:
    """Insert ``rows`` (dicts by attname; other fields take their default), or where one
    conflicts on ``unique``, set the stored row's ``update`` fields: one statement, whatever
    the observations (see :func:`upsert_observed` for rows that carry one)."""
    _write(model, rows, unique=unique, update=update)


def rows_insert(
    model: type[models.Model], rows: list[dict[str, Any]], *, skip_conflicts: bool = False
) -> list[Any]:
    """Insert ``rows`` (dicts by attname; other fields take their default) with one
    statement, as ``bulk_create`` does without building a model instance per row;
    ``skip_conflicts``: a row that conflicts with a stored one is left out. Returns the
    primary keys of the rows inserted, in the order given (without ``skip_conflicts``)."""
    return _write(model, rows, unique=(), update=None if skip_conflicts else (), returning=True)


def objects_update(model: type[models.Model], objs: Sequence[models.Model], fields) -> None:
    """Save ``fields`` of ``objs`` (stored rows the caller has locked: the statement takes
    them in no particular order) with one ``UPDATE ... FROM`` a list of their values, as
    ``bulk_update`` does without its ``CASE`` per row and field, which for a batch of
    leads costs seconds of Python. Only the primary keys and ``fields`` travel."""
    pk = model._meta.pk.attname
    names = [model._meta.get_field(name).attname for name in fields]
    quote = connection.ops.quote_name
    rows_joined(
        model,
        [{pk: obj.pk, **{name: getattr(obj, name) for name in names}} for obj in objs],
        on=pk,
        where="TRUE",
        assign={name: "{v}." + quote(model._meta.get_field(name).column) for name in names},
    )


def _write(
    model: type[models.Model],
    rows: list[dict[str, Any]],
    *,
    unique: Sequence[str],
    update: Sequence[str] | None,
    conflict_where: str = "",
    expressions: dict[str, str] | None = None,
    where: str = "",
    returning: bool = False,
) -> list[Any]:
    """``INSERT ... ON CONFLICT (unique) DO UPDATE SET update ... [WHERE where]`` (no
    conflict clause when ``update`` is empty, ``ON CONFLICT DO NOTHING`` when it is None),
    in chunks that respect the database's limit on parameters. Columns are the model's,
    less a primary key the rows do not name; missing values take the field's default.
    With ``returning``, returns the primary keys of the rows written, in the order of
    ``rows`` sorted by ``unique`` (as given when ``unique`` is empty)."""
    if not rows:
        return []
    pk = model._meta.pk.attname
    fields = [f for f in model._meta.concrete_fields if not f.primary_key or pk in rows[0]]
    sent = {*rows[0], *(update or ())}
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

    if update is None:
        conflict = " ON CONFLICT DO NOTHING"
    elif update:
        sets = ", ".join(assignment(k) for k in update)
        condition = f" WHERE {where.format(table=table)}" if where else ""
        conflict = f" ON CONFLICT ({target}) DO UPDATE SET {sets}{condition}"
    else:
        conflict = ""
    rows.sort(key=lambda row: tuple(_order(row[k]) for k in unique))
    names = ", ".join(quote(by_attname[c].column) for c in columns)
    back = f" RETURNING {quote(model._meta.pk.column)}" if returning else ""
    written: list[Any] = []
    for source, params in _rows_source(fields, rows):
        sql = f"INSERT INTO {table} ({names}) {source}{conflict}{back}"
        with _cursor() as cursor:
            cursor.execute(sql, params)
            if returning:
                written += [pk for (pk,) in cursor.fetchall()]
    return written


def _cursor(db: BaseDatabaseWrapper | None = None, *, checked: bool = True) -> Any:
    """A cursor of ``db`` (the default connection), to be closed by the caller (``with``),
    that on PostgreSQL sends parameters apart from the statement (``%b``: in binary),
    unlike the cursors Django makes by default, which quote every value into the SQL in
    Python: the parameters of a batch's arrays are dumped in C and the statement stays short
    enough for psycopg to cache its parsing. Django wraps it as its own (query logging and
    counting, error translation). ``checked``: Django's health check runs first, as for its
    own cursors (when ``CONN_HEALTH_CHECKS`` is on)."""
    if db is None:
        db = connections[DEFAULT_DB_ALIAS]  # ``connection`` looks it up at every attribute
    if db.vendor != "postgresql":  # SQLite's health check costs no round trip
        return db.cursor()
    from django.db.backends.postgresql.base import ServerBindingCursor

    if checked:
        db.close_if_health_check_failed()
    db.ensure_connection()
    with db.wrap_database_errors:
        raw = ServerBindingCursor(db.connection)
    # Wrapped as Django wraps its own: logged and counted when queries are logged.
    return db.make_debug_cursor(raw) if db.queries_logged else db.make_cursor(raw)


def _rows_source(
    fields: Sequence[models.Field], rows: Sequence[dict[str, Any]]
) -> Iterator[tuple[str, list]]:
    """``rows`` (dicts by attname; a missing field takes its default) as the source of an
    INSERT or a CTE, with its parameters, column by column in the order of ``fields``.

    On PostgreSQL one ``SELECT ... FROM UNNEST(...)`` of a typed array per column (a column
    no row names is one value, its default), whatever the number of rows, to run with
    :func:`_cursor`: psycopg parses a statement's placeholders and quotes client-side
    parameters in Python, which for a batch cost more than running it. Elsewhere
    ``VALUES (...), ...`` in chunks that respect the database's limit on parameters."""
    now = timezone.now()
    if connection.vendor == "postgresql":
        selected, scalars, arrays, columns = [], [], [], []
        for n, f in enumerate(fields):
            # Without the parameters of a type (varchar, not varchar(50)), as Django's own
            # bulk_create does: the column's type still applies on insert.
            db_type = f.db_type(connection).split("(")[0]
            if any(f.attname in row for row in rows):
                selected.append(f"c{n}")
                arrays.append(f"%b::{db_type}[]")
                columns.append(_column(f, rows, now))
            else:
                selected.append(f"%b::{db_type}")
                scalars.append(_preparer(f)(_default(f, now)))
        names = ", ".join(name for name in selected if not name.startswith("%"))
        source = f"SELECT {', '.join(selected)} FROM UNNEST({', '.join(arrays)}) AS u({names})"
        yield source, [*scalars, *columns]
        return
    values = [_column(f, rows, now) for f in fields]
    limit = connection.features.max_query_params
    size = min(CHUNK, limit // len(fields)) if limit else CHUNK
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    for start in range(0, len(rows), size):
        end = min(start + size, len(rows))
        params = [column[n] for n in range(start, end) for column in values]
        yield "VALUES " + ", ".join([row] * (end - start)), params


def _column(field: models.Field, rows: Sequence[dict[str, Any]], now) -> list:
    """The values of ``field`` in ``rows`` (its default where a row lacks it), prepared
    for the database."""
    name = field.attname
    if all(name in row for row in rows):
        values = [row[name] for row in rows]
    else:
        values = [row[name] if name in row else _default(field, now) for row in rows]
    if set(map(type, values)) <= _sent_as_is(field) and (
        field.get_internal_type() != "DateTimeField"
        or all(value is None or value.tzinfo is not None for value in values)
    ):
        return values
    convert = _preparer(field)
    return [convert(value) for value in values]


def rows_joined(
    model: type[models.Model],
    values: Sequence[dict[str, Any]],
    *,
    on: str,
    where: str,
    assign: dict[str, str] | None = None,
) -> list[int]:
    """Update (with ``assign``) or else select the rows of ``model`` matching ``values``,
    one statement for any number of them; return the primary keys of the rows it matched.

    ``values``: dicts with the same keys, each a column of ``model`` (by attname); a row
    matches the value whose ``on`` column equals its own and for which ``where`` holds.
    ``where`` and ``assign`` are SQL in which ``{t}`` is the table's row and ``{v}`` the
    matching value (``{t}.observed_at < {v}.observed_at``). Django would compare each row
    to its value with a ``CASE`` of one ``WHEN`` per value, whose expressions cost more
    Python than the statement costs PostgreSQL. (``UPDATE ... FROM ... RETURNING`` needs
    SQLite 3.35 or later.)"""
    if not values:
        return []
    fields = {name: model._meta.get_field(name) for name in values[0]}
    quote = connection.ops.quote_name
    table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
    t, v = table, quote("listed")
    columns = ", ".join(quote(field.column) for field in fields.values())
    condition = f"{t}.{quote(fields[on].column)} = {v}.{quote(fields[on].column)} AND " + (
        where.format(t=t, v=v)
    )
    if assign:
        sets = ", ".join(
            f"{quote(model._meta.get_field(name).column)} = {sql.format(t=t, v=v)}"
            for name, sql in assign.items()
        )
        statement = f"UPDATE {table} SET {sets} FROM {v} WHERE {condition} RETURNING {t}.{pk}"
    else:
        statement = f"SELECT {t}.{pk} FROM {table}, {v} WHERE {condition}"
    matched = []
    for source, params in _rows_source(list(fields.values()), values):
        with _cursor() as cursor:
            cursor.execute(f"WITH {v} ({columns}) AS ({source}) {statement}", params)
            matched += [pk for (pk,) in cursor.fetchall()]
    return matched


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


def _default(field: models.Field, now) -> Any:
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return now
    return field.get_default()


#: Types whose values a field of each kind sends unchanged: Django's preparation would
#: return them as they are, at a cost that was a third of a batch's Python time.
_SENT_AS_IS: dict[str, frozenset[type]] = {
    **dict.fromkeys(["CharField", "TextField"], frozenset({str})),
    "BooleanField": frozenset({bool}),
    **dict.fromkeys(
        [
            "IntegerField",
            "BigIntegerField",
            "SmallIntegerField",
            "PositiveIntegerField",
            "PositiveSmallIntegerField",
            "PositiveBigIntegerField",
            "AutoField",
            "BigAutoField",
        ],
        frozenset({int}),
    ),
}


def _sent_as_is(field: models.Field) -> frozenset[type]:
    """The types of values ``field`` sends unchanged, None's included. PostgreSQL's
    backend sends datetimes as they are too (aware ones: :func:`_column` checks)."""
    kind = (field.target_field if field.is_relation else field).get_internal_type()
    if kind == "DateTimeField" and connection.vendor == "postgresql":
        return frozenset({datetime, type(None)})
    return _SENT_AS_IS.get(kind, frozenset()) | {type(None)}


def _preparer(field: models.Field) -> Callable[[Any], Any]:
    """``field.get_db_prep_save`` bound to the connection, skipped for values it would
    send unchanged."""
    as_is = _sent_as_is(field)
    prepare = field.get_db_prep_save

    def convert(value: Any) -> Any:
        if type(value) in as_is and (not isinstance(value, datetime) or value.tzinfo is not None):
            return value
        return prepare(value, connection)

    return convert


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
    the webhook receiver, whose request is this one INSERT. The statement and each
    column's preparation are worked out once per model.

    Nor is the connection checked first: Django's ``CONN_HEALTH_CHECKS`` would send a
    ``SELECT 1`` ahead of the INSERT, a second round trip in every request. Instead, outside
    a transaction, an INSERT that finds its connection dead (the database restarted since
    the connection's last statement) is sent once more, on a new connection."""
    sql, columns = _insert_sql(model)
    now = timezone.now()
    params = [
        convert(values[name] if name in values else _default(field, now))
        for name, field, convert in columns
    ]
    db = connections[DEFAULT_DB_ALIAS]
    reused = db.connection is not None
    try:
        return _insert(db, sql, params)
    except (OperationalError, InterfaceError):
        if not reused or db.in_atomic_block or db.is_usable():
            raise  # no connection to be had, a live one, or one a transaction cannot leave
    db.close()
    return _insert(db, sql, params)


def _insert(db: BaseDatabaseWrapper, sql: str, params: list[Any]) -> int:
    with _cursor(db, checked=False) as cursor:
        cursor.execute(sql, params)
        if db.features.can_return_columns_from_insert:
            return cursor.fetchone()[0]
        return cursor.lastrowid


@cache
def _insert_sql(
    model: type[models.Model],
) -> tuple[str, list[tuple[str, models.Field, Callable[[Any], Any]]]]:
    quote = connection.ops.quote_name
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(quote(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({placeholders})"
    if connection.features.can_return_columns_from_insert:
        sql += f" RETURNING {quote(model._meta.pk.column)}"
    return sql, [(f.attname, f, _preparer(f)) for f in fields]
