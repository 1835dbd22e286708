"""The fake and its clients, from ``tests/kartra_mirror/kartra/conftest.py``."""

from tests.kartra_mirror.kartra.conftest import (  # noqa: F401 - fixtures
    account,
    fake,
    kartra_client,
    make_client,
)
