"""Keep every process of one deployment under N calls per rolling second to Kartra.

Kartra allows 20 calls per second per App, counted over a rolling second, and answers HTTP 429
beyond (``kartra-facts.md``, "Rate limit"). Every worker, beat task and management command that
calls Kartra draws from one budget. With a Redis URL the budget is a log of granted calls in one
Redis sorted set, stamped by the Redis server's clock (hosts' clocks may disagree); without one
it is a log in memory, shared by the threads of one process.

The promise: with rate R, no window of ``WINDOW_MS`` holds more than R grants, whichever process
or thread asked. ``WINDOW_MS`` is Kartra's second plus ``MARGIN_MS``, because we count a call when
we grant it and Kartra when it arrives: a call that reaches Kartra a few milliseconds after its
grant must still arrive a full second before the call granted a window after it. (Measured here:
grants reach their callers within 20 ms with 8 processes on 2 cores; with no margin, 4 threads at
R=20 against the fake's 20/s drew a few 429s every run.) :meth:`KartraLimiter.acquire` sleeps
until the grant that frees a place leaves the window, plus up to ``WAKE_JITTER_MS`` so that
processes waiting for the same place do not all wake at once; it never polls.

Built on pyrate-limiter 4: its sliding-window log (``InMemoryBucket``, on a monotonic clock),
its ``RedisBucket`` and its ``Limiter``'s blocking wait, which from 4.6 re-reads the clock for a
call that waited, so an oversleeping thread is logged when it really went.

Why one Lua script of our own (``_ADMIT``) replaces the check of the library's ``RedisBucket``:
that check cannot keep the promise across processes. The library stamps a call with a time the
client read *before* its script runs, and counts only the calls stamped up to that time. Two
processes can run their scripts in the other order than their stamps; the second then misses the
first one's newer call, and one call too many passes (pyrate-limiter 3 had the same check, and
``test_redis_grants_go_by_the_servers_clock`` fails on the library's bucket). No bucket of the
library reads the clock inside its atomic step; ``_ADMIT`` reads Redis's ``TIME`` there, so
stamps follow the order of grants, on one clock for every host. The library's GCRA store is
atomic, but keeps a rolling second under R only with ``burst=1``: calls then go 1/R apart and
every late wake-up costs throughput (a larger burst lets up to 2R - 1 calls into one second).
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from pyrate_limiter import (
    Duration,
    InMemoryBucket,
    Limiter,
    Rate,
    RateItem,
    RedisBucket,
    SingleBucketFactory,
    id_generator,
)
from pyrate_limiter.abstracts.algorithm import ADMITTED, Decision

if TYPE_CHECKING:
    from redis import Redis

#: Key prefix of the Redis sorted set holding recent grants.
REDIS_KEY_PREFIX = "kartra_mirror:ratelimit:"
#: Added to Kartra's one-second window; see the module docstring.
MARGIN_MS = 25
WINDOW_MS = Duration.SECOND.value + MARGIN_MS
#: Random milliseconds added to each wait.
WAKE_JITTER_MS = 5

# KEYS[1]: the sorted set of grants, scored in milliseconds of the Redis server's clock.
# ARGV: limit, window in milliseconds, a unique member. Returns {1, now} when the call is
# granted, else {0, milliseconds until the grant that frees a place leaves the window}.
# A grant at s counts while now <= s + window (the library's inclusive bound): stamps are whole
# milliseconds, so this keeps grants more than a window apart in real time. Everything logged
# after the window's start counts, later stamps too (should the server's clock step back).
# TIME inside a script needs Redis 5 or later (scripts replicate their effects by default).
_ADMIT = """
local key, limit, window = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window - 1)
local count = redis.call('ZCARD', key)
if count >= limit then
    local freeing = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
    return {0, tonumber(freeing[2]) + window + 1 - now}
end
redis.call('ZADD', key, now, ARGV[3])
redis.call('PEXPIRE', key, 2 * window)
return {1, now}
"""


class _JitteredWait:
    """Adds up to ``WAKE_JITTER_MS`` to a bucket's wait (never to "no wait" or "never")."""

    def waiting(self, item: RateItem) -> int:
        wait = super().waiting(item)  # type: ignore[misc]
        return wait + random.randint(0, WAKE_JITTER_MS) if wait > 0 else wait


class LocalBucket(_JitteredWait, InMemoryBucket):
    """pyrate-limiter's in-memory sliding-window log (one process, its threads)."""


class SharedRedisBucket(_JitteredWait, RedisBucket):
    """pyrate-limiter's Redis bucket, checked by ``_ADMIT`` on the Redis server's clock.

    The library's sorted set, ``flush``, ``count`` and ``peek`` stay as they are. ``_ADMIT``
    trims old grants itself, so the library's background leak is not needed (it would trim
    with this host's clock). redis-py reloads the script when Redis has lost it.
    """

    def __init__(self, rate: Rate, redis: Redis, bucket_key: str) -> None:
        super().__init__([rate], redis, bucket_key, script_hash="")
        self._admit = redis.register_script(_ADMIT)

    def put(self, item: RateItem) -> bool:
        """Check and log one call atomically; ``item.timestamp`` plays no part."""
        rate = self.rates[0]
        granted, value = self._admit(
            keys=[self.bucket_key],
            args=[rate.limit, rate.interval, f"{item.name}:{id_generator()}"],
        )
        decision = ADMITTED if granted else Decision(failing_rate=rate, retry_after_ms=int(value))
        return self._record(item, decision)


class KartraLimiter:
    """Blocking limiter: :meth:`acquire` waits until a call fits, it never fails."""

    def __init__(
        self, bucket: LocalBucket | SharedRedisBucket, name: str, *, redis: Redis | None = None
    ) -> None:
        self._bucket = bucket
        self.rate = bucket.rates[0]
        self.name = name
        self.redis = redis
        # buffer_ms=0: the bucket's wait is exact and already jittered.
        factory = SingleBucketFactory(bucket, schedule_leak=redis is None)
        self._limiter = Limiter(factory, buffer_ms=0)

    def acquire(self) -> None:
        """Block until one more call fits in the budget, then count it."""
        # Sleeps with the limiter's lock released; False only for a weight that never fits.
        if not self._limiter.try_acquire(self.name):
            raise RuntimeError(f"rate limiter {self.name!r} refused a single call")

    def reset(self) -> None:
        """Forget recorded calls (tests and maintenance)."""
        self._bucket.flush()


def build_limiter(
    rate_per_second: int,
    redis_url: str | None,
    name: str = "kartra-api",
    *,
    key_prefix: str = REDIS_KEY_PREFIX,
) -> KartraLimiter:
    """Build a blocking limiter for ``rate_per_second`` calls per ``WINDOW_MS``.

    ``redis_url=None`` gives an in-memory log (this process only). With a Redis URL every
    process that uses the same ``name`` and ``key_prefix`` shares one log and the Redis
    server's clock.
    """
    if rate_per_second < 1:
        raise ValueError("rate_per_second must be at least 1")
    rate = Rate(rate_per_second, WINDOW_MS)
    if not redis_url:
        return KartraLimiter(LocalBucket([rate]), name)
    from redis import Redis

    redis = Redis.from_url(redis_url)
    return KartraLimiter(SharedRedisBucket(rate, redis, f"{key_prefix}{name}"), name, redis=redis)
