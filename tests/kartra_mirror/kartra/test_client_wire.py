"""What the client puts on the wire, read from the fake's request log and from raw bodies.

Kartra's format (kartra-facts.md, "Inbound API"): one POST to the base URL, a
``application/x-www-form-urlencoded`` body, credentials as the fields ``app_id``, ``api_key``
and ``api_password``, commands in PHP brackets.
"""

from __future__ import annotations

import contextlib
from urllib.parse import parse_qsl

import httpx
import pytest

from kartra_fake import FakeKartra
from kartra_mirror.kartra.client import KartraClient
from kartra_mirror.kartra.errors import LeadNotFound

from .conftest import CREDENTIALS

CREDENTIAL_FIELDS = [
    ("app_id", CREDENTIALS["app_id"]),
    ("api_key", "<redacted>"),
    ("api_password", "<redacted>"),
]


@pytest.mark.parametrize(
    ("call", "command_fields"),
    [
        (lambda c: c.get_lead(email="noah@example.com"), [("get_lead[email]", "noah@example.com")]),
        (lambda c: c.get_lead(lead_id=1001), [("get_lead[id]", "1001")]),
        (lambda c: c.retrieve_account_tags(), [("actions[0][cmd]", "retrieve_account_tags")]),
        (lambda c: c.retrieve_account_lists(), [("actions[0][cmd]", "retrieve_account_lists")]),
        (
            lambda c: c.retrieve_account_sequences(),
            [("actions[0][cmd]", "retrieve_account_sequences")],
        ),
        (lambda c: c.retrieve_custom_fields(), [("actions[0][cmd]", "retrieve_custom_fields")]),
        (lambda c: c.retrieve_account_pages(), [("actions[0][cmd]", "retrieve_account_pages")]),
    ],
    ids=["get_lead-email", "get_lead-id", "tags", "lists", "sequences", "custom_fields", "pages"],
)
def test_every_call_is_one_form_post_with_credentials(
    fake: FakeKartra, kartra_client: KartraClient, call, command_fields
) -> None:
    with contextlib.suppress(LeadNotFound):  # only the request matters (unknown email is fine)
        call(kartra_client)
    [request] = fake.requests
    assert request.method == "POST"
    assert request.path == "/api"
    assert request.content_type == "application/x-www-form-urlencoded"
    assert request.fields == CREDENTIAL_FIELDS + command_fields
    assert request.status == 200


def test_get_lead_with_both_sends_both_and_kartra_prefers_the_id(
    fake: FakeKartra, kartra_client: KartraClient
) -> None:
    details = kartra_client.get_lead(email="nobody@example.com", lead_id=1001)
    assert details["id"] == "1001"
    assert fake.requests[0].field("get_lead[id]") == "1001"
    assert fake.requests[0].field("get_lead[email]") == "nobody@example.com"


def test_get_lead_needs_an_email_or_id(kartra_client: KartraClient) -> None:
    with pytest.raises(ValueError):
        kartra_client.get_lead()


def test_raw_request_keeps_credentials_out_of_url_and_headers() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"status": "Success", "account_tags": ["a"]})

    client = KartraClient(
        "https://app.kartra.com/api", **CREDENTIALS, transport=httpx.MockTransport(handler)
    )
    assert client.retrieve_account_tags() == ["a"]
    [request] = seen
    assert str(request.url) == "https://app.kartra.com/api"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    for secret in CREDENTIALS.values():
        assert secret not in str(request.url)
        assert all(secret not in value for value in request.headers.values())
    assert request.content == (
        b"app_id=test-APP-id-5417&api_key=test-KEY-sekret-8812&api_password=test-PW-sekret-7731"
        b"&actions%5B0%5D%5Bcmd%5D=retrieve_account_tags"
    )
    assert parse_qsl(request.content.decode())[-1] == ("actions[0][cmd]", "retrieve_account_tags")


def test_catalogue_answers(fake: FakeKartra, kartra_client: KartraClient) -> None:
    account = fake.account
    assert kartra_client.retrieve_account_tags() == [t.name for t in account.tags.values()]
    assert kartra_client.retrieve_account_lists() == [x.name for x in account.lists.values()]
    assert kartra_client.retrieve_account_sequences() == [
        x.name for x in account.sequences.values()
    ]
    fields = kartra_client.retrieve_custom_fields()
    by_identifier = {f["field_identifier"]: f for f in fields}
    assert by_identifier["favorite_dish"] == {
        "field_id": "325",
        "field_identifier": "favorite_dish",
        "field_type": "input_field",
    }
    assert by_identifier["color"]["field_value"][0] == {"option_id": "1", "option_value": "red"}
    pages = kartra_client.retrieve_account_pages()
    assert pages[0] == {"page_id": "801", "page_name": "Home"}


def test_pages_as_names(fake: FakeKartra, kartra_client: KartraClient) -> None:
    fake.pages_shape = "names"
    assert kartra_client.retrieve_account_pages()[:2] == ["Home", "Webinar registration"]


@pytest.mark.parametrize(
    "answer",
    [
        {"status": "Success", "account_tags": {"3": "Tag 1", "7": "Tag 2"}},  # PHP object
        {"status": "SUCCESS", "account_tags": [{"tag_name": "Tag 1"}, "Tag 2"]},
        {
            "status": "success",
            "actions": [{"retrieve_account_tags": {"account_tags": ["Tag 1", "Tag 2"]}}],
        },
    ],
    ids=["object", "objects-and-case", "chained-envelope"],
)
def test_names_tolerate_documented_php_shapes(answer: dict) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=answer))
    client = KartraClient("https://x.test/api", **CREDENTIALS, transport=transport)
    assert client.retrieve_account_tags() == ["Tag 1", "Tag 2"]
