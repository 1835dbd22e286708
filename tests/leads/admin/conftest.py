"""Fixtures for the admin tests: a fast password hasher, an empty cache, a lead with two rows
in every relation, and one row of every model (built by ``tests/factories/graphs.py``)."""

import pytest

from events.models import DeliveryStatus
from leads.models import Segment
from tests.factories import (
    LeadGraph,
    make_audit_run,
    make_delivery,
    make_erasure,
    make_lead_graph,
    make_sync_run,
)


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    # The superuser fixtures hash a password; the default hasher takes a second each time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def empty_cache():
    # The dashboard keeps past days in the cache; each test starts without them.
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def lead_graph(db) -> LeadGraph:
    return make_lead_graph(2)


@pytest.fixture
def every_model(db) -> LeadGraph:
    """At least one row of every registered model."""
    graph = make_lead_graph(2)
    make_sync_run()
    make_audit_run(graph.lead)
    make_delivery(lead=None, action="", status=DeliveryStatus.REJECTED, body=b"{not json,}")
    Segment.objects.create(name="Tagged", filters=f"tag={graph.tags[0].pk}", shared=True)
    make_erasure()
    return graph
