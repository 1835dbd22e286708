"""Typed errors, retries and their bounds, and credentials kept out of errors and logs."""

from __future__ import annotations

import logging

import httpx
import pytest

from kartra_fake import UNKNOWN_COMMAND_TYPE, FakeKartra
from kartra_mirror.kartra.client import KartraClient
from kartra_mirror.kartra.errors import (
    CredentialsRefused,
    KartraError,
    KartraUnavailable,
    LeadDeleted,
    LeadNotFound,
    RateLimited,
    UnexpectedAnswer,
    error_for_type,
    redact,
)

from .conftest import CREDENTIALS

DELETED_LEAD = 1002  # generate_account deletes lead index 1


@pytest.fixture(autouse=True)
def _capture_everything(caplog: pytest.LogCaptureFixture):
    """Capture every log record and check no credential ever reached one."""
    caplog.set_level(logging.DEBUG)
    yield
    for secret in CREDENTIALS.values():
        assert secret not in caplog.text


def assert_no_secret(exc: BaseException, client: KartraClient | None = None) -> None:
    for secret in CREDENTIALS.values():
        assert secret not in str(exc)
        assert secret not in repr(exc)
        assert secret not in repr(exc.args)
        if client is not None:
            assert secret not in repr(client)


@pytest.mark.parametrize(
    ("wrong", "type_code"),
    [("api_key", "203"), ("api_password", "233"), ("app_id", "239")],
)
def test_refused_credentials_raise_without_retry(
    fake: FakeKartra, make_client, wrong: str, type_code: str
) -> None:
    client = make_client(**{wrong: "wrong-value"})
    with pytest.raises(CredentialsRefused) as caught:
        client.get_lead(lead_id=1001)
    assert caught.value.type_code == type_code
    assert fake.calls["get_lead"] == 1
    assert client.stats.as_dict() == {"calls": 1, "throttled": 0, "retries": 0, "errors": 1}
    assert_no_secret(caught.value, client)


def test_lead_not_found_by_email_and_by_id(fake: FakeKartra, kartra_client: KartraClient) -> None:
    with pytest.raises(LeadNotFound) as by_email:
        kartra_client.get_lead(email="nobody@example.com")
    with pytest.raises(LeadNotFound) as by_id:
        kartra_client.get_lead(lead_id=999999)
    assert by_email.value.type_code == by_id.value.type_code == "234"
    assert fake.calls["get_lead"] == 2


def test_deleted_lead(fake: FakeKartra, kartra_client: KartraClient) -> None:
    email = fake.account.lead(DELETED_LEAD).email
    for kwargs in ({"lead_id": DELETED_LEAD}, {"email": email.upper()}):
        with pytest.raises(LeadDeleted) as caught:
            kartra_client.get_lead(**kwargs)
        assert caught.value.type_code == "245"


def test_429_until_tries_run_out_is_rate_limited(fake: FakeKartra, make_client) -> None:
    client = make_client(max_tries=4)
    fake.inject("429", "429", "429", "429")
    with pytest.raises(RateLimited) as caught:
        client.get_lead(lead_id=1001)
    assert fake.calls["get_lead"] == 4
    assert fake.throttled == 4
    assert client.stats.as_dict() == {"calls": 4, "throttled": 4, "retries": 3, "errors": 1}
    assert_no_secret(caught.value, client)


def test_429_waits_at_least_the_documented_second(fake: FakeKartra, make_client) -> None:
    waits: list[float] = []
    client = make_client(min_429_wait=1.0, sleep=waits.append)
    fake.inject("429", "429")
    assert client.get_lead(lead_id=1001)["id"] == "1001"
    assert len(waits) == 2 and all(w >= 1.0 for w in waits)


def test_retry_after_header_is_honoured() -> None:
    waits: list[float] = []
    answers = iter(
        [
            httpx.Response(429, headers={"Retry-After": "3"}, text="Too many requests"),
            httpx.Response(200, json={"status": "Success", "account_lists": []}),
        ]
    )
    transport = httpx.MockTransport(lambda request: next(answers))
    client = KartraClient(
        "https://x.test/api", **CREDENTIALS, transport=transport, sleep=waits.append
    )
    assert client.retrieve_account_lists() == []
    assert len(waits) == 1 and 3.0 <= waits[0] < 4.0


def test_backoff_grows_and_is_capped(fake: FakeKartra, make_client) -> None:
    waits: list[float] = []
    client = make_client(max_tries=5, backoff_base=1.0, backoff_max=3.0, sleep=waits.append)
    fake.inject("500", "500", "500", "500", "500")
    with pytest.raises(KartraUnavailable):
        client.retrieve_account_tags()
    assert len(waits) == 4
    assert 1.0 <= waits[0] <= 2.0
    assert waits[1] >= 2.0
    assert all(w <= 3.0 for w in waits)


def test_5xx_is_recovered_by_retry(fake: FakeKartra, kartra_client: KartraClient) -> None:
    fake.inject("500")
    assert kartra_client.get_lead(lead_id=1001)["id"] == "1001"
    assert [r.status for r in fake.requests] == [500, 200]
    assert kartra_client.stats.as_dict() == {"calls": 2, "throttled": 0, "retries": 1, "errors": 0}


def test_5xx_until_tries_run_out(fake: FakeKartra, kartra_client: KartraClient) -> None:
    fake.inject("500", "500", "500", "500")
    with pytest.raises(KartraUnavailable) as caught:
        kartra_client.retrieve_account_tags()
    assert len(fake.requests) == 3  # max_tries=3, the 4th fault is never consumed
    assert caught.value.type_code is None
    assert_no_secret(caught.value, kartra_client)


def test_garbage_is_retried_then_unexpected_answer(
    fake: FakeKartra, kartra_client: KartraClient
) -> None:
    fake.inject("garbage")
    assert kartra_client.retrieve_account_lists()
    fake.reset()
    fake.inject("garbage", "garbage", "garbage")
    with pytest.raises(UnexpectedAnswer) as caught:
        kartra_client.retrieve_account_lists()
    assert type(caught.value) is UnexpectedAnswer
    assert len(fake.requests) == 3
    assert_no_secret(caught.value, kartra_client)


def test_timeout_is_retried_then_unavailable(fake: FakeKartra, kartra_client: KartraClient) -> None:
    fake.inject("timeout")
    assert kartra_client.get_lead(lead_id=1001)["id"] == "1001"
    fake.reset()
    fake.inject("timeout", "timeout", "timeout")
    with pytest.raises(KartraUnavailable) as caught:
        kartra_client.get_lead(lead_id=1001)
    assert fake.calls["get_lead"] == 3
    assert "timed out" in str(caught.value)
    assert_no_secret(caught.value, kartra_client)


def test_connection_refused_is_unavailable(make_client) -> None:
    client = make_client(base_url="http://127.0.0.1:9/api", max_tries=2)
    with pytest.raises(KartraUnavailable):
        client.retrieve_account_tags()
    assert client.stats.calls == 2 and client.stats.retries == 1


def test_unknown_command_keeps_its_type(fake: FakeKartra, kartra_client: KartraClient) -> None:
    with pytest.raises(KartraError) as caught:
        kartra_client._post({"actions": [{"cmd": "no_such_cmd"}]}, command="no_such_cmd")
    assert type(caught.value) is KartraError
    assert caught.value.type_code == UNKNOWN_COMMAND_TYPE
    with pytest.raises(KartraError) as missing:
        kartra_client._post({"actions": [{"cmd": ""}]}, command="empty")
    assert missing.value.type_code == "254"


def _mock_client(answer: httpx.Response, **kwargs) -> KartraClient:
    transport = httpx.MockTransport(lambda request: answer)
    return KartraClient(
        "https://x.test/api", **CREDENTIALS, transport=transport, backoff_base=0.001, **kwargs
    )


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ({"status": "ERROR", "type": 234, "message": "No lead found"}, LeadNotFound),
        ({"status": " error ", "type": "243", "message": "whatever text"}, LeadNotFound),
        ({"status": "Error", "type": "262", "message": "No lead found"}, CredentialsRefused),
        ({"status": "Error", "message": "no type"}, KartraError),
        ({"status": "Success"}, UnexpectedAnswer),  # no lead_details
        ({"lead_details": {}}, UnexpectedAnswer),  # no status
        (["not", "an", "object"], UnexpectedAnswer),
    ],
)
def test_answers_are_decided_on_status_and_type(answer, error) -> None:
    client = _mock_client(httpx.Response(200, json=answer))
    with pytest.raises(error) as caught:
        client.get_lead(email="a@b.c")
    assert type(caught.value) is error
    assert client.stats.calls == 1  # none of these is retried


def test_unexpected_http_status_is_not_retried() -> None:
    client = _mock_client(httpx.Response(404, text="Not Found"))
    with pytest.raises(UnexpectedAnswer):
        client.retrieve_account_tags()
    assert client.stats.calls == 1


def test_secrets_echoed_by_the_server_are_redacted() -> None:
    echo = f"bad key {CREDENTIALS['api_key']} / {CREDENTIALS['api_password']}"
    client = _mock_client(
        httpx.Response(200, json={"status": "Error", "type": "203", "message": echo})
    )
    with pytest.raises(CredentialsRefused) as caught:
        client.get_lead(email="a@b.c")
    assert "***" in str(caught.value)
    assert_no_secret(caught.value, client)
    garbage = _mock_client(httpx.Response(200, text=echo), max_tries=2)
    with pytest.raises(UnexpectedAnswer) as unreadable:
        garbage.get_lead(email="a@b.c")
    assert_no_secret(unreadable.value, garbage)


def test_error_for_type_maps_every_documented_code() -> None:
    for code in ("201", "202", "203", "204", "233", "238", "239", "240", "242", "262"):
        assert isinstance(error_for_type(code, "x"), CredentialsRefused)
    assert isinstance(error_for_type("234", "x"), LeadNotFound)
    assert isinstance(error_for_type("243", "x"), LeadNotFound)
    assert isinstance(error_for_type("245", "x"), LeadDeleted)
    unknown = error_for_type("999", "")
    assert type(unknown) is KartraError and unknown.type_code == "999"


def test_redact_leaves_short_values_alone() -> None:
    assert redact("API key is invalid", ["y", "key"]) == "API key is invalid"
    assert redact("key abcdef123 seen", ["abcdef123"]) == "key *** seen"
