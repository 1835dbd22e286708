"""The fake's shapes, checked against Kartra's own doc files when they are at hand
(``../shared/kartra-docs`` next to the repository); skipped otherwise."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from kartra_fake import (
    PAGE_VISIT_LEAD_KEYS,
    WEBHOOK_LEAD_KEYS,
    generate_account,
    lead_details,
)
from kartra_fake.render import BUY_KEYS, CANCEL_KEYS, REFUND_KEYS
from tests.conftest import FAKE_ANCHOR

DOCS = Path(__file__).resolve().parents[3] / "shared" / "kartra-docs"
pytestmark = pytest.mark.skipif(not DOCS.is_dir(), reason=f"Kartra docs not found at {DOCS}")


def _doc(prefix: str) -> str:
    return next(DOCS.glob(f"{prefix}_*.txt")).read_text()


def _lead_blocks(text: str) -> list[list[str]]:
    blocks = re.findall(r"\nlead\s*\n\{(.*?)\"custom_fields\"", text, re.S)
    return [re.findall(r'"(\w+)"\s*:', block) for block in blocks]


def test_webhook_lead_block_matches_001() -> None:
    blocks = _lead_blocks(_doc("001"))
    assert len(blocks) == 24  # one per documented action section
    for keys in blocks:
        assert keys + ["custom_fields"] == WEBHOOK_LEAD_KEYS


def test_page_visit_lead_block_matches_000() -> None:
    [keys] = _lead_blocks(_doc("000"))
    assert keys + ["custom_fields"] == PAGE_VISIT_LEAD_KEYS


def test_transaction_details_match_001() -> None:
    sections = re.findall(r'"transaction_details":\{(.*?)\}', _doc("001"), re.S)
    found = [re.findall(r'"(\w+)"\s*:', section) for section in sections]
    assert found == [BUY_KEYS, REFUND_KEYS, CANCEL_KEYS]


def test_get_lead_matches_002_example() -> None:
    text = _doc("002")
    start = text.index('{\n    "status":"Success",\n    "lead_details"')
    end = text.index("Error Cases", start)
    raw = re.sub(r",(\s*[}\]])", r"\1", text[start:end].strip())  # the doc's trailing commas
    example = json.loads(raw)["lead_details"]
    account = generate_account(8, seed=5, anchor=FAKE_ANCHOR)
    ours = lead_details(account, account.lead(1001))
    assert [k for k in ours if k != "notes"] == list(example)  # notes: 002's table only
    for relation in ("tags", "lists", "memberships", "calendars", "surveys"):
        assert set(ours[relation][0]) <= set(example[relation][0]) | {"ics_calendar_link"}
    assert set(ours["transactions"][0]) == set(example["transactions"][0])
    assert set(ours["sequences"][0]) == set(example["sequences"][0])
