"""Suite-wide fixtures and the rules for tests that need PostgreSQL or Redis.

A test marked ``postgres`` runs only when the database is PostgreSQL; one marked ``redis``
only when Redis answers. Locally such a test is skipped with its reason; with ``CI=true``
a missing service fails the run instead (``.ci/run`` checks the services first too).
"""

import os
import socket
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

#: The present of every fake account the tests generate (``generate_account(anchor=)``),
#: so that its dates are the same on every run. Its last week, which play() fills, holds the
#: autumn DST change (3 Nov 2024), whose repeated hour Kartra's wall-clock dates cannot name.
FAKE_ANCHOR = datetime(2024, 11, 8, 10, 30, tzinfo=ZoneInfo("America/New_York"))


def free_port() -> int:
    """A loopback TCP port nothing listens on now, for a server a test starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_url() -> str:
    return settings.KARTRA_REDIS_URL or "redis://127.0.0.1:6379/15"


def _redis_reachable() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(redis_url(), socket_timeout=0.5).ping())
    except redis.RedisError:
        return False


def pytest_collection_modifyitems(config, items):
    is_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    needs_redis = any(item.get_closest_marker("redis") for item in items)
    redis_ok = _redis_reachable() if needs_redis else True
    if needs_redis and not redis_ok and IN_CI:
        raise pytest.UsageError(f"CI=true but Redis is unreachable at {redis_url()}")
    for item in items:
        if item.get_closest_marker("postgres") and not is_postgres:
            item.add_marker(
                pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://...")
            )
        if item.get_closest_marker("redis") and not redis_ok:
            item.add_marker(pytest.mark.skip(reason=f"needs Redis at {redis_url()}"))


@pytest.fixture(autouse=True)
def _plain_http_test_client(settings):
    """Tests talk plain HTTP to the test client and live server; production redirects to
    HTTPS unless DJANGO_SECURE_SSL_REDIRECT says otherwise."""
    settings.SECURE_SSL_REDIRECT = False


@pytest.fixture(autouse=True)
def _static_files_uncollected(settings):
    """Pages render their static URLs without a ``collectstatic`` manifest, as in debug;
    tests/kartra_mirror/test_production.py covers the hashed files of production."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _deliveries_processed_in_the_request(settings):
    """Tests see a delivery's outcome in its response; the tests of the background
    processing (tests/events/deliveries/test_drain.py) turn this off, and they drain at once."""
    settings.KARTRA_PROCESS_INLINE = True
    settings.KARTRA_DRAIN_LINGER = 0
