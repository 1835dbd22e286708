"""Database connection setup and transaction helpers shared by every process of the mirror."""

from contextlib import contextmanager
from datetime import UTC

from django.db import connection, transaction
from django.db.backends.signals import connection_created

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
