"""Custom fields: a lead's values (lead blocks) and the account's catalogue.

Shapes, from ``kartra-docs/001_e756867310665d73.txt`` (lead block) and ``002`` (get_lead,
create_lead): ``field_value`` is text for ``input_field``/``text_area`` and a list of
``{option_id, option_value}`` for ``drop_down``/``radio_button``/``checkbox``. create_lead
sends an option id (``"612"``) or a list of ids (``[620]``) and ``""`` to clear; we accept
those on the way in too, plus a single option object.
"""

from __future__ import annotations

from typing import Any

from .errors import PayloadError
from .records import CustomFieldRecord, CustomValueRecord, OptionRef
from .values import (
    as_list,
    child,
    is_empty,
    open_choice,
    require_dict,
    to_id,
    to_ref_id,
    to_text,
)

TEXT_TYPES = frozenset({"input_field", "text_area"})
CHOICE_TYPES = frozenset({"drop_down", "radio_button", "checkbox"})
_FIELD_TYPES = {name: name for name in TEXT_TYPES | CHOICE_TYPES}

IDENTIFIER_MAX = 255  # CustomField.identifier
FIELD_TYPE_MAX = 64  # CustomField.field_type
OPTION_VALUE_MAX = 1024  # CustomFieldOption.value, SurveyOption.value


def parse_option(value: Any, field: str) -> OptionRef:
    """``{option_id, option_value}``, or a bare option id (create_lead's form)."""
    if isinstance(value, dict):
        option_id = to_id(value.get("option_id"), child(field, "option_id"))
        text = to_text(value.get("option_value"), child(field, "option_value"), OPTION_VALUE_MAX)
        return OptionRef(option_id, text)
    return OptionRef(to_id(value, field), "")


def parse_options(value: Any, field: str) -> tuple[OptionRef, ...]:
    """Options of a choice field: a list of option objects or ids, a single one, or empty.

    Duplicate option ids (a checkbox listed twice) keep their first occurrence.
    """
    if (isinstance(value, dict) and "option_id" in value) or (
        isinstance(value, str | int | float) and not is_empty(value)
    ):
        return (parse_option(value, field),)
    seen: dict[int, OptionRef] = {}
    for index, item in enumerate(as_list(value, field)):
        option = parse_option(item, child(field, index))
        seen.setdefault(option.kartra_id, option)
    return tuple(seen.values())


def parse_field_type(value: Any, field: str) -> str:
    """One of the five documented types, or a type Kartra added since, as sent."""
    field_type = open_choice(value, field, _FIELD_TYPES, FIELD_TYPE_MAX)
    if not field_type:
        raise PayloadError(field, value, "value required")
    return field_type


def _holds_options(field_type: str, value: Any) -> bool:
    """Whether a field's ``field_value`` lists options: always for the three choice types;
    for a type outside the documented five, when the value is a list or an object."""
    if field_type in CHOICE_TYPES:
        return True
    return field_type not in TEXT_TYPES and isinstance(value, list | dict) and bool(value)


def _identity(entry: dict, field: str) -> tuple[int | None, str]:
    kartra_id = to_ref_id(entry.get("field_id"), child(field, "field_id"))
    identifier = to_text(
        entry.get("field_identifier"), child(field, "field_identifier"), IDENTIFIER_MAX
    )
    if kartra_id is None and not identifier:
        raise PayloadError(field, entry, "custom field without field_id or field_identifier")
    return kartra_id, identifier


def _text_value(value: Any, field: str) -> str:
    # A lead's typed text is kept as typed ("N/A" included); only null and an empty PHP
    # array (json_encode of array()) mean "no text".
    if value is None or value == [] or value == {}:
        return ""
    if isinstance(value, str):
        return value
    return to_text(value, field)


def parse_custom_value(entry: Any, field: str) -> CustomValueRecord:
    """One element of a lead block's ``custom_fields``."""
    entry = require_dict(entry, field)
    kartra_id, identifier = _identity(entry, field)
    field_type = parse_field_type(entry.get("field_type"), child(field, "field_type"))
    raw_value = entry.get("field_value")
    value_path = child(field, "field_value")
    if not _holds_options(field_type, raw_value):
        return CustomValueRecord(
            kartra_id, identifier, field_type, _text_value(raw_value, value_path), ()
        )
    options = parse_options(raw_value, value_path)
    return CustomValueRecord(kartra_id, identifier, field_type, "", options)


def parse_custom_values(value: Any, field: str) -> tuple[CustomValueRecord, ...]:
    """A lead block's ``custom_fields`` list (empty or null -> no values)."""
    items = as_list(value, field)
    return tuple(parse_custom_value(item, child(field, index)) for index, item in enumerate(items))


def parse_custom_field(entry: Any, field: str) -> CustomFieldRecord:
    """One element of ``retrieve_custom_fields``' ``custom_fields`` (``kartra-facts.md``)."""
    entry = require_dict(entry, field)
    kartra_id, identifier = _identity(entry, field)
    field_type = parse_field_type(entry.get("field_type"), child(field, "field_type"))
    options: tuple[OptionRef, ...] = ()
    if _holds_options(field_type, entry.get("field_value")):
        options = parse_options(entry.get("field_value"), child(field, "field_value"))
    return CustomFieldRecord(kartra_id, identifier, field_type, options)
