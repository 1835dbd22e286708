"""The lead block of webhooks and ``get_lead``'s ``lead_details``, as ``Lead`` fields.

The block has drifted over time (``kartra-facts.md``): older webhooks carry ``google_plus``,
``lead_deleted``, ``lead_deleted_date`` (``001``); newer ones ``lead_preferred_time_zone``,
``sales_tax_id`` (``000``); ``get_lead`` adds ``username``, ``notes`` (``002``); create/edit
lead documents ``business_type``. Every one maps to the ``Lead`` field of the same name.
Only keys present in the payload are returned, so a webhook without ``google_plus`` never
blanks it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .customfields import parse_custom_values
from .records import ProfileRecord
from .values import (
    INT,
    SMALLINT,
    child,
    is_empty,
    json_storable,
    require_dict,
    to_bool,
    to_datetime,
    to_id,
    to_int,
    to_ref_id,
    to_text,
)

#: Kartra key -> max_length of the ``Lead`` CharField of the same name (None: TextField).
#: ``tests/leads/normalize/test_models_sync.py`` checks this table against the model.
TEXT_FIELDS: dict[str, int | None] = {
    "first_name": 255,
    "middle_name": 255,
    "last_name": 255,
    "last_name2": 255,
    "email": 254,
    "username": 255,
    "phone_country_code": 32,
    "phone": 64,
    "company": 255,
    "address": 512,
    "city": 255,
    "zip": 64,
    "state": 255,
    "country": 255,
    "website": 1024,
    "ip": 64,
    "ip_country": 255,
    "facebook": 1024,
    "twitter": 1024,
    "linkedin": 1024,
    "google_plus": 1024,
    "sales_tax_id": 255,
    "lead_picture": 1024,
    "notes": None,
    "lead_preferred_time_zone": 64,
    "business_type": 64,
    "gdpr_lead_status_ip": 64,
}

DATE_FIELDS = ("date_joined", "gdpr_lead_status_date", "lead_deleted_date")
REF_ID_FIELDS = ("referring_id", "source_id")  # 0 means none
SOURCE_MAX = 64


def _flag(value: Any, field: str) -> bool:
    # blacklisted / lead_deleted are NOT NULL in the model: a blank flag is an unset flag.
    flag = to_bool(value, field)
    return bool(flag)


def _source(value: Any, field: str) -> str:
    # 001's example sends "source": "0" for "no source".
    if is_empty(value) or value == 0 or (isinstance(value, str) and value.strip() == "0"):
        return ""
    return to_text(value, field, SOURCE_MAX)


def _small(value: Any, field: str) -> int | None:
    return to_int(value, field, bits=SMALLINT)


def _score(value: Any, field: str) -> int | None:
    return to_int(value, field, bits=INT)


_CONVERTERS: dict[str, Callable[[Any, str], Any]] = {
    **dict.fromkeys(DATE_FIELDS, to_datetime),
    **dict.fromkeys(REF_ID_FIELDS, to_ref_id),
    "source": _source,
    "score": _score,
    "blacklisted": _flag,
    "lead_deleted": _flag,
    "gdpr_lead_status": _small,
    # Kept as sent: 001 says 0 = agreed, 002 says 1 = agreed (see Lead.gdpr_lead_communications).
    "gdpr_lead_communications": _small,
}


#: Lead block values already converted, by (key, type, value). A lead's block repeats its
#: values in every webhook, and many are the same for every lead (a country, ``"0"``, a zero
#: date); the converters are pure, so a value converted once converts the same again. Only
#: values that converted are kept, texts up to ``_KNOWN_TEXT`` characters; the whole is
#: cleared when it holds ``_KNOWN_MAX`` (a few MB at most, in each process).
_known: dict[tuple[str, type, Any], Any] = {}
_KNOWN_MAX = 20_000
_KNOWN_TEXT = 256
_KNOWN_TYPES = (str, int, float, bool, type(None))
_MISSING = object()


def _convert(key: str, value: Any, path: str) -> Any:
    if key in TEXT_FIELDS:
        return to_text(value, child(path, key), TEXT_FIELDS[key])
    return _CONVERTERS[key](value, child(path, key))


def _convert_known(key: str, value: Any, path: str) -> Any:
    if type(value) not in _KNOWN_TYPES or (type(value) is str and len(value) > _KNOWN_TEXT):
        return _convert(key, value, path)
    known = (key, type(value), value)
    converted = _known.get(known, _MISSING)
    if converted is _MISSING:
        converted = _convert(key, value, path)
        if len(_known) >= _KNOWN_MAX:
            _known.clear()
        _known[known] = converted
    return converted


def lead_id(lead: dict, path: str = "lead") -> int:
    """A lead block's Kartra id: ``id``, a positive int."""
    return to_id(lead.get("id"), child(path, "id"))


def parse_profile(lead: Any, path: str = "lead", *, storable: bool = False) -> ProfileRecord:
    """Turn a lead block into a :class:`ProfileRecord` (``id`` required, a positive int).

    ``path`` names the block in errors (``"lead"`` for webhooks, ``"lead_details"`` for
    ``get_lead``). Unknown keys (including ``get_lead``'s relations) stay in ``raw`` only,
    made storable (:func:`json_storable`) unless the caller knows it is (``storable``).
    """
    lead = require_dict(lead, path)
    kartra_id = lead_id(lead, path)
    fields: dict[str, Any] = {}
    for key, value in lead.items():
        if key in TEXT_FIELDS or key in _CONVERTERS:
            fields[key] = _convert_known(key, value, path)
    custom_values = None
    if "custom_fields" in lead:
        custom_values = parse_custom_values(lead["custom_fields"], child(path, "custom_fields"))
    return ProfileRecord(
        kartra_id=kartra_id,
        fields=fields,
        custom_values=custom_values,
        raw=lead if storable else json_storable(lead),
    )
