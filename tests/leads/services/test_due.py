"""The due queue: requested refreshes, then leads never refreshed, then stale leads that were
active, then every other stale lead, each class in its own order; and how far behind each
class is, for the admin's sync health."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leads.models import Lead, MirrorStatus
from leads.services.due import (
    ACTIVE_STALE,
    ACTIVE_WINDOW,
    NEVER,
    REQUESTED,
    STALE,
    due_backlog,
    due_class,
    leads_due,
)

pytestmark = pytest.mark.django_db

NOW = timezone.now()
HOUR = timedelta(hours=1)


@pytest.fixture(autouse=True)
def _max_age(settings):
    settings.KARTRA_REFRESH_MAX_AGE = 24 * 3600


def lead(kartra_id: int, **fields) -> Lead:
    return Lead.objects.create(kartra_id=kartra_id, **fields)


def ids(leads) -> list[int]:
    return [lead.kartra_id for lead in leads]


@pytest.fixture
def queue() -> dict[str, list[int]]:
    """Leads of every class (by Kartra id, in the order due), and leads not due."""
    stale = NOW - 30 * HOUR
    lead(1, mirror_refreshed_at=NOW - HOUR)  # fresh
    lead(2, mirror_refresh_requested_at=NOW - 2 * HOUR, mirror_refreshed_at=NOW - HOUR)
    lead(3, mirror_refresh_requested_at=NOW - 3 * HOUR)  # requested before 2
    lead(4, mirror_refresh_requested_at=NOW + HOUR, mirror_refreshed_at=stale)  # deferred
    lead(5)  # never refreshed
    lead(6, mirror_status=MirrorStatus.NOT_FOUND, mirror_refreshed_at=stale)  # gone
    lead(7, mirror_status=MirrorStatus.DELETED)
    lead(8)  # never refreshed, after 5
    lead(9, mirror_refreshed_at=stale - HOUR, mirror_last_activity_at=stale - 2 * HOUR)
    lead(10, mirror_refreshed_at=stale - 2 * HOUR, mirror_last_activity_at=NOW)
    lead(11, mirror_refreshed_at=stale - 3 * HOUR)  # never active
    lead(12, mirror_refreshed_at=stale - 4 * HOUR,
         mirror_last_activity_at=stale - 4 * HOUR - ACTIVE_WINDOW - HOUR)  # fmt: skip
    lead(13, mirror_refreshed_at=stale)
    lead(14, mirror_refresh_requested_at=NOW - HOUR, mirror_status=MirrorStatus.DELETED)
    return {
        REQUESTED: [3, 2, 14],  # a request is honoured whatever Kartra said before
        NEVER: [5, 8],
        ACTIVE_STALE: [10, 9],  # active within the window before their refresh; stalest first
        STALE: [12, 11, 13],  # active long before their refresh, never active; stalest first
    }


def test_each_class_holds_its_leads_in_its_order(queue):
    for name, expected in queue.items():
        assert ids(due_class(name, now=NOW)) == expected, name


def test_a_batch_takes_the_classes_in_order(queue):
    everything = [kartra_id for name in (REQUESTED, NEVER, ACTIVE_STALE, STALE)
                  for kartra_id in queue[name]]  # fmt: skip
    assert ids(leads_due(100, now=NOW)) == everything
    assert ids(leads_due(4, now=NOW)) == everything[:4]
    assert ids(leads_due(6, now=NOW)) == everything[:6]
    assert leads_due(0, now=NOW) == []


def test_a_deferred_request_comes_due_at_its_time(queue):
    assert 4 not in ids(leads_due(100, now=NOW))
    assert ids(due_class(REQUESTED, now=NOW + 2 * HOUR)) == [3, 2, 14, 4]


def test_the_backlog_says_how_far_behind_each_class_is(queue):
    backlog = {row.name: row for row in due_backlog(bound=100, now=NOW)}

    assert {name: row.count for name, row in backlog.items()} == {
        name: len(expected) for name, expected in queue.items()
    }
    assert backlog[REQUESTED].behind(NOW) == 3 * HOUR
    first_seen = Lead.objects.get(kartra_id=5).mirror_first_seen
    assert backlog[NEVER].due_since == first_seen
    # Due since its refresh became older than the max age: 30 + 2 hours ago, less 24.
    assert backlog[ACTIVE_STALE].behind(NOW) == 8 * HOUR
    assert backlog[STALE].behind(NOW) == 10 * HOUR
    assert not any(row.more for row in backlog.values())

    bounded = {row.name: row for row in due_backlog(bound=2, now=NOW)}
    assert (bounded[STALE].count, bounded[STALE].more) == (2, True)


def test_an_empty_queue_has_no_backlog():
    lead(1, mirror_refreshed_at=NOW)
    assert leads_due(10, now=NOW) == []
    assert all(row.count == 0 and row.behind(NOW) is None for row in due_backlog(bound=10))
