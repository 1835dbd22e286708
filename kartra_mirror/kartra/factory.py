"""Build the Kartra client from Django settings (the client itself never imports Django)."""

from __future__ import annotations

import threading

from django.conf import settings

from .client import KartraClient
from .ratelimit import KartraLimiter, build_limiter

DEFAULT_API_URL = "https://app.kartra.com/api"
DEFAULT_API_RATE = 18
DEFAULT_TIMEOUT = 10.0

_limiters: dict[tuple[int, str | None], KartraLimiter] = {}
_limiters_lock = threading.Lock()


def shared_limiter(rate: int, redis_url: str | None) -> KartraLimiter:
    """One limiter per (rate, Redis URL) per process, so every client here shares it."""
    with _limiters_lock:
        key = (rate, redis_url)
        if key not in _limiters:
            _limiters[key] = build_limiter(rate, redis_url)
        return _limiters[key]


def client_from_settings(**overrides: object) -> KartraClient:
    """A :class:`KartraClient` configured from settings.

    Reads ``KARTRA_API_URL`` (default ``https://app.kartra.com/api``), ``KARTRA_APP_ID``,
    ``KARTRA_API_KEY``, ``KARTRA_API_PASSWORD``, ``KARTRA_API_RATE`` (calls per second, default
    18, under Kartra's 20/s per App), ``KARTRA_API_TIMEOUT`` (seconds, default 10) and
    ``KARTRA_REDIS_URL`` (optional: shares the rate budget between processes). Keyword
    ``overrides`` are passed to the client as they are.
    """
    rate = int(getattr(settings, "KARTRA_API_RATE", DEFAULT_API_RATE) or DEFAULT_API_RATE)
    redis_url = getattr(settings, "KARTRA_REDIS_URL", None) or None
    timeout = float(getattr(settings, "KARTRA_API_TIMEOUT", DEFAULT_TIMEOUT) or DEFAULT_TIMEOUT)
    options: dict = {"timeout": timeout}
    if "limiter" not in overrides:
        options["limiter"] = shared_limiter(rate, redis_url)
    options.update(overrides)
    return KartraClient(
        getattr(settings, "KARTRA_API_URL", DEFAULT_API_URL) or DEFAULT_API_URL,
        getattr(settings, "KARTRA_APP_ID", ""),
        getattr(settings, "KARTRA_API_KEY", ""),
        getattr(settings, "KARTRA_API_PASSWORD", ""),
        **options,
    )
