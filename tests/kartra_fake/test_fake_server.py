"""The fake's HTTP protocol quirks, its script entry and the settings factory."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from kartra_fake import FakeKartra
from kartra_mirror.kartra import factory
from kartra_mirror.kartra.client import KartraClient
from tests.kartra_mirror.kartra.conftest import CREDENTIALS

REPO = Path(__file__).resolve().parents[2]
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _post(fake: FakeKartra, body: str, headers: dict | None = None) -> httpx.Response:
    creds = "&".join(f"{k}={v}" for k, v in CREDENTIALS.items())
    return httpx.post(
        fake.base_url,
        content=f"{creds}&{body}" if body else creds,
        headers=headers if headers is not None else FORM,
    )


@pytest.mark.parametrize(
    ("body", "type_code"),
    [
        ("", "254"),  # no command at all
        ("actions[0][cmd]=", "254"),
        ("get_lead[email]=", "206"),
        ("get_lead[email]=nobody@example.com", "234"),
        ("get_lead[id]=1002", "245"),
    ],
)
def test_errors_are_http_200_json_with_string_type(fake: FakeKartra, body: str, type_code: str):
    response = _post(fake, body)
    assert response.status_code == 200
    assert response.json() == {
        "status": "Error",
        "message": response.json()["message"],
        "type": type_code,
    }


def test_generic_call_form_with_empty_brackets(fake: FakeKartra) -> None:
    # 003 doc: {"actions[][cmd]": "retrieve_account_pages"}
    response = _post(
        fake, "actions[][cmd]=retrieve_account_pages&actions[][cmd]=retrieve_account_tags"
    )
    answer = response.json()
    assert answer["status"] == "Success"
    assert answer["account_pages"] and answer["account_tags"]


def test_json_body_reads_as_an_empty_form(fake: FakeKartra) -> None:
    response = httpx.post(fake.base_url, json={**CREDENTIALS, "get_lead": {"id": "1001"}})
    assert response.json()["type"] == "202"  # PHP's $_POST is empty: no API key


def test_429_body_is_plain_text(fake: FakeKartra) -> None:
    fake.inject("429")
    response = _post(fake, "get_lead[id]=1001")
    assert response.status_code == 429
    assert response.text == "Too many requests"
    assert response.headers["content-type"].startswith("text/plain")


def test_request_log_redacts_secrets_and_counts_commands(fake: FakeKartra) -> None:
    _post(fake, "get_lead[id]=1001")
    _post(fake, "actions[0][cmd]=retrieve_custom_fields")
    assert fake.calls == {"get_lead": 1, "retrieve_custom_fields": 1}
    for request in fake.requests:
        assert request.field("api_key") == request.field("api_password") == "<redacted>"
        assert CREDENTIALS["api_key"] not in repr(request)


def test_unknown_fault_is_refused(fake: FakeKartra) -> None:
    with pytest.raises(ValueError):
        fake.inject("503")  # type: ignore[arg-type]


def test_script_entry_serves_the_fake() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "kartra_fake", "--port", "0", "--leads", "8"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        base_url = re.search(r"(http://\S+/api)", first).group(1)
        client = KartraClient(base_url, "fake-app-id", "fake-api-key", "fake-api-password")
        assert client.get_lead(lead_id=1001)["id"] == "1001"
        client.close()
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_client_from_settings(monkeypatch: pytest.MonkeyPatch, fake: FakeKartra) -> None:
    monkeypatch.setattr(
        factory,
        "settings",
        SimpleNamespace(
            KARTRA_API_URL=fake.base_url,
            KARTRA_API_RATE=5,
            KARTRA_REDIS_URL="",
            KARTRA_API_TIMEOUT=2.5,
            **{f"KARTRA_{k.upper()}": v for k, v in CREDENTIALS.items()},
        ),
    )
    client = factory.client_from_settings(max_tries=1)
    assert client.base_url == fake.base_url
    assert client.max_tries == 1
    assert client.limiter is factory.client_from_settings().limiter  # one per process
    assert client.get_lead(lead_id=1001)["id"] == "1001"
    assert json.dumps(client.stats.as_dict()) == (
        '{"calls": 1, "throttled": 0, "retries": 0, "errors": 0}'
    )


def test_client_from_settings_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(factory, "settings", SimpleNamespace())
    client = factory.client_from_settings()
    assert client.base_url == "https://app.kartra.com/api"
    assert client._http.timeout.read == 10.0
