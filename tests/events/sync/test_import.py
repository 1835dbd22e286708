"""Importing leads from Kartra's export CSV or a plain list: pending leads, refresh requests,
safe to re-run."""

import pytest
from django.core.management import call_command

from leads.models import Lead, MirrorStatus
from leads.services.importing import lead_refs_read, leads_import

pytestmark = pytest.mark.django_db

CSV = """\
"First Name","Last Name","Email Address","Lead ID","Phone"
Joe,Smith,joe@example.com,1001,123
Ana,Garcia,ANA@example.com,1002,
Liam,Kim,,1003,
Mia,Rossi,mia@example.com,,
Bad,Row,not-an-email,abc,
Joe,Again,joe@example.com,1001,
"""


def run_import(path) -> str:
    from io import StringIO

    out, err = StringIO(), StringIO()
    call_command("kartra_import_leads", str(path), stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


def test_csv_export_by_header(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text(CSV)

    output = run_import(path)

    assert "CSV columns 'Lead ID', 'Email Address'" in output
    assert "Created 4 pending leads; 0 already in the mirror; 1 invalid lines; 1 repeated" in output
    assert "line 6" in output
    leads = {(lead.kartra_id, lead.email) for lead in Lead.objects.all()}
    assert leads == {(1001, "joe@example.com"), (1002, "ANA@example.com"), (1003, ""),
                     (None, "mia@example.com")}  # fmt: skip
    assert set(Lead.objects.values_list("mirror_status", flat=True)) == {MirrorStatus.PENDING}
    assert not Lead.objects.filter(mirror_refresh_requested_at__isnull=True).exists()

    again = run_import(path)  # re-run: nothing new
    assert "Created 0 pending leads; 4 already in the mirror" in again
    assert Lead.objects.count() == 4


def test_plain_list_of_emails_and_ids(tmp_path):
    Lead.objects.create(kartra_id=77, email="known@example.com")  # already mirrored
    Lead.objects.create(email="pending@example.com", mirror_status=MirrorStatus.PENDING)
    path = tmp_path / "leads.txt"
    path.write_text("# exported by hand\n77\n88\nnew@example.com\nPENDING@example.com\n\nnope\n")

    output = run_import(path)

    assert "a plain list" in output
    assert "Created 2 pending leads; 2 already in the mirror; 1 invalid lines" in output
    assert Lead.objects.get(kartra_id=88).mirror_status == MirrorStatus.PENDING
    assert Lead.objects.get(email="new@example.com").kartra_id is None
    assert Lead.objects.get(kartra_id=77).mirror_refresh_requested_at is not None  # never fetched
    assert "Created 0 pending leads; 4 already" in run_import(path)


def test_an_id_teaches_a_pending_email_lead_its_id(tmp_path):
    Lead.objects.create(email="mia@example.com", mirror_status=MirrorStatus.PENDING)
    path = tmp_path / "export.csv"
    path.write_text("email;id\nmia@example.com;1500\n")

    found, refs = lead_refs_read(path)
    report = leads_import(refs)

    assert found == "CSV columns 'id', 'email'"
    assert (report.created, report.existing) == (0, 1)
    assert Lead.objects.get().kartra_id == 1500


def test_import_then_sync_due_fetches_them(tmp_path, fake, fast_client):
    ids = [lead.id for lead in fake.account.leads.values()][:5]
    path = tmp_path / "ids.txt"
    path.write_text("\n".join(map(str, ids)) + "\nnobody@example.com\n")
    run_import(path)

    from io import StringIO

    out = StringIO()
    call_command("kartra_sync", "--due", "--no-catalog", stdout=out)
    deleted = sum(fake.account.leads[i].deleted for i in ids)
    assert f"{5 - deleted} refreshed" in out.getvalue()
    assert f"{1 + deleted} not found or deleted" in out.getvalue()
    assert Lead.objects.get(email="nobody@example.com").mirror_status == MirrorStatus.NOT_FOUND
    assert Lead.objects.filter(mirror_status=MirrorStatus.ACTIVE).count() == 5 - deleted
