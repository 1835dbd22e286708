"""Fixtures for sync tests: a running fake Kartra over real HTTP on loopback, settings that
point the mirror's client at it, and a webhook poster."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kartra_fake import FakeAccount, FakeKartra, generate_account
from kartra_mirror.kartra import KartraClient
from leads.services.sync import sync_client
from tests.conftest import FAKE_ANCHOR

TOKEN = "sync-test-token-0123456789"
CREDENTIALS = {"app_id": "sync-app", "api_key": "sync-key-4411", "api_password": "sync-pw-9920"}
#: Fast retries for tests; the fake's limit and the client's rate are set per fixture.
FAST = {"backoff_base": 0.001, "backoff_max": 0.01, "min_429_wait": 0.05, "max_tries": 4}


@pytest.fixture
def account() -> FakeAccount:
    """A small generated account; every relation kind occurs."""
    return generate_account(12, seed=3, anchor=FAKE_ANCHOR)


@pytest.fixture
def fake(account: FakeAccount) -> Iterator[FakeKartra]:
    with FakeKartra(account, rate_limit=20, **CREDENTIALS) as running:
        yield running


@pytest.fixture
def kartra_settings(settings, fake: FakeKartra):
    """Point the mirror at the fake; deliveries processed inline; one webhook token."""
    settings.KARTRA_API_URL = fake.base_url
    settings.KARTRA_APP_ID = CREDENTIALS["app_id"]
    settings.KARTRA_API_KEY = CREDENTIALS["api_key"]
    settings.KARTRA_API_PASSWORD = CREDENTIALS["api_password"]
    settings.KARTRA_API_RATE = 18  # the fake enforces Kartra's 20/s
    settings.KARTRA_API_TIMEOUT = 5.0
    settings.KARTRA_REDIS_URL = ""
    settings.KARTRA_WEBHOOK_TOKENS = [TOKEN]
    settings.KARTRA_PROCESS_INLINE = True
    settings.SECURE_SSL_REDIRECT = False  # the live server speaks plain HTTP
    return settings


@pytest.fixture
def kartra(kartra_settings) -> Iterator[KartraClient]:
    """The client the sync services build from settings, with fast retries."""
    with sync_client(**FAST) as client:
        yield client


@pytest.fixture
def fast_client(monkeypatch, kartra_settings):
    """Every client the services, commands and tasks build retries fast."""
    import leads.services.sync as sync

    real = sync.sync_client

    def fast(**overrides):
        return real(**{**FAST, **overrides})

    monkeypatch.setattr(sync, "sync_client", fast)
    for module in (
        "events.sync.refresh",
        "events.management.commands.kartra_sync",
        "events.management.commands.kartra_audit",
        "events.tasks",
    ):
        monkeypatch.setattr(f"{module}.sync_client", fast)
    return fast


@pytest.fixture
def deliver(client, kartra_settings):
    """POST a webhook body through the real endpoint (Django test client) as raw JSON."""
    import json

    def post(body: dict):
        response = client.post(
            f"/webhooks/kartra/{TOKEN}/", data=json.dumps(body).encode(),
            content_type="application/json",
        )  # fmt: skip
        assert response.status_code == 200, response.content
        return response

    return post


@pytest.fixture
def plain_http_server(live_server):
    """The live server without the HTTPS redirect that ``DEBUG=False`` settings turn on
    (SecurityMiddleware reads it once, when the server's handler loads its middleware)."""
    from django.test import override_settings

    handlers = [live_server.thread.httpd.get_app()]
    while hasattr(handlers[-1], "application"):  # the static and media file handlers
        handlers.append(handlers[-1].application)  # wrap it, each with its own middleware
    with override_settings(SECURE_SSL_REDIRECT=False):
        for handler in handlers:
            handler.load_middleware()
        yield live_server
    for handler in handlers:
        handler.load_middleware()
