"""A JSON reader that accepts what Kartra's documented bodies contain.

The example bodies in ``kartra-docs/001_e756867310665d73.txt`` and ``002_44dfc85e80d92b46.txt``
carry trailing commas (``"option_value":"red",}`` and ``},]``), which strict JSON rejects.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import PayloadError

_BOM = "\ufeff"
_WHITESPACE = " \t\r\n"


def _reject_constant(name: str) -> Any:
    # Python's json accepts NaN/Infinity by default; Kartra (PHP json_encode) never sends them.
    raise ValueError(f"non-JSON constant {name}")


def _strict_loads(text: str) -> Any:
    return json.loads(text, parse_constant=_reject_constant)


def strip_trailing_commas(text: str) -> str:
    """Drop every comma that follows a value and precedes (after whitespace) ``}`` or ``]``.

    Commas inside strings are kept: the scan tracks string literals and their escapes. A
    comma with no value before it (``[,]``, ``{"a": 1,,}``) is kept, so it still fails.
    """
    out: list[str] = []
    in_string = False
    escaped = False
    last = ""  # the last significant character kept, outside strings
    length = len(text)
    for index, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == "," and last not in ("", "[", "{", ","):
            ahead = index + 1
            while ahead < length and text[ahead] in _WHITESPACE:
                ahead += 1
            if ahead < length and text[ahead] in "}]":
                continue
        out.append(char)
        if not in_string and char not in _WHITESPACE:
            last = char
    return "".join(out)


def loads_lenient(data: bytes | bytearray | str) -> Any:
    """Parse a JSON body, tolerating a UTF-8 BOM and trailing commas outside strings.

    Raises :class:`PayloadError` with ``field="body"`` when the body is not JSON even then.
    """
    if isinstance(data, bytes | bytearray):
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PayloadError("body", bytes(data[:40]), f"not UTF-8 ({exc.reason})") from None
    elif isinstance(data, str):
        text = data
    else:
        raise PayloadError("body", data, "expected bytes or str")
    text = text.removeprefix(_BOM)
    try:
        return _strict_loads(text)
    except (ValueError, RecursionError):
        pass
    try:
        return _strict_loads(strip_trailing_commas(text))
    except (ValueError, RecursionError) as exc:
        raise PayloadError("body", text[:40], f"not JSON ({exc})") from None
