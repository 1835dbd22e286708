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
R=20 against the fake's 20/s drew a few 429s every run, and 25 ms the odd one on a loaded
machine; 50 ms costs under 5% of the rate.) :meth:`KartraLimiter.acquire` sleeps
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

Pacing: the log alone grants in bursts. Under sustained load every place frees when the call R
places earlier leaves the window, so R calls are granted at once every ``WINDOW_MS``; they reach
Kartra spread over tens of milliseconds (threads, the GIL, a server answering one at a time),
and a call of one burst that arrives late and its match in the next burst that arrives early are
less than Kartra's second apart: 429 (about 1 in 300 calls on a loaded machine). So a grant must
also pass a GCRA (a theoretical arrival time, TAT, per log): grants go ``WINDOW_MS / R`` apart on
a schedule, and a call may run up to ``PACING_BURST - 1`` intervals ahead of it. The schedule
advances from the TAT, not from when the call came, so a late wake-up is caught up and costs no
throughput; after a pause up to ``PACING_BURST`` calls go at once. The GCRA only spreads calls;
the log still bounds them (a GCRA with a tolerance lets more than R into a window).

The library cannot combine the two: a bucket has one algorithm (a log, or a constant state such
as GCRA), the ``Limiter`` routes a call to one bucket, and two limiters in a row are not one
atomic step (a call would take its GCRA slot, then wait on the log, and go late and bunched).
Its GCRA script also stamps with the client's clock. So ``_ADMIT`` checks both, on the Redis
server's clock, and :class:`LocalBucket` checks both under the in-memory bucket's lock.
"""

from __future__ import annotations

import math
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
MARGIN_MS = 50
WINDOW_MS = Duration.SECOND.value + MARGIN_MS
#: Random milliseconds added to each wait.
WAKE_JITTER_MS = 5
#: Calls the pacing lets go at once: after a pause, or to catch up with its schedule.
PACING_BURST = 3


def pacing(rate: Rate) -> tuple[int, int]:
    """GCRA's emission interval and tolerance for ``rate``, in whole microseconds.

    The interval is rounded up (never faster than ``rate``)."""
    emission = math.ceil(rate.interval * 1000 / rate.limit)
    return emission, (PACING_BURST - 1) * emission


# KEYS[1]: the sorted set of grants, scored in milliseconds of the Redis server's clock; KEYS[2]:
# the pacing's TAT, in microseconds of that clock. ARGV: limit, window in milliseconds, a unique
# member, emission interval and tolerance in microseconds. Returns {1, now} when the call is
# granted, else {0, milliseconds to wait}: until the schedule allows it, or until the grant that
# frees a place leaves the window. Both are checked before either is written.
# A grant at s counts while now <= s + window (the library's inclusive bound): stamps are whole
# milliseconds, so this keeps grants more than a window apart in real time. Everything logged
# after the window's start counts, later stamps too (should the server's clock step back).
# TIME inside a script needs Redis 5 or later (scripts replicate their effects by default).
_ADMIT = """
local key, tat_key = KEYS[1], KEYS[2]
local limit, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local emission, tolerance = tonumber(ARGV[4]), tonumber(ARGV[5])
local time = redis.call('TIME')
local now_us = tonumber(time[1]) * 1000000 + tonumber(time[2])
local now = math.floor(now_us / 1000)
local tat = tonumber(redis.call('GET', tat_key) or '0')
if tat < now_us then
    tat = now_us
end
if tat - now_us > tolerance then
    return {0, math.ceil((tat - tolerance - now_us) / 1000)}
end
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window - 1)
local count = redis.call('ZCARD', key)
if count >= limit then
    local freeing = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
    return {0, tonumber(freeing[2]) + window + 1 - now}
end
redis.call('ZADD', key, now, ARGV[3])
redis.call('PEXPIRE', key, 2 * window)
redis.call('SET', tat_key, string.format('%.0f', tat + emission), 'PX', 2 * window)
return {1, now}
"""


class _JitteredWait:
    """Adds up to ``WAKE_JITTER_MS`` to a bucket's wait (never to "no wait" or "never")."""

    def waiting(self, item: RateItem) -> int:
        wait = super().waiting(item)  # type: ignore[misc]
        return wait + random.randint(0, WAKE_JITTER_MS) if wait > 0 else wait


class LocalBucket(_JitteredWait, InMemoryBucket):
    """pyrate-limiter's in-memory sliding-window log (one process, its threads), paced.

    The pacing is ``_ADMIT``'s, on the bucket's clock (the limiter stamps calls with it)."""

    def __init__(self, rates: list[Rate]) -> None:
        super().__init__(rates)
        self._emission_us, self._tolerance_us = pacing(rates[0])
        self._tat_us = 0

    def put(self, item: RateItem) -> bool:
        """Grant ``item`` if the pacing's schedule and the log both allow it."""
        with self._lock:
            now_us = item.timestamp * 1000
            tat = max(self._tat_us, now_us)
            if tat - now_us > self._tolerance_us:
                wait = math.ceil((tat - self._tolerance_us - now_us) / 1000)
                return self._record(item, Decision(failing_rate=self.rates[0], retry_after_ms=wait))
            if not super().put(item):
                return False
            self._tat_us = tat + self._emission_us
            return True

    def flush(self) -> None:
        with self._lock:
            super().flush()
            self._tat_us = 0


class SharedRedisBucket(_JitteredWait, RedisBucket):
    """pyrate-limiter's Redis bucket, checked by ``_ADMIT`` on the Redis server's clock.

    The library's sorted set, ``count`` and ``peek`` stay as they are; the pacing's TAT is a
    key beside it. ``_ADMIT`` trims old grants itself, so the library's background leak is not
    needed (it would trim with this host's clock). redis-py reloads the script when Redis has
    lost it.
    """

    def __init__(self, rate: Rate, redis: Redis, bucket_key: str) -> None:
        super().__init__([rate], redis, bucket_key, script_hash="")
        self._admit = redis.register_script(_ADMIT)
        self.tat_key = f"{bucket_key}:tat"
        self._pacing = pacing(rate)

    def flush(self) -> None:
        super().flush()
        self.redis.delete(self.tat_key)

    def put(self, item: RateItem) -> bool:
        """Check and log one call atomically; ``item.timestamp`` plays no part."""
        rate = self.rates[0]
        granted, value = self._admit(
            keys=[self.bucket_key, self.tat_key],
            args=[rate.limit, rate.interval, f"{item.name}:{id_generator()}", *self._pacing],
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
