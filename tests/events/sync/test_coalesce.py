"""Webhook deliveries request a refresh of their lead; requests for one lead coalesce, so a
burst of deliveries costs one or two get_lead calls (counted by the fake), not one each."""

from datetime import timedelta

import pytest
from django.utils import timezone

from events.sync.refresh import due_refresh_run
from leads.models import Lead, LeadTag
from leads.services.due import leads_due

pytestmark = pytest.mark.django_db


def burst(account, lead_id: int, n: int) -> list[dict]:
    """``n`` deliveries for one lead: tags on and off, page visits, list changes."""
    bodies = []
    tags, pages, lists = list(account.tags), list(account.pages), list(account.lists)
    for i in range(n):
        kind = i % 4
        if kind == 0:
            bodies.append(account.assign_tag(lead_id, tags[i % len(tags)]))
        elif kind == 1:
            bodies.append(account.unassign_tag(lead_id, tags[(i - 1) % len(tags)]))
        elif kind == 2:
            bodies.append(account.kartra_page_visit(lead_id, pages[i % len(pages)]))
        else:
            bodies.append(account.list_subscription(lead_id, lists[i % len(lists)]))
    return bodies


def live_lead(account):
    return next(lead for lead in account.leads.values() if not lead.deleted)


def test_a_burst_of_50_deliveries_costs_one_get_lead(fake, kartra, deliver):
    lead = live_lead(fake.account)
    for body in burst(fake.account, lead.id, 50):
        deliver(body)
    assert Lead.objects.filter(mirror_refresh_requested_at__isnull=False).count() == 1

    fake.reset()
    run = due_refresh_run(kartra, limit=100)

    assert fake.calls["get_lead"] == 1
    assert (run.leads_refreshed, run.api_calls) == (1, 1)
    assert Lead.objects.get(kartra_id=lead.id).mirror_refresh_requested_at is None
    assert due_refresh_run(kartra, limit=100) is None  # nothing due any more
    assert fake.calls["get_lead"] == 1


def test_deliveries_during_a_refresh_cost_one_more_call(fake, kartra, deliver):
    lead = live_lead(fake.account)
    bodies = burst(fake.account, lead.id, 50)
    fake.reset()
    for body in bodies[:25]:
        deliver(body)
    due_refresh_run(kartra, limit=100)  # a refresh in the middle of the burst
    for body in bodies[25:]:
        deliver(body)  # received after that request: a new request
    due_refresh_run(kartra, limit=100)
    assert due_refresh_run(kartra, limit=100) is None

    assert fake.calls["get_lead"] == 2
    expected = {fake.account.tags[t].name for t in fake.account.lead(lead.id).tags}
    mirrored = set(
        LeadTag.objects.filter(lead__kartra_id=lead.id, active=True).values_list(
            "tag__name", flat=True
        )
    )
    assert mirrored == expected


def test_requested_leads_come_first_then_never_refreshed_then_active_then_the_stalest(settings):
    now = timezone.now()
    settings.KARTRA_REFRESH_MAX_AGE = 3600
    old = now - timedelta(hours=2)
    fresh = Lead.objects.create(kartra_id=1, mirror_refreshed_at=now)
    never = Lead.objects.create(kartra_id=2)
    stale_active = Lead.objects.create(
        kartra_id=3, mirror_refreshed_at=old, mirror_last_activity_at=now
    )
    stale_quiet = Lead.objects.create(kartra_id=4, mirror_refreshed_at=old)
    requested = Lead.objects.create(
        kartra_id=5, mirror_refreshed_at=now, mirror_refresh_requested_at=now
    )
    gone = Lead.objects.create(kartra_id=6, mirror_refreshed_at=old, mirror_status="deleted")

    due = [lead.kartra_id for lead in leads_due(10)]

    assert due == [requested.kartra_id, never.kartra_id, stale_active.kartra_id,
                   stale_quiet.kartra_id]  # fmt: skip
    assert fresh.kartra_id not in due and gone.kartra_id not in due
    assert [lead.kartra_id for lead in leads_due(2)] == [5, 2]


def test_the_admin_refresh_request_queues_leads_once(fake, kartra):
    from leads.services.lead import lead_request_refresh

    ids = [lead.id for lead in fake.account.leads.values() if not lead.deleted][:2]
    leads = [Lead.objects.create(kartra_id=i) for i in ids]
    assert lead_request_refresh(lead_ids=[leads[0].pk]) == 1
    first_request = Lead.objects.get(pk=leads[0].pk).mirror_refresh_requested_at
    assert lead_request_refresh(lead_ids=[lead.pk for lead in leads]) == 2
    assert Lead.objects.get(pk=leads[0].pk).mirror_refresh_requested_at == first_request

    fake.reset()
    run = due_refresh_run(kartra, limit=10)
    assert run.leads_refreshed == 2 and fake.calls["get_lead"] == 2


def test_a_failing_lead_is_retried_later_not_at_every_pass(fake, kartra):
    lead_id = next(lead.id for lead in fake.account.leads.values() if not lead.deleted)
    lead = Lead.objects.create(kartra_id=lead_id, mirror_refresh_requested_at=timezone.now())
    fake.reset()
    fake.inject(*["garbage"] * 4)  # every try of the call

    run = due_refresh_run(kartra, limit=10)

    assert run.leads_failed == 1
    assert due_refresh_run(kartra, limit=10) is None  # it waits, the loop can idle
    lead.refresh_from_db()
    assert lead.mirror_refresh_requested_at > timezone.now() + timedelta(minutes=14)
    later = timezone.now() + timedelta(minutes=16)
    assert [row.pk for row in leads_due(10, now=later)] == [lead.pk]
    assert fake.calls["get_lead"] == 4
