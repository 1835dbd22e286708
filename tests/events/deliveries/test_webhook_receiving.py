"""Receiving: tokens, methods, the store-first rule and the bad-input corpus."""

import hashlib
import json

import pytest

from events.models import Activity, Delivery, DeliveryStatus
from leads.models import Lead, LeadTag, Tag
from tests.payloads import action_details, body, lead_block

from .conftest import TOKEN

pytestmark = pytest.mark.django_db


def _mirror_rows() -> tuple[int, int, int, int]:
    return (
        Lead.objects.count(),
        Tag.objects.count(),
        LeadTag.objects.count(),
        Activity.objects.count(),
    )


def test_unknown_token_is_404_and_stores_nothing(post, client):
    assert post(body("assign_tag"), token="wrong").status_code == 404
    assert client.head("/webhooks/kartra/wrong/").status_code == 404
    assert Delivery.objects.count() == 0


def test_both_configured_tokens_are_accepted_for_rotation(post):
    assert post(body("assign_tag"), token="old-token").status_code == 200
    assert post(body("assign_tag"), token=TOKEN).status_code == 200


def test_head_answers_200_and_other_methods_405(client):
    url = f"/webhooks/kartra/{TOKEN}/"
    assert client.head(url).status_code == 200
    assert client.get(url).status_code == 405
    assert client.put(url, data=b"{}").status_code == 405
    assert Delivery.objects.count() == 0


@pytest.mark.parametrize("path", [f"/webhooks/kartra/{TOKEN}/", f"/webhooks/kartra/{TOKEN}/ipn/"])
def test_senders_need_no_csrf_token_and_the_store_stays_out_of_atomic_requests(path):
    from django.test import Client
    from django.urls import resolve

    view = resolve(path).func  # with ATOMIC_REQUESTS on, the store still commits at once
    assert view.csrf_exempt is True and view._non_atomic_requests == {"default"}
    kartra = Client(enforce_csrf_checks=True)  # Kartra sends no cookie and no CSRF token
    raw = body("assign_tag") if "ipn" not in path else b"type=sale"
    response = kartra.post(path, data=raw, content_type="application/json")
    assert response.status_code in (200, 400)  # stored; an IPN needs a form body
    assert Delivery.objects.filter(pk=response.json()["delivery"]).exists()


def test_delivery_keeps_raw_body_headers_and_hash(client):
    raw = body("assign_tag")
    response = client.post(
        f"/webhooks/kartra/{TOKEN}/",
        data=raw,
        content_type="text/plain",
        HTTP_USER_AGENT="Kartra",
        HTTP_COOKIE="session=secret",
        HTTP_AUTHORIZATION="Bearer secret",
        HTTP_X_REQUEST_ID="req-1\x00",
    )
    delivery = Delivery.objects.get(pk=response.json()["delivery"])
    assert bytes(delivery.body) == raw
    assert delivery.size == len(raw)
    assert delivery.body_sha256 == hashlib.sha256(raw).hexdigest()
    assert delivery.content_type == "text/plain"
    assert delivery.headers == {  # the kept ones, by name; credentials never
        "Content-Type": "text/plain",
        "Content-Length": str(len(raw)),
        "User-Agent": "Kartra",
        "X-Request-Id": "req-1\ufffd",
    }
    assert delivery.remote_addr == "127.0.0.1"
    # parsed as JSON whatever the Content-Type said
    assert delivery.status == DeliveryStatus.PROCESSED


def test_trusted_proxy_address_is_used(client, settings):
    settings.KARTRA_TRUSTED_PROXY_COUNT = 1
    response = client.post(
        f"/webhooks/kartra/{TOKEN}/",
        data=body("assign_tag"),
        content_type="application/json",
        HTTP_X_FORWARDED_FOR="203.0.113.9, 198.51.100.7",
    )
    assert Delivery.objects.get(pk=response.json()["delivery"]).remote_addr == "198.51.100.7"


def test_docs_example_with_trailing_commas_is_accepted(post):
    raw = body("assign_tag").replace(b'"red"}', b'"red",}')
    assert b'"red",}' in raw
    assert post(raw).status_code == 200
    assert LeadTag.objects.get().active is True


def _with(**changes) -> bytes:
    payload = {
        "lead": lead_block(),
        "action": "assign_tag",
        "action_details": action_details("assign_tag"),
    }
    for key, value in changes.items():
        if value is None:
            payload.pop(key)
        else:
            payload[key] = value
    return json.dumps(payload).encode()


BAD_BODIES = {
    "empty body": b"",
    "not JSON": b"hello, kartra",
    "a JSON array": b"[1, 2, 3]",
    "form-encoded": b"lead%5Bid%5D=1&action=assign_tag",
    "lead missing": _with(lead=None),
    "lead id missing": json.dumps(
        {
            "lead": {"email": "a@b.c"},
            "action": "assign_tag",
            "action_details": action_details("assign_tag"),
        }
    ).encode(),
    "lead id not a number": _with(lead=lead_block(id="abc")),
    "action missing": _with(action=None),
    "wrong types in action_details": _with(action_details={"tag": {"tag_id": "x"}}),
    "action_details not an object": _with(action_details="tag"),
}


@pytest.mark.parametrize("name", list(BAD_BODIES))
def test_bad_input_is_refused_with_reason_and_kept(post, name):
    raw = BAD_BODIES[name]
    response = post(raw)

    assert response.status_code == 400
    reason = response.json()["error"]
    assert reason and "\n" not in reason
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.REJECTED
    assert bytes(delivery.body) == raw
    assert delivery.error == reason
    assert _mirror_rows() == (0, 0, 0, 0)


def test_body_over_the_limit_is_413_and_the_refusal_recorded(post, settings):
    settings.KARTRA_WEBHOOK_MAX_BYTES = 1000
    raw = body("assign_tag", notes="x" * 2000)
    response = post(raw)

    assert response.status_code == 413
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.TOO_LARGE
    assert delivery.body is None
    assert "1000" in delivery.error
    assert _mirror_rows() == (0, 0, 0, 0)


def test_unknown_action_applies_profile_and_is_flagged(post):
    raw = json.dumps(
        {
            "lead": lead_block(),
            "action": "visits_external_page",
            "action_details": {"external_page": {"url": "https://example.org"}},
        }
    ).encode()
    response = post(raw)

    assert response.status_code == 200
    assert response.json()["status"] == DeliveryStatus.UNKNOWN_ACTION
    lead = Lead.objects.get()
    assert lead.email == "lead1@example.com"
    activity = Activity.objects.get()
    assert activity.action == "visits_external_page"
    assert activity.details["action_details"] == {"external_page": {"url": "https://example.org"}}


def test_processing_failure_is_200_kept_with_traceback(post, monkeypatch):
    from events import appliers

    def broken(event, observation, changes):
        raise RuntimeError("applier exploded")

    monkeypatch.setitem(appliers.APPLIERS, "assign_tag", broken)
    response = post(body("assign_tag"))

    assert response.status_code == 200
    delivery = Delivery.objects.get()
    assert response.json() == {"delivery": delivery.pk, "status": "failed"}
    assert delivery.error == "RuntimeError: applier exploded"
    assert "Traceback" in delivery.traceback
    # nothing half-applied: the profile upsert rolled back with the failed action
    assert _mirror_rows() == (0, 0, 0, 0)


def test_store_failure_answers_503(post, monkeypatch):
    from django.db import DatabaseError

    from events import views

    def unavailable(**kwargs):
        raise DatabaseError("database is down")

    monkeypatch.setattr(views, "delivery_insert", unavailable)
    response = post(body("assign_tag"))
    assert response.status_code == 503
    assert "retry" in response.json()["error"]
