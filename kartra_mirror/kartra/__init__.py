"""Everything that talks to Kartra's inbound API: client, typed errors, rate limiter, and a
faithful fake of the API (``kartra_mirror.kartra.fake``) for tests and local runs."""

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
    # Imported late so that using the client or the fake never needs Django configured.
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
