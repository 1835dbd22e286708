"""Leads only one side knows: deleted or never known in Kartra, unknown to the mirror."""

import pytest

from events.models import AuditDifference, AuditRun, DriftCause
from leads.models import Lead, MirrorStatus

from .conftest import audit, live_leads

pytestmark = pytest.mark.django_db


def differences(run: AuditRun) -> dict[int | None, tuple]:
    return {
        d.lead_kartra_id: (d.relation, d.name, d.mirror_value, d.kartra_value, d.cause)
        for d in AuditDifference.objects.filter(run=run)
    }


@pytest.fixture
def leads_file(mirrored, tmp_path):
    """A file naming a lead deleted in Kartra since, one the mirror holds and Kartra never
    had, one nobody has, and (by email) a lead Kartra has and the mirror never heard of."""
    deleted = live_leads(mirrored.account)[0].id
    mirrored.account.delete_lead(deleted)
    Lead.objects.create(kartra_id=888_888, email="ghost@example.com")
    new = mirrored.account.create_lead("newcomer@example.com", "New", "Comer")
    path = tmp_path / "leads.txt"
    path.write_text(f"{deleted}\n888888\n999999\nnot a lead\nNEWCOMER@example.com\n")
    return path, deleted, new.id


def test_each_is_reported_with_its_cause_then_repaired(leads_file):
    path, deleted, new = leads_file

    output, status = audit("--leads", str(path))

    assert status == 0, output
    run = AuditRun.objects.get()
    assert (run.kind, run.leads_compared, run.leads_not_found, run.leads_differing) == (
        "leads", 4, 3, 3,
    )  # fmt: skip
    assert differences(run) == {
        deleted: ("lead", "status", "active", "deleted", DriftCause.LEAD_DELETED),
        888_888: ("lead", "status", "active", "not_found", DriftCause.LEAD_DELETED),
        new: ("lead", "status", None, "active", DriftCause.LEAD_UNKNOWN),
    }
    assert "line 4: not an email or lead id: 'not a lead'" in output
    assert not Lead.objects.filter(kartra_id=new).exists()

    audit("--leads", str(path), "--repair")

    statuses = dict(Lead.objects.values_list("kartra_id", "mirror_status"))
    assert statuses[deleted] == MirrorStatus.DELETED
    assert statuses[888_888] == MirrorStatus.NOT_FOUND
    assert statuses[new] == MirrorStatus.ACTIVE
    assert AuditRun.objects.latest("pk").leads_repaired == 3

    audit("--leads", str(path))
    assert AuditRun.objects.latest("pk").leads_differing == 0


def test_a_lead_imported_by_email_and_not_fetched_yet_is_unknown_to_the_mirror(mirrored, tmp_path):
    lead = live_leads(mirrored.account)[1]
    Lead.objects.filter(kartra_id=lead.id).delete()
    Lead.objects.create(email=lead.email, mirror_status=MirrorStatus.PENDING)
    path = tmp_path / "leads.txt"
    path.write_text(f"{lead.email}\n")

    audit("--leads", str(path))

    diff = AuditDifference.objects.get()
    assert (diff.lead_kartra_id, diff.mirror_value, diff.cause) == (
        lead.id, "pending", DriftCause.LEAD_UNKNOWN,
    )  # fmt: skip
    assert diff.lead == Lead.objects.get(email=lead.email)


def test_a_deleted_lead_the_mirror_knows_deleted_does_not_differ(mirrored):
    gone = next(lead.id for lead in mirrored.account.leads.values() if lead.deleted)
    Lead.objects.create(kartra_id=gone, mirror_status=MirrorStatus.DELETED, lead_deleted=True)

    audit("--all")

    run = AuditRun.objects.get()
    assert (run.leads_not_found, run.leads_differing) == (1, 0)
