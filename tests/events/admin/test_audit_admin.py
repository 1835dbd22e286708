"""Audit runs and their differences in the admin: read-only, linked to each other."""

import pytest
from django.urls import reverse

from events.models import AuditDifference, DriftCause
from tests.factories import make_audit_run, make_lead

pytestmark = pytest.mark.django_db
RUNS = reverse("admin:events_auditrun_changelist")
DIFFERENCES = reverse("admin:events_auditdifference_changelist")


def listed(client, url, **params) -> set[int]:
    response = client.get(url, params)
    assert response.status_code == 200
    return {obj.pk for obj in response.context["cl"].result_list}


def test_run_list_and_page_show_the_drift_and_link_the_differences(admin_client):
    lead = make_lead(kartra_id=4242)
    run = make_audit_run(lead, leads_compared=8)

    content = admin_client.get(RUNS).content.decode()
    assert "12.5%" in content  # 1 of 8 leads differed
    page = admin_client.get(reverse("admin:events_auditrun_change", args=[run.pk]))
    content = page.content.decode()
    assert f"{DIFFERENCES}?run__id__exact={run.pk}" in content
    assert "1 missed webhook" in content
    assert "Save" not in content and "Delete" not in content  # read-only


def test_difference_list_filters_by_run_cause_and_kartra_id(admin_client):
    first, second = make_lead(kartra_id=4242), make_lead(kartra_id=5353)
    run, other = make_audit_run(first), make_audit_run(second)
    mine = AuditDifference.objects.get(run=run)
    theirs = AuditDifference.objects.get(run=other)
    AuditDifference.objects.filter(pk=theirs.pk).update(cause=DriftCause.NO_WEBHOOK)

    assert listed(admin_client, DIFFERENCES, run__id__exact=run.pk) == {mine.pk}
    assert listed(admin_client, DIFFERENCES, cause__exact="no_webhook") == {theirs.pk}
    assert listed(admin_client, DIFFERENCES, q="#5353") == {theirs.pk}
    assert listed(admin_client, DIFFERENCES, q="ada") == set()

    content = admin_client.get(DIFFERENCES).content.decode()
    assert reverse("admin:leads_lead_change", args=[first.pk]) in content
    assert reverse("admin:events_auditrun_change", args=[run.pk]) in content
    assert "&quot;assigned&quot;" in content and "none" in content


def test_difference_page_shows_both_values(admin_client):
    run = make_audit_run(make_lead())
    difference = run.differences.get()
    AuditDifference.objects.filter(pk=difference.pk).update(
        mirror_value={"status": "active", "step": 2}
    )
    url = reverse("admin:events_auditdifference_change", args=[difference.pk])
    content = admin_client.get(url).content.decode()
    assert "&quot;step&quot;: 2" in content and "&quot;assigned&quot;" in content
    assert admin_client.post(url, {}).status_code == 403
