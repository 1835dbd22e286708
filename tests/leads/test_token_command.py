"""``manage.py kartra_api_token``: creates and prints the token a tool reads the API with."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests import factories as f

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    from io import StringIO

    out, err = StringIO(), StringIO()
    call_command("kartra_api_token", *args, stdout=out, stderr=err)
    return out.getvalue().strip()


def test_prints_the_existing_users_token_and_keeps_it():
    user = f.UserFactory(username="dash")
    key = run("dash")
    assert key == Token.objects.get(user=user).key
    assert run("dash") == key


def test_missing_user_is_an_error_unless_created():
    with pytest.raises(CommandError, match="--create-user"):
        run("ghost")
    key = run("ghost", "--create-user")
    user = get_user_model().objects.get(username="ghost")
    assert not user.has_usable_password() and not user.is_staff
    assert Token.objects.get(user=user).key == key


def test_staff_grant_view_and_rotate():
    key = run("ops", "--create-user", "--staff", "--grant-view")
    user = get_user_model().objects.get(username="ops")
    assert user.is_staff and user.has_perm("events.view_delivery")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/deliveries/").status_code == 200
    new_key = run("ops", "--rotate")
    assert new_key != key
    assert client.get("/api/v1/deliveries/").status_code == 401
