"""Fixtures for audit tests: a fake Kartra over real HTTP on loopback, the mirror synced
from it, and the audit command run as cron would run it."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from events.sync.refresh import sync_leads
from kartra_fake import FakeAccount, FakeKartra
from leads.services.sync import Target, sync_client
from tests.events.sync import conftest as sync_conftest
from tests.events.sync.conftest import FAST

# A small generated account, the fake Kartra serving it and the settings pointing at it.
account = sync_conftest.account
fake = sync_conftest.fake
kartra_settings = sync_conftest.kartra_settings
fast_client = sync_conftest.fast_client


@pytest.fixture
def mirrored(fake: FakeKartra, fast_client) -> FakeKartra:
    """The mirror refreshed from every lead of the fake; the fake's counters reset."""
    with sync_client(**FAST) as client:
        run = sync_leads([Target(kartra_id=i) for i in fake.account.leads], client=client)
    assert run.leads_failed == 0, run.errors
    fake.reset()
    return fake


def audit(*args: str) -> tuple[str, int]:
    """Run ``kartra_audit`` with ``args``; its output and exit status."""
    out, err = StringIO(), StringIO()
    try:
        call_command("kartra_audit", *args, stdout=out, stderr=err)
    except CommandError as exc:
        err.write(f"{exc}\n")
        return out.getvalue() + err.getvalue(), exc.returncode
    return out.getvalue() + err.getvalue(), 0


def live_leads(account: FakeAccount) -> list:
    return [lead for lead in account.leads.values() if not lead.deleted]
