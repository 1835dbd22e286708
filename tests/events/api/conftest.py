"""The API clients of ``tests/kartra_mirror/api/conftest.py``, for the events endpoints."""

from tests.kartra_mirror.api.conftest import (  # noqa: F401 - fixtures
    client_anonymous,
    client_no_perm,
    client_reader,
    client_staff,
    reader,
)
