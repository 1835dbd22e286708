"""Everything that talks to Kartra's inbound API: client, typed errors and rate limiter.

A faithful fake of the API, for tests and local runs, is the top-level package
``kartra_fake``; it depends on nothing here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .client import ClientStats, KartraClient, php_form_encode
from .errors import (
    CredentialsRefused,
    KartraError,
    KartraUnavailable,
    LeadDeleted,
    LeadNotFound,
    RateLimited,
    UnexpectedAnswer,
)

if TYPE_CHECKING:
    from typing import Any


def client_from_settings(**overrides: Any) -> KartraClient:
    """A client configured from Django settings; see :func:`factory.client_from_settings`."""
    # Imported late so that using the client never needs Django configured.
    from .factory import client_from_settings as build

    return build(**overrides)


__all__ = [
    "ClientStats",
    "CredentialsRefused",
    "KartraClient",
    "KartraError",
    "KartraUnavailable",
    "LeadDeleted",
    "LeadNotFound",
    "RateLimited",
    "UnexpectedAnswer",
    "client_from_settings",
    "php_form_encode",
]
