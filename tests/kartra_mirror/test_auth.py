"""kartra_mirror.auth: the one-query permission backend and token authentication answer
exactly as Django's ModelBackend and DRF's TokenAuthentication do."""

import pytest
from django.contrib.auth import backends as django_backends
from django.contrib.auth.models import Group, Permission
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from kartra_mirror.auth import ModelBackend
from tests import factories as f
from tests.kartra_mirror.api.conftest import token_client

pytestmark = pytest.mark.django_db


def perms(*codenames: str) -> list[Permission]:
    return list(Permission.objects.filter(codename__in=codenames))


@pytest.fixture
def group():
    group = Group.objects.create(name="readers")
    group.permissions.add(*perms("view_tag", "view_list", "view_lead"))
    return group


def fresh(user):
    """The user as a new request sees it: no permission cache."""
    return type(user).objects.get(pk=user.pk)


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda group: f.UserFactory(), id="no permissions"),
        pytest.param(
            lambda group: _with(f.UserFactory(), own=("view_lead", "view_product")), id="own"
        ),
        pytest.param(lambda group: _with(f.UserFactory(), groups=(group,)), id="group"),
        pytest.param(
            lambda group: _with(f.UserFactory(), own=("view_lead",), groups=(group,)), id="both"
        ),
        pytest.param(
            lambda group: _with(f.UserFactory(is_active=False), own=("view_lead",)),
            id="inactive",
        ),
        pytest.param(lambda group: f.UserFactory(is_superuser=True), id="superuser"),
    ],
)
def test_backend_answers_as_djangos(group, make):
    user = make(group)
    ours, django = ModelBackend(), django_backends.ModelBackend()
    assert ours.get_all_permissions(fresh(user)) == django.get_all_permissions(fresh(user))
    for perm in ("leads.view_lead", "leads.view_tag", "leads.view_product", "events.view_delivery"):
        assert ours.has_perm(fresh(user), perm) == django.has_perm(fresh(user), perm)


def _with(user, *, own=(), groups=()):
    user.user_permissions.add(*perms(*own))
    user.groups.add(*groups)
    return user


def test_backend_reads_permissions_in_one_query(group, django_assert_num_queries):
    user = _with(f.UserFactory(), own=("view_product",), groups=(group,))
    user = fresh(user)
    with django_assert_num_queries(1):
        assert ModelBackend().get_all_permissions(user) == {
            "leads.view_product",
            "leads.view_tag",
            "leads.view_list",
            "leads.view_lead",
        }
        assert user.has_perm("leads.view_tag")  # cached on the user for the request


def test_token_brings_group_permissions(group):
    client = token_client(_with(f.UserFactory(), groups=(group,)))
    assert client.get("/api/v1/tags/").status_code == 200
    assert client.get("/api/v1/products/").status_code == 403


def test_permission_changes_apply_to_the_next_request(group):
    user = _with(f.UserFactory(), own=("view_product",))
    client = token_client(user)
    assert client.get("/api/v1/products/").status_code == 200
    user.user_permissions.clear()
    assert client.get("/api/v1/products/").status_code == 403
    user.groups.add(group)
    assert client.get("/api/v1/tags/").status_code == 200
    group.permissions.clear()
    assert client.get("/api/v1/tags/").status_code == 403


def test_superuser_token_reads_everything():
    client = token_client(f.UserFactory(is_superuser=True, is_staff=True))
    assert client.get("/api/v1/leads/").status_code == 200
    assert client.get("/api/v1/deliveries/").status_code == 200


@pytest.mark.parametrize(
    ("header", "detail"),
    [
        ("Token unknown-key", "Invalid token."),
        ("Token", "Invalid token header. No credentials provided."),
        ("Token a b", "Invalid token header. Token string should not contain spaces."),
    ],
)
def test_bad_tokens_get_drfs_401(header, detail):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/leads/")
    assert response.status_code == 401
    assert response.json() == {"detail": detail}
    assert response["WWW-Authenticate"] == "Token"


def test_inactive_users_token_gets_401():
    user = _with(f.UserFactory(), own=("view_lead",))
    client = token_client(user)
    user.is_active = False
    user.save()
    response = client.get("/api/v1/leads/")
    assert response.status_code == 401
    assert response.json() == {"detail": "User inactive or deleted."}


def test_deleted_token_gets_401():
    user = _with(f.UserFactory(), own=("view_lead",))
    client = token_client(user)
    Token.objects.filter(user=user).delete()
    assert client.get("/api/v1/leads/").status_code == 401
