"""Fixtures of the API tests: users with and without the view permissions, token clients."""

import pytest
from django.contrib.auth.models import Permission
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import UserFactory

API = "/api/v1/"


def view_permissions():
    return Permission.objects.filter(
        content_type__app_label__in=("leads", "events"), codename__startswith="view_"
    )


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def reader(db):
    """A plain user holding the view permission on every mirrored model."""
    user = UserFactory(username="reader")
    user.user_permissions.add(*view_permissions())
    return user


@pytest.fixture
def client_reader(reader) -> APIClient:
    return token_client(reader)


@pytest.fixture
def client_staff(db) -> APIClient:
    user = UserFactory(username="staff-reader", is_staff=True)
    user.user_permissions.add(*view_permissions())
    return token_client(user)


@pytest.fixture
def client_no_perm(db) -> APIClient:
    return token_client(UserFactory(username="no-perm"))


@pytest.fixture
def client_anonymous() -> APIClient:
    return APIClient()


def get(client: APIClient, path: str, **params):
    """GET /api/v1/<path> with query params; return the response (JSON parsed on .data)."""
    return client.get(API + path, params)


def results(client: APIClient, path: str, **params) -> list[dict]:
    response = get(client, path, **params)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def ids(client: APIClient, path: str, key: str = "id", **params) -> list:
    return [row[key] for row in results(client, path, **params)]


def detail_url(path: str) -> str:
    """The absolute url of a detail as the API writes it (``leads/1034/``)."""
    return f"http://testserver{API}{path}"


def walk(client: APIClient, path: str, **params) -> tuple[list[str], int]:
    """Follow ``next`` links from the first page (of a feed, until no ``more`` rows wait);
    return the urls of the rows seen (every row has one, unlike a Kartra id) and the page
    count."""
    response = get(client, path, **params)
    seen, pages = [], 0
    while True:
        assert response.status_code == 200, response.content
        body = response.json()
        seen += [row["url"] for row in body["results"]]
        pages += 1
        if not body["next"] or body.get("more") is False:
            return seen, pages
        response = client.get(body["next"])
