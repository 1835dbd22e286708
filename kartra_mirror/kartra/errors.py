"""Typed errors for Kartra's inbound API.

Kartra answers HTTP 200 for its own errors, with ``{"status": "Error", "message": ..., "type":
"234"}`` (``kartra-docs/002_44dfc85e80d92b46.txt``, "Error Cases"; ``kartra-facts.md``). We decide
on ``type`` only: the message texts differ between copies of the docs.

No error built here ever carries a credential: messages come from Kartra's ``message`` (passed
through :func:`redact` by the client) or from fixed text.
"""

from __future__ import annotations

from collections.abc import Iterable


class KartraError(Exception):
    """Base class: any failure talking to Kartra.

    ``type_code`` is Kartra's error ``type`` as a string (``"234"``) when Kartra gave one,
    otherwise ``None`` (HTTP errors, timeouts, unreadable bodies).
    """

    #: Whether the client may try the same call again.
    transient: bool = False

    def __init__(self, message: str, *, type_code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.type_code = type_code

    def __str__(self) -> str:
        if self.type_code:
            return f"{self.message} (Kartra error type {self.type_code})"
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, type_code={self.type_code!r})"


class LeadNotFound(KartraError):
    """No lead with that email or id (types 234 from ``get_lead``, 243 from lead commands)."""


class LeadDeleted(KartraError):
    """The lead exists but is deleted (type 245)."""


class CredentialsRefused(KartraError):
    """Kartra refused the app id, API key, API password, account, IP or permission."""


class RateLimited(KartraError):
    """Kartra answered HTTP 429 "Too many requests" on every try (20 calls/s per App).

    ``retry_after`` holds a ``Retry-After`` header in seconds, should Kartra ever send one
    (none is documented).
    """

    transient = True

    def __init__(
        self, message: str, *, type_code: str | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, type_code=type_code)
        self.retry_after = retry_after


class UnexpectedAnswer(KartraError):
    """An answer we cannot read: not JSON, an unknown shape, or an unexpected HTTP status."""


class KartraUnavailable(KartraError):
    """Kartra could not be reached: timeouts, connection errors or 5xx, after every try."""

    transient = True


# Kartra's documented error types -> our classes (kartra-facts.md, "Error types that matter").
ERROR_TYPES: dict[str, type[KartraError]] = {
    "234": LeadNotFound,
    "243": LeadNotFound,
    "245": LeadDeleted,
    "201": CredentialsRefused,  # not https
    "202": CredentialsRefused,  # API key empty
    "203": CredentialsRefused,  # API key invalid
    "204": CredentialsRefused,  # account inactive
    "233": CredentialsRefused,  # API password invalid
    "238": CredentialsRefused,  # app id empty
    "239": CredentialsRefused,  # app id invalid
    "240": CredentialsRefused,  # app inactive
    "242": CredentialsRefused,  # unauthorized IP
    "262": CredentialsRefused,  # app lacks permission for the command
}


def error_for_type(type_code: str | None, message: str) -> KartraError:
    """Build the typed error for an ``{"status": "Error"}`` answer.

    Unknown or missing codes give a plain :class:`KartraError` that still carries the code.
    """
    code = None if type_code is None else str(type_code).strip() or None
    cls = ERROR_TYPES.get(code or "", KartraError)
    return cls(message or "Kartra answered an error", type_code=code)


#: Shorter "secrets" are left alone: redacting them would mangle ordinary words.
MIN_SECRET_LENGTH = 6


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret (of at least ``MIN_SECRET_LENGTH`` characters) with ``***``."""
    for secret in secrets:
        if secret and len(secret) >= MIN_SECRET_LENGTH:
            text = text.replace(secret, "***")
    return text
