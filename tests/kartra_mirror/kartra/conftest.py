"""Fixtures for the Kartra client, limiter and fake: no Django, no database."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest

from kartra_fake import FakeAccount, FakeKartra, generate_account
from kartra_mirror.kartra.client import KartraClient
from tests.conftest import FAKE_ANCHOR

# Distinctive values so a leak is easy to spot in messages and logs.
CREDENTIALS = {
    "app_id": "test-APP-id-5417",
    "api_key": "test-KEY-sekret-8812",
    "api_password": "test-PW-sekret-7731",
}
REDIS_URL = os.environ.get("KARTRA_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def account() -> FakeAccount:
    """A small generated account (every relation kind occurs)."""
    return generate_account(12, seed=3, anchor=FAKE_ANCHOR)


@pytest.fixture
def fake(account: FakeAccount) -> Iterator[FakeKartra]:
    """A running fake holding ``account``, with the test credentials."""
    with FakeKartra(account, timeout_sleep=0.5, **CREDENTIALS) as running:
        yield running


@pytest.fixture
def make_client(fake: FakeKartra) -> Iterator[Callable[..., KartraClient]]:
    """Build clients against the fake with fast retries; keyword arguments override."""
    clients: list[KartraClient] = []

    def build(**overrides) -> KartraClient:
        options = {
            **CREDENTIALS,
            "timeout": 0.2,
            "max_tries": 3,
            "backoff_base": 0.001,
            "backoff_max": 0.01,
            "min_429_wait": 0.01,
        }
        options.update(overrides)
        base_url = options.pop("base_url", fake.base_url)
        client = KartraClient(
            base_url,
            options.pop("app_id"),
            options.pop("api_key"),
            options.pop("api_password"),
            **options,
        )
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()


@pytest.fixture
def kartra_client(make_client: Callable[..., KartraClient]) -> KartraClient:
    """A fast-retrying client with the right credentials."""
    return make_client()


@pytest.fixture
def redis_url() -> str:
    """A reachable Redis URL; skip when there is none (fail when CI=true)."""
    from redis import Redis

    try:
        Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping()
    except Exception as exc:  # any connection problem means "no Redis here"
        reason = f"Redis not reachable at {REDIS_URL} ({type(exc).__name__}: {exc})"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason + "; CI=true requires Redis")
        pytest.skip(reason)
    return REDIS_URL


@pytest.fixture
def limiter_name(redis_url: str) -> Iterator[str]:
    """A unique limiter name; its Redis key is deleted afterwards."""
    from redis import Redis

    from kartra_mirror.kartra.ratelimit import REDIS_KEY_PREFIX

    name = f"test-{uuid.uuid4().hex}"
    yield name
    Redis.from_url(redis_url).delete(f"{REDIS_KEY_PREFIX}{name}")
