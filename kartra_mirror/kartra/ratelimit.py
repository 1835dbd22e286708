"""Keep every process of one deployment under N calls per second to Kartra.

Kartra allows 20 calls per second per App and answers HTTP 429 beyond (``kartra-facts.md``,
"Rate limit"). Every worker, beat task and management command that calls Kartra must draw from
one shared budget, so with a Redis URL the bucket lives in Redis; without one it lives in
memory (one process only). Built on pyrate-limiter 3.x.
"""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING

from pyrate_limiter import (
    AbstractBucket,
    AbstractClock,
    Duration,
    InMemoryBucket,
    Limiter,
    Rate,
    RateItem,
    TimeClock,
)
from pyrate_limiter.buckets.redis_bucket import RedisBucket

if TYPE_CHECKING:
    from redis import Redis

#: Key prefix of the Redis sorted set holding recent calls.
REDIS_KEY_PREFIX = "kartra_mirror:ratelimit:"

# pyrate-limiter's own script counts calls in [now - interval, now]; a call stamped a few
# milliseconds later by another process would be missed. Counting up to +inf closes that race.
_PUT_ITEM = """
local bucket = KEYS[1]
local now = tonumber(ARGV[1])
local space_required = tonumber(ARGV[2])
local item_name = ARGV[3]
local rates_count = tonumber(ARGV[4])

for i=1,rates_count do
    local offset = (i - 1) * 2
    local interval = tonumber(ARGV[5 + offset])
    local limit = tonumber(ARGV[5 + offset + 1])
    local count = redis.call('ZCOUNT', bucket, now - interval, '+inf')
    if limit - tonumber(count) < space_required then
        return i - 1
    end
end

for i=1,space_required do
    redis.call('ZADD', bucket, now, item_name..i)
end
redis.call('PEXPIRE', bucket, tonumber(ARGV[5]) * 2)
return -1
"""


class SharedRedisBucket(RedisBucket):
    """A :class:`RedisBucket` whose check-and-insert also counts calls stamped in the future,
    and whose key expires when idle."""

    @classmethod
    def create(cls, rates: list[Rate], redis: Redis, bucket_key: str) -> SharedRedisBucket:
        """Load the Lua script and build the bucket."""
        return cls(rates, redis, bucket_key, redis.script_load(_PUT_ITEM))

    def put(self, item: RateItem) -> bool:
        """Check and insert atomically; reload the script if Redis lost it (restart, flush)."""
        from redis.exceptions import NoScriptError

        try:
            return bool(super().put(item))
        except NoScriptError:
            self.script_hash = self.redis.script_load(_PUT_ITEM)
            return bool(super().put(item))


class RedisClock(AbstractClock):
    """Milliseconds from the Redis server's clock, so hosts with skewed clocks still agree."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    def now(self) -> int:
        seconds, micros = self.redis.time()
        return int(seconds) * 1000 + int(micros) // 1000


class KartraLimiter:
    """Blocking limiter: :meth:`acquire` waits until a call fits, it never fails.

    pyrate-limiter's own waiting re-inserts a delayed call at its *planned* time, which drifts
    behind the real time when a process oversleeps; here every try is stamped afresh, and the
    wait is read from the bucket (when the oldest call in the window leaves it).
    """

    def __init__(
        self,
        limiter: Limiter,
        bucket: AbstractBucket,
        clock: AbstractClock,
        rate: Rate,
        name: str,
        *,
        redis: Redis | None = None,
    ) -> None:
        self._limiter = limiter
        self._bucket = bucket
        self._clock = clock
        self.rate = rate
        self.name = name
        self.redis = redis

    def acquire(self) -> None:
        """Block until one more call fits in the budget, then count it."""
        while not self._limiter.try_acquire(self.name):
            time.sleep(self._wait_seconds())

    def _wait_seconds(self) -> float:
        # The call `limit` places back is the one whose leaving frees a slot.
        oldest = self._bucket.peek(self.rate.limit - 1)
        if oldest is None:
            return 0.001
        wait_ms = oldest.timestamp + self.rate.interval + 1 - int(self._clock.now())
        # Jitter keeps processes that wait for the same slot from waking in step.
        return max(wait_ms, 1) / 1000 + random.uniform(0, 0.005)

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
    """Build a blocking limiter for ``rate_per_second`` calls per rolling second.

    ``redis_url=None`` gives an in-memory bucket (this process only). With a Redis URL every
    process that uses the same ``name`` and ``key_prefix`` shares one bucket and the Redis
    server's clock.
    """
    if rate_per_second < 1:
        raise ValueError("rate_per_second must be at least 1")
    rates = [Rate(rate_per_second, Duration.SECOND)]
    redis_client = None
    clock: AbstractClock
    if redis_url:
        from redis import Redis

        redis_client = Redis.from_url(redis_url)
        bucket = SharedRedisBucket.create(rates, redis_client, f"{key_prefix}{name}")
        clock = RedisClock(redis_client)
    else:
        bucket = InMemoryBucket(rates)
        clock = TimeClock()
    # No max_delay: try_acquire answers at once and KartraLimiter.acquire does the waiting.
    limiter = Limiter(bucket, clock=clock, raise_when_fail=False)
    return KartraLimiter(limiter, bucket, clock, rates[0], name, redis=redis_client)
