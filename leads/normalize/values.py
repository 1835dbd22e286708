"""Scalar conversions shared by every parser.

Kartra sends ids, flags and scores as strings or integers (``"id": "1"`` in
``kartra-docs/001_e756867310665d73.txt``'s example, ``"list_id": 1`` beside it), amounts as
strings or floats, "no value" as ``N/A`` and "no date" as ``0000-00-00 00:00:00``
(``kartra-facts.md``). Every function takes the dotted ``field`` path used in its errors.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from .errors import PayloadError

#: Kartra's dates are Eastern wall-clock times without a zone marker (002 doc: "in EST timezone").
KARTRA_TZ = ZoneInfo("America/New_York")

BIGINT = 63  # models.BigIntegerField
INT = 31  # models.IntegerField
SMALLINT = 15  # models.SmallIntegerField

# re.ASCII: \d is 0-9 only (not other scripts' digits).
_INT_RE = re.compile(r"[+-]?\d+(?:\.0*)?", re.ASCII)
_DECIMAL_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)", re.ASCII)
_THOUSANDS_RE = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?", re.ASCII)
_DATE_RE = re.compile(
    r"(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})"
    r"(?:[ T](?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?",
    re.ASCII,
)
_CENT = Decimal("0.01")


def is_empty(value: Any) -> bool:
    """``None``, ``""`` (after stripping) and ``N/A`` all mean "no value"."""
    if value is None:
        return True
    if isinstance(value, str):
        return _blank(value)
    return False


def _blank(text: str) -> bool:
    stripped = text.strip()
    return not stripped or (len(stripped) == 3 and stripped.upper() == "N/A")


def child(path: str, key: str | int) -> str:
    """``child("lead", "id") == "lead.id"``; ``child("x", 0) == "x[0]"``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def require_dict(value: Any, field: str) -> dict:
    if not isinstance(value, dict):
        raise PayloadError(field, value, "expected a JSON object")
    return value


def first_key(obj: Mapping, *keys: str) -> tuple[str | None, Any]:
    """The first of ``keys`` present in ``obj`` and its value, or ``(None, None)``."""
    for key in keys:
        if key in obj:
            return key, obj[key]
    return None, None


def is_index(key: Any) -> bool:
    """A key of a PHP array that ``json_encode`` wrote as an object: ``"0"``, ``"1"``, ..."""
    return isinstance(key, str) and key.isascii() and key.isdigit()


def as_list(value: Any, field: str) -> list:
    """A JSON array; also ``None``/``""``/``N/A`` (empty) and a PHP array that
    ``json_encode`` turned into an object with keys ``"0"``, ``"1"``, ... (its values in order).
    A single object (not digit-keyed) is taken as a one-element list."""
    if is_empty(value):
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        if value and all(is_index(key) for key in value):
            return [value[key] for key in sorted(value, key=int)]
        return [value]
    raise PayloadError(field, value, "expected a list")


def _check_bits(number: int, field: str, value: Any, bits: int) -> int:
    if not -(2**bits) <= number < 2**bits:
        raise PayloadError(field, value, "number out of range")
    return number


def to_int(value: Any, field: str, *, bits: int = BIGINT) -> int | None:
    """An integer from ``1``, ``"1"``, ``" 1 "``, ``1.0`` or ``"1.0"``; empty -> ``None``."""
    if is_empty(value):
        return None
    if isinstance(value, bool):
        raise PayloadError(field, value, "expected an integer, not a boolean")
    if isinstance(value, int):
        return _check_bits(value, field, value, bits)
    if isinstance(value, float):
        if not (math.isfinite(value) and value.is_integer()):
            raise PayloadError(field, value, "expected an integer")
        return _check_bits(int(value), field, value, bits)
    if isinstance(value, str):
        text = value.strip()
        if len(text) <= 40 and _INT_RE.fullmatch(text):
            return _check_bits(int(text.split(".")[0]), field, value, bits)
    raise PayloadError(field, value, "expected an integer")


def to_required_int(value: Any, field: str, *, bits: int = BIGINT) -> int:
    number = to_int(value, field, bits=bits)
    if number is None:
        raise PayloadError(field, value, "value required")
    return number


def to_id(value: Any, field: str) -> int:
    """A required Kartra id: a positive integer."""
    number = to_required_int(value, field)
    if number <= 0:
        raise PayloadError(field, value, "expected a positive id")
    return number


def to_ref_id(value: Any, field: str) -> int | None:
    """A reference to another Kartra object, where ``0``, ``""`` and ``N/A`` mean none
    (``referring_id``, ``source_id``, ``transaction_parent_id``, ``original_id``,
    ``transaction_subscription_id``, ``buyer_id``, ``vendor_id``, catalogue ids)."""
    number = to_int(value, field)
    if number is None or number == 0:
        return None
    if number < 0:
        raise PayloadError(field, value, "expected a positive id")
    return number


def to_bool(value: Any, field: str) -> bool | None:
    """A flag from ``0``/``1``/``"0"``/``"1"``/``true``/``false``; empty -> ``None``."""
    if is_empty(value):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("1", "true"):
            return True
        if text in ("0", "false"):
            return False
    raise PayloadError(field, value, "expected a 0/1 flag")


def to_text(value: Any, field: str, max_length: int | None = None) -> str:
    """Text as sent; empty (``None``, ``N/A``) -> ``""``; numbers -> their digits.

    Never truncates: a text longer than the model column raises :class:`PayloadError`.
    """
    if isinstance(value, str):
        if _blank(value):
            return ""
        text = value
    elif value is None:
        return ""
    elif isinstance(value, bool):
        raise PayloadError(field, value, "expected text, not a boolean")
    elif isinstance(value, int):
        try:
            text = str(value)
        except ValueError:
            raise PayloadError(field, value, "number too long") from None
    elif isinstance(value, float) and math.isfinite(value):
        text = str(int(value)) if value.is_integer() else str(value)
    else:
        raise PayloadError(field, value, "expected text")
    if max_length is not None and len(text) > max_length:
        raise PayloadError(field, value, f"longer than {max_length} characters")
    if "\x00" in text:  # no database stores NUL in text; refuse it here rather than half-way
        raise PayloadError(field, value, "contains a NUL character")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate (JSON's "\ud800"): no driver sends it
            raise PayloadError(field, value, "contains a character that is not text") from None
    return text


def to_decimal(value: Any, field: str, *, max_digits: int = 14) -> Decimal | None:
    """An amount from ``"300.00"``, ``"1,200.50"``, ``300``, ``300.5``; empty -> ``None``.

    Quantized to cents (half up); floats go through ``str()`` to avoid binary noise.
    ``max_digits`` is the model column's (two of them after the point).
    """
    if is_empty(value):
        return None
    if isinstance(value, bool):
        raise PayloadError(field, value, "expected an amount, not a boolean")
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise PayloadError(field, value, "expected an amount")
        amount = Decimal(str(value))
    elif isinstance(value, str):
        text = value.strip()
        if len(text) > 40:
            raise PayloadError(field, value, "expected an amount")
        if _THOUSANDS_RE.fullmatch(text):
            text = text.replace(",", "")
        if not _DECIMAL_RE.fullmatch(text):
            raise PayloadError(field, value, "expected an amount")
        amount = Decimal(text)
    else:
        raise PayloadError(field, value, "expected an amount")
    if abs(amount) >= Decimal(10) ** (max_digits - 2):
        raise PayloadError(field, value, "amount out of range")
    return amount.quantize(_CENT, rounding=ROUND_HALF_UP)


def to_datetime(value: Any, field: str) -> datetime | None:
    """An Eastern wall-clock date (``YYYY-MM-DD HH:MM:SS``, ``YYYY-MM-DD HH:MM`` or
    ``YYYY-MM-DD``) as an aware UTC datetime; ``""``, ``N/A`` and zero dates -> ``None``.

    Times that do not exist or occur twice at a DST change take ``fold=0`` (the offset in
    force before the change), so the result is deterministic.
    """
    if is_empty(value):
        return None
    if not isinstance(value, str):
        raise PayloadError(field, value, "expected a date string")
    match = _DATE_RE.fullmatch(value.strip())
    if match is None:
        raise PayloadError(field, value, "expected YYYY-MM-DD HH:MM:SS")
    parts = {key: int(number) if number else 0 for key, number in match.groupdict().items()}
    if parts["y"] == 0 and parts["m"] == 0 and parts["d"] == 0:
        return None  # 0000-00-00 00:00:00: Kartra's "no date"
    try:
        local = datetime(
            parts["y"],
            parts["m"],
            parts["d"],
            parts["H"],
            parts["M"],
            parts["S"],
            tzinfo=KARTRA_TZ,
        )
        return local.astimezone(UTC)
    except (ValueError, OverflowError):
        raise PayloadError(field, value, "not a valid date") from None


def open_choice(value: Any, field: str, known: Mapping[str, str], max_length: int) -> str:
    """A value of one of Kartra's enumerations: a known spelling (compared case-insensitively,
    spaces and hyphens as underscores) gives its normalised value in ``known``; any other text
    or number is kept as sent (stripped), so that a value Kartra adds later never fails a whole
    delivery or snapshot. Empty -> ``""``. Longer than ``max_length`` (the model column) is a
    :class:`PayloadError`, as with :func:`to_text`."""
    text = to_text(value, field).strip()
    key = text.lower().replace(" ", "_").replace("-", "_")
    if key in known:
        return known[key]
    if len(text) > max_length:
        raise PayloadError(field, value, f"longer than {max_length} characters")
    return text


#: The JSON escapes that decode to what a JSON column cannot hold: NUL, and the halves of
#: surrogate pairs (a lone half does not encode; a pair is caught too, and so checked).
_UNSTORABLE_ESCAPES = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")
_UNSTORABLE_ESCAPES_BYTES = re.compile(_UNSTORABLE_ESCAPES.pattern.encode())


def json_text_storable(text: bytes | str) -> bool:
    """Whether every string that the JSON ``text`` decodes to is one a JSON column holds as
    it is, so that :func:`json_storable` would return its values unchanged. Strict JSON
    carries a control character only escaped, and a UTF-8 body no lone surrogate: both
    can only come from a ``\\u`` escape, which one scan of the text finds."""
    pattern = _UNSTORABLE_ESCAPES_BYTES if isinstance(text, bytes) else _UNSTORABLE_ESCAPES
    return pattern.search(text) is None


def json_storable(value: Any) -> Any:
    """``value`` (decoded JSON) as a JSON column can hold it: NUL (refused by PostgreSQL's
    jsonb) and lone surrogates (which no driver encodes) in any string, key or value,
    become U+FFFD. For the raw objects kept beside the parsed fields, whose unknown keys
    no other check reads. Returns ``value`` itself when it needs no change.

    Almost every value needs none: one ``json.dumps`` (in C) shows it, before any walk of
    the value in Python."""
    if isinstance(value, dict | list):
        try:
            text = json.dumps(value, ensure_ascii=False)
        except (TypeError, ValueError):
            return _storable(value)  # not plain JSON: walked as it is
        if "\\u0000" not in text and (text.isascii() or _encodable(text)):
            return value  # a NUL is written \u0000; a lone surrogate does not encode
    return _storable(value)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _storable(value: Any) -> Any:
    if isinstance(value, str):
        if "\x00" in value:
            value = value.replace("\x00", "\ufffd")
        if not value.isascii():
            clean = value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
            value = value if clean == value else clean
        return value
    if isinstance(value, dict):
        items = [(_storable(k), _storable(v)) for k, v in value.items()]
        same = all(k is a and v is b for (k, v), (a, b) in zip(items, value.items(), strict=True))
        return value if same else dict(items)
    if isinstance(value, list):
        items = [_storable(v) for v in value]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    return value
