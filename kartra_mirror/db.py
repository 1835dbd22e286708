"""Database connection setup and transaction helpers shared by every process of the mirror."""

from contextlib import contextmanager
from datetime import UTC

from django.db import connection, models, transaction
from django.db.backends.signals import connection_created
from django.db.models.expressions import ColPairs
from django.db.models.fields.related_lookups import RelatedIn
from django.db.models.lookups import In

try:
    from psycopg import adapters
    from psycopg.adapt import Loader
    from psycopg.postgres import types
    from psycopg.pq import Format
except ImportError:  # pragma: no cover - SQLite-only installs
    adapters = None


def _c_timestamptz_loader():
    """A loader of ``timestamptz`` values in UTC that parses with psycopg's compiled loader,
    or None without psycopg's binary build."""
    if adapters is None:
        return None
    compiled = adapters.get_loader(types["timestamptz"].oid, Format.TEXT)
    if compiled is None or compiled.__module__.startswith("psycopg."):
        return None  # the pure-Python implementation: nothing to gain

    class UtcTimestamptzLoader(Loader):
        # What Django's create_cursor() compares with its own time zone: equal, so it keeps
        # this loader rather than installing its Python one on every cursor.
        timezone = UTC

        def __init__(self, oid, context=None):
            super().__init__(oid, context)
            self._compiled = compiled(oid, context)

        def load(self, data):
            return self._compiled.load(data)

    return UtcTimestamptzLoader


UTC_TIMESTAMPTZ_LOADER = _c_timestamptz_loader()


def use_compiled_timestamptz_loader(sender, connection, **kwargs) -> None:
    """Read ``timestamptz`` columns with psycopg's compiled loader.

    Django's PostgreSQL backend installs a Python loader that parses each value and then
    sets its time zone, which costs more than the rest of loading a row of timestamps. When
    the session's time zone is UTC (always, with ``USE_TZ`` and no per-database
    ``TIME_ZONE``), psycopg's own loader returns the same aware datetimes in UTC.
    """
    if (
        connection.vendor != "postgresql"
        or UTC_TIMESTAMPTZ_LOADER is None
        or connection.timezone is not UTC
        or connection.connection.info.parameter_status("TimeZone") != "UTC"
    ):
        return
    connection.connection.adapters.register_loader("timestamptz", UTC_TIMESTAMPTZ_LOADER)


def connect_signals() -> None:
    connection_created.connect(use_compiled_timestamptz_loader, dispatch_uid=__name__)


class _AnyOnPostgres:
    """On PostgreSQL, ``field__in=[values]`` as ``field = ANY(%s)``: the values go as one
    array parameter, not one placeholder each.

    The mirror's batches look rows up by hundreds of keys (a batch's leads, their tags, the
    deliveries' digests). psycopg parses a statement's placeholders in Python, and caches
    the parsing of a statement only up to 50 parameters: with one placeholder per value,
    every such query was parsed afresh, at a cost that was a tenth of a batch's Python. The
    planner reads ``= ANY(array)`` as it reads ``IN (list)``, indexes included. Anything
    else (a subquery, an expression among the values, a key of several columns, a JSON or
    array column) is left to Django's ``IN``."""

    def as_postgresql(self, compiler, connection):
        field = getattr(self.lhs, "output_field", None)
        db_type = field.db_type(connection) if field is not None else None
        if (
            not self.rhs_is_direct_value()
            or isinstance(self.lhs, ColPairs)
            or not db_type
            or "[" in db_type
            or isinstance(field, models.JSONField)
        ):
            return self.as_sql(compiler, connection)
        try:
            values = [value for value in dict.fromkeys(self.rhs) if value is not None]
        except TypeError:  # values that cannot be hashed: Django's IN
            return self.as_sql(compiler, connection)
        if not values:
            return self.as_sql(compiler, connection)  # Django's: matches nothing
        # Prepared as Django's IN prepares each of them (the related key's own field for a
        # relation), without its per-value placeholder and expression handling.
        target = getattr(field, "target_field", None)
        prepare = getattr(target, "get_db_prep_value", None) or field.get_db_prep_value
        params = [prepare(value, connection, prepared=True) for value in values]
        lhs, lhs_params = self.process_lhs(compiler, connection)
        array_type = db_type.split("(")[0]  # varchar(254)[] is varchar[]
        return f"{lhs} = ANY(%s::{array_type}[])", (*lhs_params, params)


class AnyIn(_AnyOnPostgres, In):
    pass


class AnyRelatedIn(_AnyOnPostgres, RelatedIn):
    pass


def register_lookups() -> None:
    """Make ``__in`` send its values as one array on PostgreSQL (see ``_AnyOnPostgres``),
    for every field and relation."""
    models.Field.register_lookup(AnyIn)
    models.ForeignObject.register_lookup(AnyRelatedIn)


@contextmanager
def replayable_atomic():
    """``transaction.atomic()`` for work that is done again when its commit is lost: the
    commit does not wait for the disk (PostgreSQL's ``synchronous_commit`` off for this
    transaction only).

    For a transaction whose input stays where it was until the commit says otherwise (a
    stored delivery stays ``received``, a lead stays due for its refresh), a crash that
    loses the commit loses the outcome with it, and the work runs again; a later durable
    commit flushes it anyway. Nested in another transaction it is a plain savepoint, which
    follows the outer transaction's setting.
    """
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield
