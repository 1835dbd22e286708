"""Every registered model's list and view page render for a superuser, all read-only."""

import pytest
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.auth.models import Group
from django.urls import reverse

from events.models import Activity, Delivery, SyncRun
from leads.models import Lead, Segment

pytestmark = pytest.mark.django_db

# Models the mirror does not own: Django's users and groups, DRF's tokens.
NOT_MIRRORED = {"auth", "authtoken"}
# The mirror's own data that people edit (tests/leads/admin/test_segments.py).
EDITABLE = {Segment}


def mirrored_models():
    return [
        model
        for model in admin.site._registry
        if model._meta.app_label not in NOT_MIRRORED and model not in EDITABLE
    ]


def admin_url(model, view, *args):
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


@pytest.fixture
def every_instance(every_model, admin_user):
    from rest_framework.authtoken.models import Token

    Group.objects.create(name="operations")
    Token.objects.create(user=admin_user)
    return every_model


def test_every_leads_and_events_model_is_registered():
    from django.apps import apps

    expected = {
        *apps.get_app_config("leads").get_models(),
        *apps.get_app_config("events").get_models(),
    }
    missing = {model.__name__ for model in expected if model not in admin.site._registry}
    # Through tables of many-to-many fields are shown on their owner's page.
    assert not {name for name in missing if "_" not in name}


@pytest.mark.parametrize("model", list(admin.site._registry), ids=lambda m: m._meta.label)
def test_changelist_and_view_page_render(admin_client, every_instance, model):
    response = admin_client.get(admin_url(model, "changelist"))
    assert response.status_code == 200, model
    obj = model._default_manager.order_by("pk").first()
    assert obj is not None, f"no {model.__name__} built"
    response = admin_client.get(admin_url(model, "change", quote(obj.pk)))
    assert response.status_code == 200, model
    if model in mirrored_models():
        # View-only: no save buttons, no editable inputs.
        assert b'name="_save"' not in response.content


@pytest.mark.parametrize("model", mirrored_models(), ids=lambda m: m._meta.label)
def test_mirrored_data_is_read_only(admin_client, every_instance, model, rf, admin_user):
    model_admin = admin.site._registry[model]
    request = rf.get("/")
    request.user = admin_user
    obj = model._default_manager.order_by("pk").first()
    assert model_admin.has_view_permission(request, obj)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, obj)
    assert not model_admin.has_delete_permission(request, obj)
    assert admin_client.get(admin_url(model, "add")).status_code == 403
    delete = admin_client.post(admin_url(model, "delete", quote(obj.pk)), {"post": "yes"})
    assert delete.status_code == 403
    assert model._default_manager.filter(pk=obj.pk).exists()


def test_posting_a_change_is_refused(admin_client, lead_graph):
    lead = lead_graph.lead
    response = admin_client.post(
        admin_url(Lead, "change", lead.pk), {"email": "changed@example.com"}
    )
    assert response.status_code == 403
    lead.refresh_from_db()
    assert lead.email != "changed@example.com"


def test_lead_view_page_shows_every_field(admin_client, lead_graph):
    lead_admin = admin.site._registry[Lead]
    from django.contrib.admin.utils import flatten_fieldsets

    shown = set(flatten_fieldsets(lead_admin.fieldsets)) | {"mirror_raw"}
    fields = {field.name for field in Lead._meta.concrete_fields if not field.primary_key}
    assert fields <= shown


@pytest.mark.parametrize("model", [Delivery, Activity, SyncRun], ids=lambda m: m.__name__)
def test_event_pages_pretty_print_json(admin_client, every_instance, model):
    obj = model.objects.order_by("pk").first()
    response = admin_client.get(admin_url(model, "change", obj.pk))
    assert b'class="kartra-json"' in response.content


def test_root_redirects_to_the_admin(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/admin/"
