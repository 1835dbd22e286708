"""PHP-style bracket form encoding, the body format of Kartra's inbound API.

Kartra reads ``$_POST`` as PHP does: ``get_lead[email]=a@b.c``, ``actions[0][cmd]=...``
(``kartra-facts.md``, "Body encoding"; ``kartra-docs/003_3ace55d857e57757.txt``). The client
only encodes; decoding is Kartra's side.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any


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
