"""The suppression list: the identifiers of erased leads, kept only as salted hashes.

An identifier (an email, lowercased and stripped, or a Kartra id) is kept as
HMAC-SHA256 keyed with ``KARTRA_ERASURE_SALT`` (by default derived from ``SECRET_KEY``), so
the list can answer "was this person erased?" for an identifier in hand and cannot be read
back into emails. Webhook processing and refreshes ask it before they mirror a lead.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence

from django.conf import settings

from leads.models import Suppression, SuppressionKind
from leads.normalize import LeadSnapshot

#: Digests looked up in one query (SQLite takes 999 parameters at most).
CHUNK = 500


def _key() -> bytes:
    salt = settings.KARTRA_ERASURE_SALT
    if salt:
        return salt.encode()
    # Derived, not SECRET_KEY itself: the key of these hashes is used for nothing else.
    return hmac.new(
        settings.SECRET_KEY.encode(), b"kartra_mirror.erasure.suppression", hashlib.sha256
    ).digest()


def identifier_digest(kind: str, value: str | int) -> str:
    """The HMAC of one identifier: ``kind`` is ``email`` or ``kartra_id``."""
    return _digest(_key(), kind, value)


def _digest(key: bytes, kind: str, value: str | int) -> str:
    text = str(value).strip().lower() if kind == SuppressionKind.EMAIL else str(int(value))
    return hmac.digest(key, f"{kind}:{text}".encode(), "sha256").hex()


def _digests(*, emails: Iterable[str] = (), kartra_ids: Iterable[int] = ()) -> dict[str, str]:
    """Digest → kind for every non-empty identifier (the key worked out once for all)."""
    key = _key()
    digests = {
        _digest(key, SuppressionKind.EMAIL, email): SuppressionKind.EMAIL
        for email in emails
        if email and email.strip()
    }
    for kartra_id in kartra_ids:
        if kartra_id is not None:
            digests[_digest(key, SuppressionKind.KARTRA_ID, kartra_id)] = SuppressionKind.KARTRA_ID
    return digests


def suppression_add(*, emails: Iterable[str] = (), kartra_ids: Iterable[int] = ()) -> int:
    """Put the identifiers on the suppression list; returns how many were new."""
    digests = _digests(emails=emails, kartra_ids=kartra_ids)
    known = set(Suppression.objects.filter(digest__in=digests).values_list("digest", flat=True))
    rows = [Suppression(kind=kind, digest=d) for d, kind in digests.items() if d not in known]
    Suppression.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def suppression_lift(*, emails: Iterable[str] = (), kartra_ids: Iterable[int] = ()) -> int:
    """Take the identifiers off the suppression list; returns how many were on it."""
    digests = _digests(emails=emails, kartra_ids=kartra_ids)
    deleted, _ = Suppression.objects.filter(digest__in=digests).delete()
    return deleted


def suppressed_digests(*, emails: Iterable[str] = (), kartra_ids: Iterable[int] = ()) -> set[str]:
    """Which of the identifiers' digests are on the list: one query per ``CHUNK`` of them
    (none when there are none)."""
    digests = list(_digests(emails=emails, kartra_ids=kartra_ids))
    found: set[str] = set()
    for start in range(0, len(digests), CHUNK):
        chunk = digests[start : start + CHUNK]
        found.update(Suppression.objects.filter(digest__in=chunk).values_list("digest", flat=True))
    return found


def is_suppressed(found: set[str], *, email: str = "", kartra_id: int | None = None) -> bool:
    """Whether ``email`` or ``kartra_id`` is among the ``found`` digests
    (of :func:`suppressed_digests`)."""
    if not found:
        return False
    return bool(set(_digests(emails=[email], kartra_ids=[kartra_id])) & found)


def snapshots_suppressed(snapshots: Sequence[LeadSnapshot]) -> list[bool]:
    """For each ``get_lead`` snapshot, whether the lead it describes was erased (its Kartra id
    or its email is on the list), in one query per ``CHUNK`` of identifiers: such an answer
    is not applied, whatever asked for it (a refresh by email, an audit's repair)."""
    identities = [(s.profile.fields.get("email") or "", s.profile.kartra_id) for s in snapshots]
    found = suppressed_digests(
        emails=[email for email, _ in identities], kartra_ids=[kid for _, kid in identities]
    )
    return [is_suppressed(found, email=email, kartra_id=kid) for email, kid in identities]
