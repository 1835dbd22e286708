"""``kartra_audit`` against the fake Kartra: exactly what was changed behind the mirror's
back is reported, with its likely cause; nothing is written unless ``--repair``; a repair
goes through the refresh's writers and leaves nothing to report."""

import hashlib
import json

import pytest
from django.apps import apps
from django.core.serializers.json import DjangoJSONEncoder

from events.models import AuditDifference, AuditRun, DriftCause, SyncRun, SyncRunStatus
from leads.models import Change, Lead, LeadTag, MirrorStatus, Transaction
from tests.events.sync.mirror_check import mismatches

from .conftest import audit, live_leads

pytestmark = pytest.mark.django_db


def fingerprint() -> str:
    """A hash of every row the mirror holds (leads app) and of the sync runs and activity
    (events app): everything but the audit's own records."""
    models = [*apps.get_app_config("leads").get_models(include_auto_created=True)]
    models += [apps.get_model("events", name) for name in ("SyncRun", "Activity", "Delivery")]
    digest = hashlib.sha256()
    for model in models:
        rows = list(model.objects.order_by("pk").values_list())
        digest.update(json.dumps([model.__name__, rows], cls=DjangoJSONEncoder).encode())
    return digest.hexdigest()


def found(run: AuditRun) -> set[tuple]:
    return set(
        AuditDifference.objects.filter(run=run).values_list(
            "lead_kartra_id", "relation", "name", "cause"
        )
    )


@pytest.fixture
def tampered(mirrored):
    """Three leads changed behind the mirror's back: a tag removed, a first name changed,
    a sale deleted. Returns what the audit should report."""
    link = LeadTag.objects.filter(active=True).select_related("lead", "tag").order_by("pk")[0]
    link.delete()
    renamed = Lead.objects.exclude(pk=link.lead_id).filter(mirror_status=MirrorStatus.ACTIVE)[0]
    Lead.objects.filter(pk=renamed.pk).update(first_name="Tampered")
    sale = (
        Transaction.objects.exclude(lead__in=[link.lead_id, renamed.pk])
        .filter(transaction_type="sale")
        .order_by("pk")[0]
    )
    sale.delete()
    return {
        (link.lead.kartra_id, "tag", link.tag.name, DriftCause.MISSED_WEBHOOK),
        (renamed.kartra_id, "profile", "first_name", DriftCause.NO_WEBHOOK),
        (sale.lead.kartra_id, "transaction", str(sale.kartra_id), DriftCause.MISSED_WEBHOOK),
    }


def test_exactly_the_tampered_differences_are_reported_and_nothing_written(tampered, mirrored):
    before = fingerprint()

    output, status = audit("--all")

    assert status == 0, output
    assert fingerprint() == before
    run = AuditRun.objects.get()
    assert found(run) == tampered
    assert (run.status, run.leads_compared, run.leads_differing) == ("succeeded", 10, 3)
    assert run.causes == {DriftCause.MISSED_WEBHOOK: 2, DriftCause.NO_WEBHOOK: 1}
    assert run.api_calls == mirrored.calls["get_lead"] == 10 and not run.repair_run_id
    renamed = next(kartra_id for kartra_id, relation, *_ in tampered if relation == "profile")
    diff = AuditDifference.objects.get(run=run, relation="profile")
    truth = mirrored.account.lead(renamed).first_name
    assert (diff.mirror_value, diff.kartra_value) == ("Tampered", truth)
    assert AuditDifference.objects.get(run=run, relation="tag").mirror_value is None
    assert AuditDifference.objects.get(run=run, relation="tag").kartra_value == "assigned"
    for kartra_id, relation, name, _ in tampered:
        assert f"lead {kartra_id}:" in output
        assert f"  {relation} {name}: mirror " in output
    assert "3 differ (30.0%)" in output


def test_repair_applies_through_a_sync_run_and_a_second_audit_finds_nothing(tampered, mirrored):
    output, status = audit("--all", "--repair")

    assert status == 0, output
    run = AuditRun.objects.get()
    assert found(run) == tampered and run.repair and run.leads_repaired == 3
    repair = SyncRun.objects.get(kind="audit")
    assert run.repair_run == repair and repair.status == SyncRunStatus.SUCCEEDED
    # Kartra's answers equal the last ones stored: the sync run counts them unchanged.
    assert repair.leads_refreshed + repair.leads_unchanged == 3
    assert repair.arguments == {"audit_run": run.pk}
    assert repair.api_calls == 0  # the audit run counts the calls whose answers it applied
    assert f"Repaired 3 leads through sync run {repair.pk}." in output
    # The history says what the repair changed back, and which sync run did it.
    repaired = Change.objects.filter(source="snapshot", ref=repair.pk)
    assert {(c.lead.kartra_id, c.kind, c.name) for c in repaired} == {
        (lead, relation, name) for lead, relation, name, _ in tampered
    }
    renamed = next(c for c in repaired if c.name == "first_name")
    assert renamed.old == "Tampered" and renamed.new not in ("", "Tampered")
    tag = next(c for c in repaired if c.kind == "tag")
    assert (tag.old, tag.new) == (None, "assigned")  # its row was deleted behind our back
    sale = next(c for c in repaired if c.kind == "transaction")
    assert sale.old is None and sale.new["transaction_type"] == "sale"

    output, status = audit("--all")

    assert status == 0 and "0 differ (0.0%)" in output
    assert not AuditRun.objects.latest("pk").differences.exists()
    mirrored_ids = Lead.objects.values_list("kartra_id", flat=True)
    assert [p for i in mirrored_ids for p in _relations(mirrored.account, i)] == []


def _relations(account, lead_id: int) -> list[str]:
    """The mirror check, less what only webhooks tell (activity, forms)."""
    return [
        problem
        for problem in mismatches(account, lead_id)
        if not problem.startswith(f"lead {lead_id} activity")
        and not problem.startswith(f"lead {lead_id} forms")
    ]


def test_max_drift_exit_status(mirrored):
    first = live_leads(mirrored.account)[0]
    Lead.objects.filter(kartra_id=first.id).update(city="Nowhere")

    output, status = audit("--sample", "10", "--max-drift", "10")
    assert status == 0, output  # 1 of 10: not more than 10%

    output, status = audit("--sample", "10", "--max-drift", "9.5")
    assert status == 3 and "10.0% of the compared leads differ, more than 9.5%" in output

    Lead.objects.filter(kartra_id=first.id).update(city=first.city)
    output, status = audit("--sample", "10", "--max-drift", "0")
    assert status == 0, output


def test_show_prints_at_most_n_leads_and_the_run_keeps_them_all(mirrored):
    ids = [lead.id for lead in live_leads(mirrored.account)[:3]]
    Lead.objects.filter(kartra_id__in=ids).update(company="Tampered Inc")

    output, status = audit("--all", "--show", "1")

    run = AuditRun.objects.get()
    assert status == 0 and run.leads_differing == 3
    assert sum(f"lead {i}:" in output for i in ids) == 1
    assert f"… 2 more differing leads in audit run {run.pk} (/admin/events/auditrun/" in output
    assert {d.lead_kartra_id for d in run.differences.all()} == set(ids)

    output, _ = audit("--all", "--show", "0")
    assert not any(f"lead {i}:" in output for i in ids) and "… 3 more" in output


def test_sample_picks_distinct_leads_with_a_kartra_id(mirrored):
    Lead.objects.create(email="pending@example.com", mirror_status=MirrorStatus.PENDING)

    audit("--sample", "4")

    run = AuditRun.objects.get()
    assert (run.kind, run.leads_compared, run.arguments) == ("sample", 4, {"sample": 4})
    requested = [r.field("get_lead[id]") for r in mirrored.requests]
    assert len(requested) == len(set(requested)) == 4 and None not in requested


def test_selection_is_required_and_credentials_are_named(settings, db):
    output, status = audit("--sample", "0")
    assert status == 1 and "positive number" in output
    settings.KARTRA_APP_ID = ""
    output, status = audit("--all")
    assert status == 1 and "KARTRA_APP_ID" in output
