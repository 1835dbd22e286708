"""The lead list's "Erase lead (GDPR)": a permission of its own, a confirmation page, then
the erasure, recorded (who, when, counts) and shown read-only under Erasures."""

from io import StringIO

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from events.models import Erasure
from leads.models import Lead, LeadTag, Suppression
from tests.factories import make_lead, make_lead_graph

pytestmark = pytest.mark.django_db
LEADS = reverse("admin:leads_lead_changelist")
ERASURES = reverse("admin:events_erasure_changelist")


def staff(django_user_model, username: str, *codenames: str) -> Client:
    user = django_user_model.objects.create_user(username, password="x", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


def ask(client: Client, lead: Lead, **extra):
    return client.post(LEADS, {"action": "erase_lead", "_selected_action": [lead.pk], **extra})


def test_viewing_leads_does_not_grant_erasing(django_user_model):
    viewer = staff(django_user_model, "viewer", "view_lead", "delete_lead", "change_lead")
    lead = make_lead()

    assert b'value="erase_lead"' not in viewer.get(LEADS).content
    ask(viewer, lead, post="yes")

    assert Lead.objects.filter(pk=lead.pk).exists()
    assert not Erasure.objects.exists()


def test_the_action_asks_for_confirmation_then_erases(django_user_model):
    eraser = staff(django_user_model, "dpo", "view_lead", "erase_lead", "view_erasure")
    graph = make_lead_graph(2)
    other = make_lead()
    assert b'value="erase_lead"' in eraser.get(LEADS).content

    page = ask(eraser, graph.lead)

    assert page.status_code == 200
    assert "admin/leads/lead/erase_confirmation.html" in [t.name for t in page.templates]
    text = page.content.decode()
    assert "This cannot be undone" in text and "leads.LeadTag: 2" in text
    assert Lead.objects.filter(pk=graph.lead.pk).exists()  # asked, not done

    done = ask(eraser, graph.lead, post="yes")

    assert done.status_code == 302
    assert not Lead.objects.filter(pk=graph.lead.pk).exists()
    assert not LeadTag.objects.filter(lead_id=graph.lead.pk).exists()
    assert Lead.objects.filter(pk=other.pk).exists()
    record = Erasure.objects.get()
    assert record.actor == "admin:dpo" and record.counts["leads.LeadTag"] == 2
    assert Suppression.objects.count() == 2
    listing = eraser.get(ERASURES).content.decode()
    assert "admin:dpo" in listing and graph.lead.email not in listing


def test_erasures_are_read_only(admin_client):
    make_lead(kartra_id=4242)
    call_command("kartra_erase", "--id", "4242", "--yes", stdout=StringIO())
    record = Erasure.objects.get()
    page = admin_client.get(reverse("admin:events_erasure_change", args=[record.pk]))
    assert page.status_code == 200 and b"leads.Lead" in page.content
    assert b'name="_save"' not in page.content
    assert admin_client.get(reverse("admin:events_erasure_add")).status_code == 403
    delete = admin_client.post(reverse("admin:events_erasure_delete", args=[record.pk]))
    assert delete.status_code == 403 and Erasure.objects.exists()
