"""Deployment-wide counters that ``/metrics`` reports (deliveries processed, Kartra API calls,
sync runs, ...).

Every process adds to one Redis hash, so the web processes, Celery workers and management
commands of all machines count together and any web process can report the totals. Without
Redis (the embedded default, where one process does everything) the counts live in this
process's memory. Counting never fails its caller: a Redis that does not answer costs the
counts, not the work.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from functools import cache

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

#: The Redis hash holding every counter; its fields are :func:`field` strings.
REDIS_KEY = "kartra_mirror:counters"

Labels = Mapping[str, str]
Sample = tuple[str, Labels, float]

_local: Counter[str] = Counter()
_local_lock = threading.Lock()


def redis_store() -> redis.Redis | None:
    """The Redis that the processes of one deployment share: ``KARTRA_REDIS_URL``, else the
    Celery broker when it is Redis; None when there is none."""
    url = settings.KARTRA_REDIS_URL
    if not url and settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        url = settings.CELERY_BROKER_URL
    return _connect(url) if url else None


@cache
def _connect(url: str) -> redis.Redis:
    """One client (and connection pool) per URL per process."""
    return redis.Redis.from_url(url, socket_timeout=2)


def field(name: str, labels: Labels | None = None) -> str:
    """``name{a="x",b="y"}``: a counter's key, labels sorted (label values are the
    project's own words; a ``"`` or ``}`` in one is replaced)."""
    if not labels:
        return name
    pairs = ",".join(
        f'{key}="{str(value).replace(chr(34), "_").replace("}", "_")}"'
        for key, value in sorted(labels.items())
    )
    return f"{name}{{{pairs}}}"


def parse_field(key: str) -> tuple[str, dict[str, str]]:
    """The name and labels of a :func:`field` string."""
    name, _, rest = key.partition("{")
    labels = {}
    for pair in filter(None, rest.rstrip("}").split('",')):
        label, _, value = pair.partition('="')
        labels[label] = value.rstrip('"')
    return name, labels


def counters_add(samples: Iterable[Sample]) -> None:
    """Add each ``(name, labels, amount)``, in one round trip to Redis."""
    totals: Counter[str] = Counter()
    for name, labels, amount in samples:
        totals[field(name, labels)] += amount
    if not totals:
        return
    store = redis_store()
    if store is None:
        with _local_lock:
            _local.update(totals)
        return
    try:
        pipe = store.pipeline(transaction=False)
        for key, amount in totals.items():
            pipe.hincrbyfloat(REDIS_KEY, key, amount)
        pipe.execute()
    except redis.RedisError as exc:
        logger.warning("counters not recorded, Redis failed: %s", type(exc).__name__)


def counter_add(name: str, labels: Labels | None = None, amount: float = 1) -> None:
    """Add ``amount`` to one counter."""
    counters_add([(name, labels or {}, amount)])


def counters_read() -> dict[str, float]:
    """Every counter, by :func:`field` key. Raises :class:`redis.RedisError` when Redis
    does not answer."""
    store = redis_store()
    if store is None:
        with _local_lock:
            return dict(_local)
    return {key.decode(): float(value) for key, value in store.hgetall(REDIS_KEY).items()}


def counters_reset() -> None:
    """Forget every counter (tests)."""
    with _local_lock:
        _local.clear()
    store = redis_store()
    if store is not None:
        store.delete(REDIS_KEY)
