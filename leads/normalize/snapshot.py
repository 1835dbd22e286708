"""``get_lead``'s ``lead_details`` (``kartra-docs/002_44dfc85e80d92b46.txt``).

Relations come by name only (tags, lists, sequences, memberships); the example and the
table disagree on key names (``tree_name``/``sequence_name``, ``transaction_id``/``id``,
``product_price_point``/``price_point``) and every variant is accepted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from .details import CATALOG_NAME_MAX, parse_calendar, parse_survey
from .jsonlenient import loads_lenient
from .profile import parse_profile
from .records import LeadSnapshot, ListState, MembershipState, SequenceState
from .transaction import parse_transaction
from .values import (
    INT,
    as_list,
    child,
    first_key,
    is_empty,
    open_choice,
    require_dict,
    to_bool,
    to_int,
    to_text,
)

ROOT = "lead_details"

#: 002 documents active and unsubscribed; webhooks add completed. Any other is kept as sent.
SEQUENCE_STATUSES = {"active": "active", "unsubscribed": "unsubscribed", "completed": "completed"}
SEQUENCE_STATUS_MAX = 64  # SequenceSubscription.status

T = TypeVar("T")


def _name(item: Any, path: str, keys: tuple[str, ...]) -> str:
    """A relation's name: the first of ``keys`` in an object, or a bare string."""
    if isinstance(item, dict):
        key, value = first_key(item, *keys)
        return to_text(value, child(path, key or keys[0]), CATALOG_NAME_MAX)
    return to_text(item, path, CATALOG_NAME_MAX)


def _active(item: Any, path: str) -> bool:
    """``active`` 0/1; missing or empty counts as active (the lead is listed in it)."""
    if not isinstance(item, dict):
        return True
    flag = to_bool(item.get("active"), child(path, "active"))
    return True if flag is None else flag


def _each(data: dict, key: str, parse: Callable[[Any, str], T | None]) -> tuple[T, ...]:
    """Parse every element of ``data[key]`` (missing -> ``()``), dropping ``None`` results."""
    path = child(ROOT, key)
    results = []
    for index, item in enumerate(as_list(data.get(key), path)):
        parsed = parse(item, child(path, index))
        if parsed is not None:
            results.append(parsed)
    return tuple(results)


def _tag(item: Any, path: str) -> str | None:
    return _name(item, path, ("tag_name", "name")) or None


def _list(item: Any, path: str) -> ListState | None:
    name = _name(item, path, ("list_name", "name"))
    return ListState(name=name, active=_active(item, path)) if name else None


def _sequence(item: Any, path: str) -> SequenceState | None:
    name = _name(item, path, ("sequence_name", "tree_name", "name"))
    if not name:
        return None
    step, status = None, "active"
    if isinstance(item, dict):
        step = to_int(item.get("step"), child(path, "step"), bits=INT)
        if not is_empty(item.get("status")):
            status = open_choice(
                item["status"], child(path, "status"), SEQUENCE_STATUSES, SEQUENCE_STATUS_MAX
            )
    return SequenceState(name=name, step=step, status=status)


def _membership(item: Any, path: str) -> MembershipState | None:
    name = _name(item, path, ("name", "membership_name"))
    if not name:
        return None
    level_name = None
    if isinstance(item, dict):
        level_name = to_text(item.get("level_name"), child(path, "level_name"), CATALOG_NAME_MAX)
    return MembershipState(name=name, level_name=level_name or None, active=_active(item, path))


def parse_lead_details(data: dict | bytes | str) -> LeadSnapshot:
    """Parse ``lead_details`` (or the whole ``{"status": "Success", "lead_details": ...}``
    answer) into a :class:`LeadSnapshot`. Missing relation keys give empty tuples; relation
    entries with an empty name are dropped."""
    lead = require_dict(data if isinstance(data, dict) else loads_lenient(data), ROOT)
    if "id" not in lead and isinstance(lead.get(ROOT), dict):
        lead = lead[ROOT]
    return LeadSnapshot(
        profile=parse_profile(lead, ROOT),
        tags=tuple(dict.fromkeys(_each(lead, "tags", _tag))),
        lists=_each(lead, "lists", _list),
        sequences=_each(lead, "sequences", _sequence),
        memberships=_each(lead, "memberships", _membership),
        transactions=_each(lead, "transactions", parse_transaction),
        calendars=_each(lead, "calendars", parse_calendar),
        surveys=_each(lead, "surveys", parse_survey),
    )
