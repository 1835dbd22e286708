"""The admin fixtures of ``tests/leads/admin/conftest.py``, for the events admin."""

from tests.leads.admin.conftest import (  # noqa: F401 - fixtures
    empty_cache,
    every_model,
    fast_password_hasher,
    lead_graph,
)
