"""The one place that talks HTTP to Kartra's inbound API.

Wire format (``kartra-facts.md``, "Inbound API"): ``POST <base_url>`` with a form body in PHP
bracket encoding; credentials travel as the body fields ``app_id``, ``api_key`` and
``api_password``. Every Kartra answer is HTTP 200 JSON, errors included, except the rate limit
(HTTP 429, body of unknown shape). This module imports nothing from Django.
"""

from __future__ import annotations

import functools
import logging
import random
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Protocol
from urllib.parse import urlencode

import certifi
import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_exponential_jitter

from .errors import (
    KartraError,
    KartraUnavailable,
    RateLimited,
    UnexpectedAnswer,
    error_for_type,
    redact,
)
from .phpform import php_form_encode

__all__ = ["ClientStats", "KartraClient", "Limiter", "php_form_encode"]

logger = logging.getLogger(__name__)

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
# Statuses worth another try besides 429: gateway/server trouble and request timeouts.
_RETRY_STATUSES = frozenset({408, 500, 502, 503, 504, 520, 521, 522, 523, 524})
# A Retry-After header (undocumented for Kartra) is honoured up to this many seconds.
_MAX_RETRY_AFTER = 60.0


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context per process: building one per client costs ~70 ms."""
    return ssl.create_default_context(cafile=certifi.where())


def _seconds(header: str | None) -> float | None:
    """A ``Retry-After`` header given in seconds, else None (HTTP dates are ignored)."""
    try:
        return max(float(header), 0.0) if header else None
    except ValueError:
        return None


class Limiter(Protocol):
    """Anything with a blocking ``acquire()``; see :func:`ratelimit.build_limiter`."""

    def acquire(self) -> None: ...


@dataclass
class ClientStats:
    """Counters kept by one client, for a sync run to record.

    ``calls``: HTTP requests sent (every try counts); ``throttled``: HTTP 429 answers;
    ``retries``: tries after a failed one; ``errors``: public calls that ended in an error.
    """

    calls: int = 0
    throttled: int = 0
    retries: int = 0
    errors: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counters as a plain dict."""
        return asdict(self)


@dataclass(frozen=True, repr=False)
class _Credentials:
    """The three body fields Kartra authenticates with; never shown in reprs or tracebacks."""

    app_id: str
    api_key: str
    api_password: str

    def __repr__(self) -> str:
        return "<Kartra credentials ***>"

    def pairs(self) -> list[tuple[str, str]]:
        return [
            ("app_id", self.app_id),
            ("api_key", self.api_key),
            ("api_password", self.api_password),
        ]

    def secrets(self) -> tuple[str, str, str]:
        return (self.app_id, self.api_key, self.api_password)


class _Unreadable(UnexpectedAnswer):
    """A body that is not JSON: retried, then surfaced as :class:`UnexpectedAnswer`."""

    transient = True


class KartraClient:
    """Synchronous client for Kartra's inbound API.

    ``max_tries`` bounds the attempts per call (first try included). Waits between tries grow
    exponentially from ``backoff_base`` seconds (with jitter, capped at ``backoff_max``); after
    an HTTP 429 the wait is at least ``min_429_wait`` seconds, Kartra's documented remedy.
    ``limiter`` (optional) is acquired before every HTTP request, retries included.
    """

    def __init__(
        self,
        base_url: str,
        app_id: str,
        api_key: str,
        api_password: str,
        *,
        timeout: float = 10.0,
        max_tries: int = 5,
        limiter: Limiter | None = None,
        transport: httpx.BaseTransport | None = None,
        backoff_base: float = 1.0,
        backoff_max: float = 30.0,
        min_429_wait: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_tries < 1:
            raise ValueError("max_tries must be at least 1")
        self.base_url = base_url
        self._credentials = _Credentials(app_id, api_key, api_password)
        self.max_tries = max_tries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.min_429_wait = min_429_wait
        self.limiter = limiter
        self.stats = ClientStats()
        self._stats_lock = threading.Lock()
        self._sleep = sleep
        self._http = httpx.Client(timeout=timeout, transport=transport, verify=_tls_context())

    def __repr__(self) -> str:
        return f"KartraClient(base_url={self.base_url!r}, credentials=***)"

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the underlying HTTP connection pool."""
        self._http.close()

    def __enter__(self) -> KartraClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- public calls ------------------------------------------------------------------------

    def get_lead(self, *, email: str | None = None, lead_id: int | str | None = None) -> dict:
        """Return the raw ``lead_details`` dict of one lead, found by id or email.

        Kartra prefers the id when both are given (002 doc, "basic notes" 2). Raises
        :class:`LeadNotFound` (234/243), :class:`LeadDeleted` (245) or another KartraError.
        """
        if email is None and lead_id is None:
            raise ValueError("get_lead needs an email or a lead_id")
        query = {"id": lead_id, "email": email}
        payload = self._post({"get_lead": query}, command="get_lead")
        details = payload.get("lead_details")
        if not isinstance(details, dict):
            raise self._count_error(UnexpectedAnswer("get_lead answer has no lead_details object"))
        return details

    def retrieve_account_tags(self) -> list[str]:
        """Names of every tag in the account."""
        return self._names("retrieve_account_tags", "account_tags", "tag_name")

    def retrieve_account_lists(self) -> list[str]:
        """Names of every list in the account."""
        return self._names("retrieve_account_lists", "account_lists", "list_name")

    def retrieve_account_sequences(self) -> list[str]:
        """Names of every sequence in the account."""
        return self._names("retrieve_account_sequences", "account_sequences", "sequence_name")

    def retrieve_custom_fields(self) -> list[dict]:
        """The account's custom fields: ``field_id``, ``field_identifier``, ``field_type`` and,
        for choice types, ``field_value`` options. Returned as Kartra sent them (ids as strings).
        """
        items = self._collection("retrieve_custom_fields", "custom_fields")
        if not all(isinstance(item, dict) for item in items):
            raise self._count_error(UnexpectedAnswer("custom_fields holds non-objects"))
        return items

    def retrieve_account_pages(self) -> list:
        """The account's pages. The shape is undocumented: names or objects are passed through."""
        items = self._collection("retrieve_account_pages", "account_pages")
        if not all(isinstance(item, str | dict) for item in items):
            raise self._count_error(UnexpectedAnswer("account_pages holds unknown items"))
        return items

    # -- helpers for catalogue commands ------------------------------------------------------

    def _collection(self, cmd: str, key: str) -> list:
        payload = self._post({"actions": [{"cmd": cmd}]}, command=cmd)
        value = payload.get(key)
        if value is None:
            # Chained-action envelope, as create_lead answers: {"actions": [{cmd: {...}}]}.
            actions = payload.get("actions")
            if isinstance(actions, list) and actions and isinstance(actions[0], dict):
                inner = actions[0].get(cmd)
                if isinstance(inner, dict):
                    value = inner.get(key)
        if isinstance(value, dict):
            # PHP's json_encode turns an array with non-sequential keys into an object.
            value = list(value.values())
        if not isinstance(value, list):
            raise self._count_error(UnexpectedAnswer(f"{cmd} answer has no {key} list"))
        return value

    def _names(self, cmd: str, key: str, name_key: str) -> list[str]:
        names: list[str] = []
        for item in self._collection(cmd, key):
            if isinstance(item, dict):
                item = item.get(name_key, item.get("name"))
            if not isinstance(item, str | int):
                raise self._count_error(UnexpectedAnswer(f"{key} holds an unknown item"))
            names.append(str(item))
        return names

    # -- the one HTTP path -------------------------------------------------------------------

    def _post(self, data: Mapping[str, Any], *, command: str) -> dict:
        """POST ``data`` with credentials, retrying transient failures; return the JSON answer.

        Raises the typed error of the last try once tries are exhausted.
        """
        retrying = Retrying(
            stop=stop_after_attempt(self.max_tries),
            wait=self._wait,
            retry=retry_if_exception(lambda exc: isinstance(exc, KartraError) and exc.transient),
            before_sleep=self._before_sleep,
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retrying(self._attempt, data, command)
        except _Unreadable as exc:
            raise self._count_error(UnexpectedAnswer(exc.message)) from None
        except KartraError as exc:
            raise self._count_error(exc) from None

    def _attempt(self, data: Mapping[str, Any], command: str) -> dict:
        if self.limiter is not None:
            self.limiter.acquire()
        with self._stats_lock:
            self.stats.calls += 1
        try:
            # The body is built inline so no local variable holds the credentials.
            response = self._http.post(
                self.base_url,
                content=urlencode(self._credentials.pairs() + php_form_encode(data)),
                headers={"Content-Type": FORM_CONTENT_TYPE},
            )
        except httpx.TimeoutException as exc:
            raise KartraUnavailable(f"{command}: Kartra timed out ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise KartraUnavailable(
                f"{command}: cannot reach Kartra ({type(exc).__name__})"
            ) from None
        return self._read(response, command)

    def _read(self, response: httpx.Response, command: str) -> dict:
        status = response.status_code
        if status == 429:
            with self._stats_lock:
                self.stats.throttled += 1
            raise RateLimited(
                f"{command}: Kartra answered HTTP 429 (rate limit)",
                retry_after=_seconds(response.headers.get("Retry-After")),
            )
        if status in _RETRY_STATUSES or status >= 500:
            raise KartraUnavailable(f"{command}: Kartra answered HTTP {status}")
        if status != 200:
            raise UnexpectedAnswer(f"{command}: Kartra answered HTTP {status}")
        try:
            payload = response.json()
        except ValueError:
            snippet = redact(response.text[:80], self._credentials.secrets())
            raise _Unreadable(f"{command}: answer is not JSON: {snippet!r}") from None
        if not isinstance(payload, dict):
            raise UnexpectedAnswer(f"{command}: answer is not a JSON object")
        outcome = str(payload.get("status", "")).strip().casefold()
        if outcome == "success":
            return payload
        if outcome == "error":
            message = redact(str(payload.get("message") or ""), self._credentials.secrets())
            type_code = payload.get("type")
            raise error_for_type(None if type_code is None else str(type_code), message)
        raise UnexpectedAnswer(f"{command}: answer has no known status")

    # -- retry policy ------------------------------------------------------------------------

    def _wait(self, state: RetryCallState) -> float:
        base = wait_exponential_jitter(
            multiplier=self.backoff_base, max=self.backoff_max, jitter=self.backoff_base
        )(state)
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RateLimited):
            # Kartra: "wait one second and retry"; jitter keeps processes from retrying in step.
            floor = max(self.min_429_wait, min(exc.retry_after or 0.0, _MAX_RETRY_AFTER))
            return max(base, floor + random.uniform(0, self.min_429_wait / 4))
        return base

    def _before_sleep(self, state: RetryCallState) -> None:
        with self._stats_lock:
            self.stats.retries += 1
        exc = state.outcome.exception() if state.outcome else None
        logger.warning(
            "Kartra call failed (try %d of %d), retrying: %s",
            state.attempt_number,
            self.max_tries,
            exc,
        )

    def _count_error(self, exc: KartraError) -> KartraError:
        with self._stats_lock:
            self.stats.errors += 1
        return exc
