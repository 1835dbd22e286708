"""Helpers shared by the normaliser tests: fixture loading and UTC datetimes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from leads.normalize import loads_lenient

FIXTURES = Path(__file__).parent / "fixtures"
WEBHOOKS = FIXTURES / "webhooks"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> Any:
    return loads_lenient(fixture_bytes(name))


def webhook_bytes(action: str) -> bytes:
    return (WEBHOOKS / f"{action}.json").read_bytes()


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)
