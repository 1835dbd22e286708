"""Schemathesis against the served schema over a seeded database: whatever the schema allows a
client to send, the API answers without a server error and with a body that fits the schema.

Bounded to a few examples per operation so the whole run stays well under a minute.
"""

import os
from collections import Counter

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests import factories as f

from .test_queries import lead_with_relations

pytestmark = pytest.mark.django_db

# Raise it for a deeper local run:
# SCHEMATHESIS_MAX_EXAMPLES=200 pytest tests/kartra_mirror/api -k schemathesis
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "8"))


@pytest.fixture
def wsgi_app(seeded):
    """Django's WSGI handler inside the test transaction: like the test client, it must not
    close the connection at the end of each request."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def seeded(client_staff):
    for _ in range(3):
        lead_with_relations(2)
    f.LeadFactory(kartra_id=None, email="", score=None, date_joined=None)  # pending lead
    f.DeliveryFactory.create_batch(2)
    f.DeliveryFactory(body=None)
    f.SyncRunFactory.create_batch(2)
    f.ChangeFactory.create_batch(2)
    return client_staff


def test_no_server_error_and_every_response_fits_the_schema(seeded, wsgi_app):
    # No Django test client from here on: each of its requests reconnects the signal that
    # the wsgi_app fixture disconnected.
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", wsgi_app)
    headers = {"Authorization": seeded._credentials["HTTP_AUTHORIZATION"]}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 2 * 20  # list and detail of every endpoint
    statuses = Counter()

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            response = case.call_and_validate(
                headers=headers, checks=[not_a_server_error, response_schema_conformance]
            )
            statuses[response.status_code] += 1

        check()

    print(dict(statuses))
    assert statuses[200] > 19  # the checks ran against real pages, not only refusals
