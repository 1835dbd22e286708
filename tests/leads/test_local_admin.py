"""bin/run's first-run superuser."""

from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def _run(password_file) -> str:
    out = StringIO()
    call_command("kartra_local_admin", password_file=str(password_file), stdout=out)
    return out.getvalue()


def test_creates_the_admin_once_and_prints_the_same_login(tmp_path):
    password_file = tmp_path / "admin-password"
    first = _run(password_file)
    password = password_file.read_text().strip()

    assert f"password {password!r}" in first
    assert authenticate(username="admin", password=password).is_superuser
    assert _run(password_file) == first
    assert get_user_model().objects.count() == 1
    assert oct(password_file.stat().st_mode & 0o777) == "0o600"
