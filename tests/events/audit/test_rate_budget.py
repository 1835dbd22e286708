"""An audit takes its share of the refresh's rate budget: one limiter per deployment, never a
second budget beside it."""

import threading
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from events.audit import runs as audit_service
from events.models import AuditRun, SyncRun
from events.sync.runs import HEARTBEAT
from kartra_fake import FakeAccount, generate_account
from leads.models import Lead
from leads.services.fetch import answers_in_batches
from leads.services.sync import Target, fetch_workers, sync_client
from tests.conftest import FAKE_ANCHOR

from .conftest import audit

LEADS = 36


@pytest.fixture
def account() -> FakeAccount:
    return generate_account(LEADS, seed=5, anchor=FAKE_ANCHOR)


@pytest.mark.django_db
def test_the_audit_calls_through_the_limiter_the_refresh_uses(mirrored, monkeypatch):
    used = []
    real = audit_service.audit_run

    def spy(client, targets, **options):
        used.append(client.limiter)
        return real(client, targets, **options)

    monkeypatch.setattr("events.management.commands.kartra_audit.audit_run", spy)
    audit("--sample", "3")

    with sync_client() as refresh_client:
        assert used == [refresh_client.limiter] and used[0] is not None


@pytest.mark.django_db
def test_an_audit_beside_a_refreshs_calls_stays_under_kartras_limit(fake, fast_client):
    """Both at full speed against the fake's 20 calls per rolling second: with a budget
    each, they would send up to 36 a second and draw 429s. The refresh's calls are its
    fetch pipeline (threads that only call Kartra and parse), so the database serves one
    thread and this runs on SQLite too."""
    ids = _mirror_every_live_lead(fake)
    fetched = []

    def refresh_calls():
        with sync_client() as client:
            targets = [Target(kartra_id=i) for i in ids]
            for batch in answers_in_batches(
                client, targets, workers=fetch_workers(), batch=10, wait=HEARTBEAT
            ):
                fetched.extend(a for a in batch if a.snapshot is not None)

    thread = threading.Thread(target=refresh_calls)
    thread.start()
    output, status = audit("--all")
    thread.join(timeout=60)

    assert status == 0, output
    assert not thread.is_alive() and len(fetched) == len(ids)
    assert fake.throttled == 0 and fake.calls["get_lead"] == 2 * len(ids)
    assert AuditRun.objects.get().throttled == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_audit_beside_a_whole_refresh_stays_under_kartras_limit(fake, fast_client):
    """The same with ``kartra_sync --all`` writing its snapshots meanwhile (PostgreSQL:
    two threads writing at once)."""
    ids = _mirror_every_live_lead(fake)
    errors = []

    def audit_all():
        try:
            audit("--all")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=audit_all)
    thread.start()
    call_command("kartra_sync", "--all", "--no-catalog", stdout=StringIO())
    thread.join(timeout=60)

    assert not thread.is_alive() and errors == []
    assert fake.throttled == 0 and fake.calls["get_lead"] == 2 * len(ids)
    assert AuditRun.objects.get().leads_compared == len(ids)
    assert SyncRun.objects.get(kind="all").throttled == 0


def _mirror_every_live_lead(fake) -> list[int]:
    """The fake's live leads in the mirror (pending: the audit reports each unknown); the
    fake's counters reset."""
    ids = [lead.id for lead in fake.account.leads.values() if not lead.deleted]
    Lead.objects.bulk_create([Lead(kartra_id=i) for i in ids])
    fake.reset()
    return ids
