"""The normaliser's one error type."""

from __future__ import annotations

from typing import Any

_MAX_REPR = 80


def describe(value: Any) -> str:
    """A short, always-computable repr of ``value`` for error messages."""
    try:
        text = repr(value)
    except ValueError:  # an int too long for str() (sys.get_int_max_str_digits)
        return f"<{type(value).__name__} too large to show>"
    if len(text) > _MAX_REPR:
        return text[: _MAX_REPR - 3] + "..."
    return text


class PayloadError(ValueError):
    """A Kartra payload that does not have the shape or values the docs describe.

    ``field`` is the dotted path of the offending value (``"lead.date_joined"``,
    ``"lead.custom_fields[0].field_type"``); ``value`` is the value as received.
    """

    def __init__(self, field: str, value: Any, reason: str = "unexpected value") -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(field, value, reason)

    def __str__(self) -> str:
        return f"{self.field}: {self.reason} (got {describe(self.value)})"

    def __repr__(self) -> str:
        value = describe(self.value)
        return f"PayloadError(field={self.field!r}, value={value}, reason={self.reason!r})"
