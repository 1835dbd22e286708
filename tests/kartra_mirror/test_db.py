"""kartra_mirror.db: timestamps read through psycopg's compiled loader are the ones Django's
own loader reads: aware, in UTC, equal."""

from datetime import UTC, datetime

import pytest
from django.db import connection

from kartra_mirror.db import UTC_TIMESTAMPTZ_LOADER
from tests import factories as f

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

TIMESTAMPTZ_OID = 1184
SQL = (
    "SELECT date_joined, '1999-12-31 23:59:59.5+05:30'::timestamptz, NULL::timestamptz,"
    " '0001-01-01 00:00:00+00'::timestamptz FROM leads_lead WHERE id = %s"
)


def test_connection_reads_timestamptz_with_the_compiled_loader():
    connection.ensure_connection()
    assert UTC_TIMESTAMPTZ_LOADER is not None  # psycopg[binary] is a dependency
    loader = connection.connection.adapters.get_loader(TIMESTAMPTZ_OID, 0)
    assert loader is UTC_TIMESTAMPTZ_LOADER
    with connection.cursor() as cursor:  # Django keeps it on its cursors
        assert cursor.cursor.adapters.get_loader(TIMESTAMPTZ_OID, 0) is UTC_TIMESTAMPTZ_LOADER


def test_values_equal_djangos_loader():
    from django.db.backends.postgresql.psycopg_any import register_tzloader

    joined = datetime(2021, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
    lead = f.LeadFactory(date_joined=joined)
    with connection.cursor() as cursor:
        cursor.execute(SQL, [lead.pk])
        ours = cursor.fetchone()
        register_tzloader(UTC, cursor.cursor)  # Django's own loader, on this cursor only
        cursor.execute(SQL, [lead.pk])
        djangos = cursor.fetchone()
    assert cursor.cursor.adapters.get_loader(TIMESTAMPTZ_OID, 0) is not UTC_TIMESTAMPTZ_LOADER
    assert ours == djangos
    assert ours[0] == joined
    assert all(value.tzinfo is UTC for value in (ours[0], ours[1], ours[3]))
    assert ours[2] is None
    assert [lead.date_joined for lead in type(lead).objects.filter(pk=lead.pk)] == [joined]
