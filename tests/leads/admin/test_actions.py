"""Each admin action is registered and does what it says."""

import csv
import io

import pytest
from django.contrib import admin
from django.urls import reverse

from events.models import Delivery, DeliveryStatus
from leads.models import CustomField, CustomFieldOption, CustomFieldValue, FieldType, Lead
from tests.factories import make_delivery, make_lead, make_lead_graph, observed

pytestmark = pytest.mark.django_db
LEADS = reverse("admin:leads_lead_changelist")
DELIVERIES = reverse("admin:events_delivery_changelist")


def actions_of(model, rf, user) -> set[str]:
    request = rf.get("/")
    request.user = user
    return set(admin.site._registry[model].get_actions(request))


def test_actions_are_registered(rf, admin_user):
    assert {"refresh_from_kartra", "export_csv"} <= actions_of(Lead, rf, admin_user)
    assert "reprocess" in actions_of(Delivery, rf, admin_user)
    # Read-only: Django's bulk delete is not offered.
    assert "delete_selected" not in actions_of(Lead, rf, admin_user)


def test_refresh_action_requests_a_refresh(admin_client):
    chosen, other = make_lead(), make_lead()
    response = admin_client.post(
        LEADS,
        {"action": "refresh_from_kartra", "_selected_action": [chosen.pk]},
        follow=True,
    )
    assert "Refresh requested for 1 lead" in response.content.decode()
    chosen.refresh_from_db()
    other.refresh_from_db()
    assert chosen.mirror_refresh_requested_at is not None
    assert other.mirror_refresh_requested_at is None


def test_refresh_button_on_the_lead_page(admin_client):
    lead = make_lead()
    page = admin_client.get(reverse("admin:leads_lead_change", args=[lead.pk]))
    refresh_url = reverse("admin:leads_lead_refresh", args=[lead.pk])
    assert f'action="{refresh_url}"' in page.content.decode()
    assert admin_client.get(refresh_url).status_code == 405  # POST only
    response = admin_client.post(refresh_url, follow=True)
    assert response.redirect_chain[-1][0] == reverse("admin:leads_lead_change", args=[lead.pk])
    lead.refresh_from_db()
    assert lead.mirror_refresh_requested_at is not None


def test_refresh_button_needs_csrf(client, admin_user):
    from django.test import Client

    lead = make_lead()
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(admin_user)
    response = strict.post(reverse("admin:leads_lead_refresh", args=[lead.pk]))
    assert response.status_code == 403
    lead.refresh_from_db()
    assert lead.mirror_refresh_requested_at is None


def read_csv(response) -> list[dict]:
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_export_csv_action(admin_client):
    graph = make_lead_graph(2)
    lead = graph.lead
    not_chosen = make_lead(email="other@example.com")
    formula = make_lead(first_name="=HYPERLINK(1)", email="formula@example.com")
    response = admin_client.post(
        LEADS,
        {"action": "export_csv", "_selected_action": [lead.pk, formula.pk]},
    )
    rows = read_csv(response)
    assert [row["kartra_id"] for row in rows] == [str(lead.kartra_id), str(formula.kartra_id)]
    assert not_chosen.email not in {row["email"] for row in rows}
    row = rows[0]
    assert row["email"] == lead.email
    # Active tags only (the builder leaves both of these assigned), lists, custom fields.
    assert row["tags"] == "; ".join(sorted(tag.name for tag in graph.tags))
    assert row["lists"] == "; ".join(
        sorted(sub.list.name for sub in lead.list_subscriptions.select_related("list"))
    )
    text_field, choice_field = CustomField.objects.filter(values__lead=lead).order_by("pk")
    assert row[f"custom:{text_field.identifier}"] == "text 0"
    assert row[f"custom:{choice_field.identifier}"] == "opt 1"
    # Another lead's empty custom column, and a cell a spreadsheet would run, made inert.
    assert rows[1][f"custom:{text_field.identifier}"] == ""
    assert rows[1]["first_name"] == "'=HYPERLINK(1)"


def test_export_streams_many_leads_in_fixed_queries(admin_client, django_assert_max_num_queries):
    from leads.admin.export import lead_csv_rows

    field = CustomField.objects.create(identifier="color", field_type=FieldType.CHECKBOX)
    option = CustomFieldOption.objects.create(field=field, kartra_id=1, value="blue")
    for _ in range(30):
        value = CustomFieldValue.objects.create(lead=make_lead(), field=field, **observed())
        value.options.add(option)
    # 1 catalogue + per chunk: leads, tags, lists, custom values, their options.
    with django_assert_max_num_queries(1 + 2 * 5 + 1):
        rows = list(lead_csv_rows(Lead.objects.all(), chunk_size=20))
    assert len(rows) == 31 and rows[1][-1] == "blue"


def test_export_link_on_the_lead_page(admin_client):
    lead = make_lead()
    response = admin_client.get(reverse("admin:leads_lead_export", args=[lead.pk]))
    assert [row["email"] for row in read_csv(response)] == [lead.email]


def test_reprocess_action_runs_the_webhook_service(admin_client):
    body = (
        b'{"lead": {"id": "777", "email": "replayed@example.com", "first_name": "Re"},'
        b' "action": "assign_tag", "action_details": {"tag": {"tag_id": "5",'
        b' "tag_name": "Replayed"}}}'
    )
    delivery = make_delivery(
        lead=None, action="", status=DeliveryStatus.FAILED, body=body, error="boom"
    )
    response = admin_client.post(
        DELIVERIES, {"action": "reprocess", "_selected_action": [delivery.pk]}, follow=True
    )
    assert "Reprocessed 1: 1 processed" in response.content.decode()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PROCESSED and delivery.error == ""
    lead = Lead.objects.get(kartra_id=777)
    assert delivery.lead == lead
    assert lead.tag_links.get().tag.name == "Replayed"


def test_reprocess_reports_failures(admin_client):
    delivery = make_delivery(lead=None, action="", body=b"not json at all")
    response = admin_client.post(
        DELIVERIES, {"action": "reprocess", "_selected_action": [delivery.pk]}, follow=True
    )
    assert "1 rejected" in response.content.decode()


def test_reprocess_button_on_the_delivery_page(admin_client):
    delivery = make_delivery(lead=None, action="", body=b"{}")
    url = reverse("admin:events_delivery_reprocess", args=[delivery.pk])
    page = admin_client.get(reverse("admin:events_delivery_change", args=[delivery.pk]))
    assert f'action="{url}"' in page.content.decode()
    admin_client.post(url)
    delivery.refresh_from_db()
    assert delivery.attempts == 1


def test_reprocess_needs_the_change_permission(client, django_user_model):
    from django.contrib.auth.models import Permission

    viewer = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_delivery"))
    client.force_login(viewer)
    delivery = make_delivery(lead=None, action="", body=b"{}")
    url = reverse("admin:events_delivery_reprocess", args=[delivery.pk])
    assert client.post(url).status_code == 403
    listing = client.get(DELIVERIES)
    assert listing.status_code == 200 and b'value="reprocess"' not in listing.content
    delivery.refresh_from_db()
    assert delivery.attempts == 0
