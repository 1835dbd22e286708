"""How ``leads_refresh`` keeps the rate limiter busy: ``get_lead`` calls go on in threads
while the answers that arrived are applied in batches, each batch in one transaction; a
snapshot that fails to apply fails its lead only; a run stops when Kartra refuses the
credentials or stays unreachable."""

import threading
import time

import pytest

from events.sync.refresh import MAX_CONSECUTIVE_UNAVAILABLE, leads_refresh
from events.sync.runs import SyncAborted, sync_run_start
from kartra_fake import lead_details
from kartra_mirror.kartra import CredentialsRefused, KartraUnavailable, LeadNotFound
from kartra_mirror.kartra.client import ClientStats
from leads.models import Lead, MirrorStatus
from leads.services import settle
from leads.services.settle import FAILED, NOT_FOUND, REFRESHED, UNCHANGED
from leads.services.sync import Target

from .mirror_check import mismatches

pytestmark = pytest.mark.django_db


class Stub:
    """A client whose ``get_lead`` answers from the fake account's truth, each answer
    taking ``delay`` seconds (a rate limiter's pace), or raises what ``errors`` holds."""

    def __init__(self, account, *, delay: float = 0.0, errors: dict | None = None) -> None:
        self.account, self.delay, self.errors = account, delay, errors or {}
        self.stats = ClientStats()
        self.started: list[float] = []
        self._lock = threading.Lock()

    def get_lead(self, *, lead_id=None, email=None) -> dict:
        with self._lock:
            self.started.append(time.monotonic())
            self.stats.calls += 1
        time.sleep(self.delay)
        if int(lead_id) in self.errors:
            raise self.errors[int(lead_id)]
        return lead_details(self.account, self.account.lead(int(lead_id)))


class Batches:
    """Wraps ``snapshots_apply``: the size and the time span of every batch."""

    def __init__(self, monkeypatch, *, pause: float = 0.0, fail_with: int | None = None):
        self.real, self.pause, self.fail_with = settle.snapshots_apply, pause, fail_with
        self.sizes: list[int] = []
        self.failed: list[int] = []  # the sizes of the batches that failed
        self.spans: list[tuple[float, float]] = []
        monkeypatch.setattr(settle, "snapshots_apply", self)

    def __call__(self, snapshots, **options):
        started = time.monotonic()
        time.sleep(self.pause)
        self.sizes.append(len(snapshots))
        if any(s.profile.kartra_id == self.fail_with for s, _ in snapshots):
            self.failed.append(len(snapshots))
            raise ValueError("this lead's snapshot cannot be stored")
        try:
            return self.real(snapshots, **options)
        finally:
            self.spans.append((started, time.monotonic()))


def live_ids(account) -> list[int]:
    return [lead.id for lead in account.leads.values() if not lead.deleted]


def run(client, ids, **options):
    outcomes: dict[int, str] = {}
    recorder = sync_run_start(kind="leads", client=client)
    leads_refresh(client, [Target(kartra_id=i) for i in ids], recorder,
                  on_result=lambda t, outcome: outcomes.__setitem__(t.kartra_id, outcome),
                  **options)  # fmt: skip
    return recorder.finish(), outcomes


def test_answers_are_applied_in_batches_and_the_mirror_equals_kartra(account, monkeypatch):
    batches = Batches(monkeypatch)
    ids = live_ids(account)

    first, outcomes = run(Stub(account), ids, workers=2, batch=5)

    assert outcomes == dict.fromkeys(ids, REFRESHED)
    assert sum(batches.sizes) == len(ids) and max(batches.sizes) <= 5
    assert len(batches.sizes) < len(ids)  # several leads per transaction
    assert [p for i in ids for p in mismatches(account, i)] == []
    again, outcomes = run(Stub(account), ids, workers=2, batch=5)
    assert outcomes == dict.fromkeys(ids, UNCHANGED)
    assert (again.leads_refreshed, again.leads_unchanged) == (0, len(ids))


def test_calls_go_on_while_a_batch_is_applied(account, monkeypatch):
    batches = Batches(monkeypatch, pause=0.3)
    client = Stub(account, delay=0.05)  # 20 answers a second from one thread

    run(client, live_ids(account), workers=1, batch=4)

    during = [t for t in client.started if any(a < t < b for a, b in batches.spans)]
    assert len(during) >= len(batches.spans) - 1  # the calls did not wait for the database


def test_a_snapshot_that_fails_to_apply_fails_its_lead_only(account, monkeypatch):
    ids = live_ids(account)
    bad = ids[3]
    Lead.objects.bulk_create([Lead(kartra_id=i, mirror_status=MirrorStatus.PENDING) for i in ids])
    batches = Batches(monkeypatch, fail_with=bad)

    finished, outcomes = run(Stub(account, delay=0.01), ids, workers=1, batch=len(ids))

    assert outcomes == {i: FAILED if i == bad else REFRESHED for i in ids}
    assert batches.failed[0] > 1 and batches.failed[1:] == [1]  # then each lead alone
    assert finished.leads_failed == 1 and str(bad) in finished.errors[0]["target"]
    assert [p for i in ids if i != bad for p in mismatches(account, i)] == []
    assert Lead.objects.get(kartra_id=bad).mirror_refresh_requested_at is not None  # deferred


def test_not_found_and_failures_beside_snapshots_in_one_batch(account):
    ids = live_ids(account)[:4]
    Lead.objects.create(kartra_id=ids[0])
    errors = {ids[0]: LeadNotFound("No lead found"), ids[1]: KartraUnavailable("HTTP 502")}

    finished, outcomes = run(Stub(account, errors=errors), ids, workers=1, batch=10)

    assert outcomes == {ids[0]: NOT_FOUND, ids[1]: FAILED, ids[2]: REFRESHED,
                        ids[3]: REFRESHED}  # fmt: skip
    assert Lead.objects.get(kartra_id=ids[0]).mirror_status == MirrorStatus.NOT_FOUND
    assert not Lead.objects.filter(kartra_id=ids[1]).exists()  # nothing made up
    assert (finished.leads_not_found, finished.leads_failed) == (1, 1)


def test_refused_credentials_stop_the_run_after_the_batch_is_counted(account):
    ids = live_ids(account)
    errors = dict.fromkeys(ids, CredentialsRefused("API key is invalid"))

    with pytest.raises(SyncAborted, match="refused the credentials"):
        run(Stub(account, errors=errors), ids, workers=1, batch=3)


def test_a_run_stops_when_kartra_stays_unreachable(account):
    ids = [lead.id for lead in account.leads.values()]
    many = (ids * (MAX_CONSECUTIVE_UNAVAILABLE // len(ids) + 2))[: MAX_CONSECUTIVE_UNAVAILABLE + 5]
    errors = dict.fromkeys(ids, KartraUnavailable("HTTP 503"))
    client = Stub(account, errors=errors)

    with pytest.raises(SyncAborted, match="unreachable"):
        run(client, many, workers=1, batch=4)
    assert client.stats.calls < len(many) + 4  # it stopped, not much past the limit
