"""How the API addresses a row: what each path segment of a detail means, and each row's url.

One rule, read by the viewsets (which row a path names) and the serializers (the ``url`` of
every row they show):

- **A bare integer is always a Kartra id.** ``/api/v1/leads/1034/`` is the lead Kartra
  numbers 1034. Kinds whose Kartra id names one row across the account (the column is
  unique: leads, custom fields, tags, lists, sequences, memberships, products, transactions,
  subscriptions, calendars, calendar subscriptions, surveys) are addressed so.
- **``mirror-<n>`` is the mirror's key of a row.** It is the url of a row Kartra has not
  numbered (a lead imported by email, a tag seen by name only), and of every row of a kind
  whose Kartra id is unique only within a parent (membership levels, calendar classes,
  assets) or that Kartra gives no id (survey results). It keeps naming its row after Kartra's
  id arrives, so a stored url stays valid.
- The mirror's own records (activity, deliveries, sync runs) are addressed by their id,
  which is the mirror's: there is no Kartra id to confuse it with.
"""

from __future__ import annotations

import enum
from functools import cache
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.urls import reverse

from .pagination import INT64_MAX

MIRROR_KEY_PREFIX = "mirror-"
_LIST_URLS = "_api_list_urls"  # the serializer context's cache of each endpoint's url


class Address(enum.Enum):
    """How the rows of one kind are addressed."""

    KARTRA = "kartra"  # a Kartra id; mirror-<n> for a row without one
    MIRROR = "mirror"  # mirror-<n> only
    OWN = "own"  # the mirror's own records: their id

    @classmethod
    def of(cls, model: type[models.Model]) -> Address:
        """The address of a mirrored Kartra kind: by Kartra id where its ``kartra_id`` is
        unique, else by the mirror's key. The mirror's own records say ``OWN`` themselves."""
        return _kartra_or_mirror(model)

    @property
    def path_regex(self) -> str:
        """The path segment a detail route accepts (the router anchors it)."""
        return {
            Address.KARTRA: rf"(?:[0-9]+|{MIRROR_KEY_PREFIX}[0-9]+)",
            Address.MIRROR: rf"{MIRROR_KEY_PREFIX}[0-9]+",
            Address.OWN: "[0-9]+",
        }[self]

    @property
    def description(self) -> str:
        return {
            Address.KARTRA: "The row's Kartra id, or `mirror-<n>` as the url of a row gives "
            "it (rows Kartra has not numbered yet have no other).",
            Address.MIRROR: "`mirror-<n>`, as the url of the row gives it (Kartra's id of "
            "such a row is unique only within its parent, or there is none).",
            Address.OWN: "The row's id.",
        }[self]

    def key(self, kartra_id: int | None, pk: int) -> str:
        """The path segment of a row."""
        if self is Address.OWN:
            return str(pk)
        if self is Address.KARTRA and kartra_id is not None:
            return str(kartra_id)
        return f"{MIRROR_KEY_PREFIX}{pk}"

    def lookup(self, segment: str) -> dict[str, int] | None:
        """The ORM lookup of the row a path segment names, or None when it names no row
        (a number beyond the 64-bit columns: a 404, not a database error)."""
        mirror_key = segment.startswith(MIRROR_KEY_PREFIX)
        digits = segment.removeprefix(MIRROR_KEY_PREFIX)
        if len(digits) > 19 or int(digits) > INT64_MAX:
            return None
        if mirror_key or self is Address.OWN:
            return {"pk": int(digits)}
        return {"kartra_id": int(digits)}

    @property
    def id_field(self) -> str | None:
        """The model field a row shows as ``id``: Kartra's id, or the mirror's own."""
        return "pk" if self is Address.OWN else "kartra_id"


@cache
def _kartra_or_mirror(model: type[models.Model]) -> Address:
    try:
        unique = model._meta.get_field("kartra_id").unique
    except FieldDoesNotExist:
        unique = False
    return Address.KARTRA if unique else Address.MIRROR


def list_url(context: dict[str, Any], model: type[models.Model]) -> str:
    """The url of ``model``'s list endpoint (``.../api/v1/leads/``): absolute when the
    serializer ``context`` holds the request, else the path. Worked out once per response
    and model, kept in the context; a row's url is this plus its key."""
    urls = context.setdefault(_LIST_URLS, {})
    url = urls.get(model)
    if url is None:
        # The router names routes after the model, as DRF does by default.
        url = reverse(f"{model._meta.model_name}-list")
        if (request := context.get("request")) is not None:
            url = request.build_absolute_uri(url)
        urls[model] = url
    return url


def row_url(context: dict[str, Any], model: type[models.Model], address: Address, kartra_id, pk):
    """The url of one row's detail."""
    return f"{list_url(context, model)}{address.key(kartra_id, pk)}/"
