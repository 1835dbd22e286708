"""A lead on the suppression list (erased) is not fetched from Kartra again."""

from io import StringIO

import pytest
from django.core.management import call_command

from events.models import SyncRun
from leads.models import Lead
from leads.services.suppression import suppression_add

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready(fake, fast_client):
    fake.reset()
    return fake


def test_suppressed_ids_and_emails_are_skipped(ready):
    live = [lead.id for lead in ready.account.leads.values() if not lead.deleted]
    first, second, third = live[:3]
    email = ready.account.lead(third).email
    suppression_add(kartra_ids=[first], emails=[email.upper()])

    call_command(
        "kartra_sync", "--id", f"{first},{second}", "--email", email, "--no-catalog",
        stdout=StringIO(), stderr=StringIO(),
    )  # fmt: skip

    assert set(Lead.objects.values_list("kartra_id", flat=True)) == {second}
    assert ready.calls["get_lead"] == 1


def test_an_import_does_not_bring_an_erased_lead_back(tmp_path):
    suppression_add(kartra_ids=[88], emails=["gone@example.com"])
    path = tmp_path / "leads.txt"
    path.write_text("88\n89\nGONE@example.com\n")
    out = StringIO()

    call_command("kartra_import_leads", str(path), stdout=out, stderr=StringIO())

    assert set(Lead.objects.values_list("kartra_id", flat=True)) == {89}
    assert "Created 1 pending leads" in out.getvalue()
    assert "2 erased (on the suppression list)" in out.getvalue()


def test_an_answer_naming_an_erased_lead_is_not_applied_whatever_asked(ready):
    """Asked by an email that is not suppressed (the lead's new address, say), Kartra answers
    with an erased lead's id: the answer is dropped, counted as unchanged."""
    live = [lead.id for lead in ready.account.leads.values() if not lead.deleted]
    erased, kept = live[:2]
    suppression_add(kartra_ids=[erased])  # the id only: its email is not on the list

    call_command(
        "kartra_sync", "--email", ready.account.lead(erased).email, "--id", str(kept),
        "--no-catalog", stdout=StringIO(), stderr=StringIO(),
    )  # fmt: skip

    assert ready.calls["get_lead"] == 2  # asked: only the answer names the erased lead
    assert set(Lead.objects.values_list("kartra_id", flat=True)) == {kept}
    run = SyncRun.objects.latest("pk")
    assert (run.leads_refreshed, run.leads_unchanged, run.leads_failed) == (1, 1, 0)
