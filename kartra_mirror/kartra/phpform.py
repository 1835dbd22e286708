"""PHP-style bracket form encoding, the body format of Kartra's inbound API.

Kartra reads ``$_POST`` as PHP does: ``get_lead[email]=a@b.c``, ``actions[0][cmd]=...``
(``kartra-facts.md``, "Body encoding"; ``kartra-docs/003_3ace55d857e57757.txt``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

_KEY_PART = re.compile(r"\[([^\]]*)\]")


def _scalar(value: Any) -> str:
    # PHP's http_build_query writes booleans as 1/0.
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def php_form_encode(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Flatten nested dicts/lists into PHP bracket pairs, in order.

    ``{"get_lead": {"email": "a@b.c"}}`` -> ``[("get_lead[email]", "a@b.c")]``;
    ``{"actions": [{"cmd": "x"}]}`` -> ``[("actions[0][cmd]", "x")]``. ``None`` values are
    left out, as ``http_build_query`` does.
    """
    pairs: list[tuple[str, str]] = []

    def walk(prefix: str, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, Mapping):
            for key, item in value.items():
                walk(f"{prefix}[{key}]", item)
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                walk(f"{prefix}[{index}]", item)
        else:
            pairs.append((prefix, _scalar(value)))

    for key, value in data.items():
        if isinstance(value, Mapping | list | tuple):
            walk(str(key), value)
        elif value is not None:
            pairs.append((str(key), _scalar(value)))
    return pairs


def php_form_decode(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Rebuild the nested structure PHP would put in ``$_POST``.

    Every level is a dict keyed by strings (PHP arrays); ``[]`` appends the next integer key.
    A later scalar overwrites an earlier one, like PHP.
    """
    result: dict[str, Any] = {}
    for name, value in pairs:
        head, _, rest = name.partition("[")
        if not head:
            continue
        parts = [head]
        if rest:
            parts += _KEY_PART.findall("[" + rest)
        node: dict[str, Any] = result
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            if part == "":
                numeric = [int(k) for k in node if k.isdigit()]
                part = str(max(numeric) + 1 if numeric else 0)
            if last:
                node[part] = value
            else:
                child = node.get(part)
                if not isinstance(child, dict):
                    child = {}
                    node[part] = child
                node = child
    return result
