"""The daily sample: on Celery beat's schedule, and in ``kartra_serve``'s refresh loop when
no broker runs; once a day, of ``KARTRA_AUDIT_DAILY_SAMPLE`` leads, repairing what differs."""

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from events.audit.runs import audit_daily_due
from events.models import AuditRun, SyncRun
from events.sync.loop import RefreshLoop
from events.tasks import audit_daily_task
from kartra_mirror.celery import app
from leads.models import Lead

from .conftest import live_leads

pytestmark = pytest.mark.django_db


def test_beat_schedules_the_daily_task():
    entry = django_settings.CELERY_BEAT_SCHEDULE["kartra-audit-daily"]
    assert entry == {"task": "leads.audit_daily", "schedule": 86400.0}
    assert "leads.audit_daily" in app.tasks


def test_the_task_audits_a_sample_once_a_day_and_repairs_it(mirrored, settings):
    settings.KARTRA_AUDIT_DAILY_SAMPLE = 10  # every lead of the mirror
    changed = live_leads(mirrored.account)[0]
    Lead.objects.filter(kartra_id=changed.id).update(last_name="Tampered")

    run = AuditRun.objects.get(pk=audit_daily_task())

    assert (run.kind, run.leads_compared, run.leads_differing, run.repair) == (
        "daily", 10, 1, True,
    )  # fmt: skip
    assert run.arguments == {"sample": 10} and run.leads_repaired == 1
    assert Lead.objects.get(kartra_id=changed.id).last_name == changed.last_name
    assert SyncRun.objects.get(kind="audit") == run.repair_run

    assert audit_daily_task() is None  # not due again today
    AuditRun.objects.update(started_at=timezone.now() - timedelta(hours=21))
    assert audit_daily_due()


def test_a_sample_of_0_turns_it_off(mirrored, settings):
    settings.KARTRA_AUDIT_DAILY_SAMPLE = 0
    assert audit_daily_task() is None
    assert not AuditRun.objects.exists() and mirrored.calls["get_lead"] == 0


def test_the_refresh_loop_runs_it_after_the_due_refresh(mirrored, fast_client, settings):
    settings.KARTRA_AUDIT_DAILY_SAMPLE = 10  # every lead: the stale one too
    requested = live_leads(mirrored.account)[0].id
    Lead.objects.filter(kartra_id=requested).update(
        first_name="Stale", mirror_refresh_requested_at=timezone.now()
    )
    loop = RefreshLoop(client_factory=fast_client, tick=1.0)

    assert loop.run_once() == (True, False)

    run = AuditRun.objects.get()
    assert (run.kind, run.leads_compared) == ("daily", 10)
    # The requested lead was refreshed first: nothing differs.
    assert run.leads_differing == 0
    assert loop.run_once() == (False, False)  # nothing due, the day audited
    assert AuditRun.objects.count() == 1
