"""The fake's 20 calls/s per App, and limiters that keep us under it, across processes too."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from kartra_mirror.kartra.errors import RateLimited
from kartra_mirror.kartra.fake import FakeKartra
from kartra_mirror.kartra.ratelimit import KartraLimiter, build_limiter

from .conftest import CREDENTIALS

REPO = Path(__file__).resolve().parents[2]


def max_in_window(stamps: list[float], window: float = 1.0) -> int:
    """Most events inside any half-open window of ``window`` seconds."""
    stamps = sorted(stamps)
    best, start = 0, 0
    for end, stamp in enumerate(stamps):
        while stamp - stamps[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def test_fake_enforces_20_calls_per_rolling_second(fake: FakeKartra, make_client) -> None:
    client = make_client(max_tries=1)
    outcomes = []
    for _ in range(25):
        try:
            client.retrieve_account_tags()
            outcomes.append("ok")
        except RateLimited:
            outcomes.append("429")
    assert outcomes.count("ok") == 20 and outcomes[20:] == ["429"] * 5
    assert fake.throttled == 5
    assert [r.status for r in fake.requests[20:]] == [429] * 5
    time.sleep(1.05)  # the window rolls on
    assert client.retrieve_account_tags()


def test_fake_limit_is_per_app_id(fake: FakeKartra, make_client) -> None:
    fake.rate_limit = 3
    ours, other = make_client(max_tries=1), make_client(max_tries=1, app_id="another-app")
    for _ in range(3):
        ours.retrieve_account_tags()
    with pytest.raises(RateLimited):
        ours.retrieve_account_tags()
    with pytest.raises(Exception) as refused:  # another App has its own budget (then 239)
        other.retrieve_account_tags()
    assert getattr(refused.value, "type_code", None) == "239"


def _acquire_times(limiter: KartraLimiter, n: int) -> list[float]:
    stamps = []
    for _ in range(n):
        limiter.acquire()
        stamps.append(time.monotonic())
    return stamps


def test_in_memory_limiter_blocks_and_keeps_client_under_fake_limit(
    fake: FakeKartra, make_client
) -> None:
    limiter = build_limiter(15, None)
    client = make_client(max_tries=1, limiter=limiter)
    started = time.monotonic()
    for _ in range(25):
        client.retrieve_account_tags()  # max_tries=1: a 429 would raise
    assert time.monotonic() - started >= 0.9  # 10 calls waited for the window to roll
    assert fake.throttled == 0
    assert max_in_window(_acquire_times(limiter, 5)) <= 15


@pytest.mark.redis
def test_redis_limiter_shares_one_bucket(redis_url: str, limiter_name: str) -> None:
    first = build_limiter(10, redis_url, name=limiter_name)
    second = build_limiter(10, redis_url, name=limiter_name)
    stamps = []
    for _ in range(8):
        first.acquire()
        stamps.append(time.monotonic())
        second.acquire()
        stamps.append(time.monotonic())
    # Stamps are taken after acquire() returns, so allow a little measuring slack.
    assert max_in_window(stamps, window=0.9) <= 10
    assert stamps[-1] - stamps[0] >= 0.9  # 16 calls at 10/s: the 11th waited for the window


CHILD = textwrap.dedent(
    """
    import json, sys, time
    from kartra_mirror.kartra.client import KartraClient
    from kartra_mirror.kartra.errors import KartraError
    from kartra_mirror.kartra.ratelimit import build_limiter

    base_url, redis_url, name, calls, app_id, api_key, api_password = sys.argv[1:]
    limiter = build_limiter(15, redis_url, name=name)
    client = KartraClient(base_url, app_id, api_key, api_password, timeout=5, max_tries=1,
                          limiter=limiter)
    errors = 0
    for _ in range(int(calls)):
        try:
            client.retrieve_account_tags()
        except KartraError:
            errors += 1
    print(json.dumps({"errors": errors, **client.stats.as_dict()}))
    """
)


@pytest.mark.redis
def test_two_processes_share_a_redis_limiter(
    fake: FakeKartra, redis_url: str, limiter_name: str
) -> None:
    args = [fake.base_url, redis_url, limiter_name, "30", *CREDENTIALS.values()]
    started = time.monotonic()
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, *args], cwd=REPO, stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    results = []
    for child in children:
        out, _ = child.communicate(timeout=60)
        assert child.returncode == 0
        results.append(json.loads(out))
    elapsed = time.monotonic() - started
    assert [r["errors"] for r in results] == [0, 0]
    assert sum(r["calls"] for r in results) == 60
    assert fake.calls["retrieve_account_tags"] == 60
    assert fake.throttled == 0
    assert elapsed >= 2.9  # 60 calls at 15/s: the limiter really held them back


@pytest.mark.redis
def test_redis_limiter_reloads_a_lost_script(redis_url: str, limiter_name: str) -> None:
    limiter = build_limiter(5, redis_url, name=limiter_name)
    limiter.acquire()
    assert limiter.redis is not None
    # As after a Redis restart; SCRIPT FLUSH itself would disturb others sharing this Redis.
    limiter._bucket.script_hash = "0" * 40
    limiter.acquire()
    assert limiter.redis.zcard(f"kartra_mirror:ratelimit:{limiter_name}") == 2
