"""Decoding a PHP-style bracket form body, as Kartra's server side does.

Kartra reads ``$_POST`` as PHP does: ``get_lead[email]=a@b.c``, ``actions[0][cmd]=...``
(``kartra-facts.md``, "Body encoding"; ``kartra-docs/003_3ace55d857e57757.txt``). The fake
stands in for Kartra, so it decodes on its own what a client encodes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

_KEY_PART = re.compile(r"\[([^\]]*)\]")


def php_form_decode(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Rebuild the nested structure PHP would put in ``$_POST`` from the form's pairs.

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
