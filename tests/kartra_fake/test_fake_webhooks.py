"""Webhook bodies from the fake's mutations, checked against the outbound docs (001, 000) and
the survey_complete shape of kartra-facts.md."""

from __future__ import annotations

import json
import random
from collections import Counter

import httpx
import pytest

from kartra_fake import (
    PAGE_VISIT_LEAD_KEYS,
    WEBHOOK_ACTIONS,
    WEBHOOK_LEAD_KEYS,
    expected_state,
    generate_account,
    lead_details,
    play_events,
    post_webhook,
)
from kartra_fake.model import words
from kartra_fake.play import ACTIONS
from tests.conftest import FAKE_ANCHOR

FULL_LEAD = 1001  # generate_account gives lead index 0 every relation kind

# Typed from 001; independent of the fake's own constants on purpose.
BUY = set(
    words(
        "transaction_id buyer_first_name buyer_last_name buyer_email buyer_username "
        "buyer_id product_name product_id product_price_point transaction_full_amount "
        "transaction_base_amount transaction_discount transaction_tax "
        "transaction_shipping transaction_affiliate transaction_jv transaction_date "
        "transaction_type transaction_parent_id transaction_subscription_id "
        "transaction_subscription_pay_number original_id buyer_billing_country "
        "buyer_billing_state buyer_billing_phone_country_code buyer_billing_phone_number "
        "buyer_billing_address buyer_billing_city buyer_billing_zip vendor_tracking_id_1 "
        "vendor_tracking_id_2 vendor_tracking_link trial_payment trial_period "
        "rebill_circle payments_left shipping_first_name shipping_last_name "
        "shipping_address shipping_city shipping_zip shipping_country shipping_state "
        "payment_processor_type"
    )
)
REFUND = BUY - {"trial_payment", "trial_period", "rebill_circle", "payments_left"}
CANCEL = set(
    words(
        "transaction_id buyer_first_name buyer_last_name buyer_email buyer_username buyer_id "
        "product_name product_id product_price_point transaction_date transaction_type "
        "transaction_subscription_id original_id buyer_billing_country buyer_billing_state "
        "buyer_billing_phone_country_code buyer_billing_phone_number buyer_billing_address "
        "buyer_billing_city buyer_billing_zip payment_processor_type"
    )
)
CALENDAR = {"calendar_id", "calendar_name", "class_id", "class_name"}
CALENDAR_EXTRA = {"hosts", "vendor_timezone", "calendar_subscription_id", "events"}
SURVEY = {
    "survey_id",
    "survey_name",
    "survey_type",
    "survey_score",
    "survey_completion_time",
    "questions",
}

DETAILS: dict[str, tuple[str, set[str] | None]] = {
    "list_subscription": ("list", {"list_id", "list_name"}),
    "list_unsubscription": ("list", {"list_id", "list_name"}),
    "assign_tag": ("tag", {"tag_id", "tag_name"}),
    "unassign_tag": ("tag", {"tag_id", "tag_name"}),
    "filled_form": ("tag", {"form_id", "form_name"}),  # sic: under "tag"
    "sequence_subscription": ("sequence", {"sequence_id", "sequence_name"}),
    "sequence_unsubscription": ("sequence", {"sequence_id", "sequence_name"}),
    "sequence_completion": ("sequence", {"sequence_id", "sequence_name"}),
    "click_tracking_link": ("tracking_link", {"tracking_link_id", "tracking_link_name"}),
    "click_page_split_test_link": (
        "page_split_test_link",
        {"page_split_test_link_id", "page_split_test_link_name"},
    ),
    "buy_product": ("transaction_details", BUY),
    "refund_product": ("transaction_details", REFUND),
    "partial_refund_product": ("transaction_details", REFUND),
    "cancel_subscription": ("transaction_details", CANCEL),
    "video_play": ("video", {"video_id", "video_name"}),
    "video_complete": ("video", {"video_id", "video_name"}),
    "reaches_score": ("points", None),
    "membership_granted": (
        "membership",
        {"membership_id", "membership_name", "level_id", "level_name"},
    ),
    "membership_revoked": (
        "membership",
        {"membership_id", "membership_name", "level_id", "level_name"},
    ),
    "affiliate_signup": ("product", {"product_id", "product_name", "official_product_name"}),
    "jv_signup": ("product", {"product_id", "product_name", "official_product_name"}),
    "kartra_page_visit": ("kartra_page", {"kartra_page_id", "kartra_page_name"}),
    "calendar_subscribe": ("calendar", CALENDAR),
    "calendar_complete": ("calendar", CALENDAR),
    "calendar_cancel": ("calendar", CALENDAR),
    "survey_complete": ("survey", SURVEY),
}


def test_every_documented_action_is_covered() -> None:
    assert set(WEBHOOK_ACTIONS) == set(DETAILS)
    assert len(DETAILS) == 26  # 001's 25 actions + survey_complete


def _changed(before: dict, after: dict, action: str, params: dict) -> bool:
    """Did the truth move the way the action says?"""
    tags = {t["id"] for t in after["tags"]}
    lists = {x["id"]: x["active"] for x in after["lists"]}
    seqs = {x["id"]: x for x in after["sequences"]}
    memberships = {m["id"]: m for m in after["memberships"]}
    new_txns = after["transactions"][len(before["transactions"]) :]
    calendars = {c["subscription_id"]: c["status"] for c in after["calendars"]}
    checks = {
        "list_subscription": lambda: lists[params["list_id"]] is True,
        "list_unsubscription": lambda: lists[params["list_id"]] is False,
        "assign_tag": lambda: params["tag_id"] in tags,
        "unassign_tag": lambda: params["tag_id"] not in tags,
        "filled_form": lambda: after["forms"][-1] == params["form_id"],
        "sequence_subscription": lambda: seqs[params["sequence_id"]]["step"] == 1,
        "sequence_unsubscription": lambda: seqs[params["sequence_id"]]["status"] == "unsubscribed",
        "sequence_completion": lambda: seqs[params["sequence_id"]]["completed"],
        "buy_product": lambda: [t["type"] for t in new_txns] == ["sale"],
        "refund_product": lambda: new_txns[0]["parent_id"] == params["transaction_id"],
        "partial_refund_product": lambda: new_txns[0]["type"] == "partial_refund",
        "cancel_subscription": lambda: (
            {s["id"]: s["status"] for s in after["subscriptions"]}[params["subscription_id"]]
            == "cancelled"
        ),
        "reaches_score": lambda: after["profile"]["score"] == params["points"],
        "membership_granted": lambda: memberships[params["membership_id"]]["active"],
        "membership_revoked": lambda: not memberships[params["membership_id"]]["active"],
        "affiliate_signup": lambda: params["product_id"] in after["affiliate_products"],
        "jv_signup": lambda: params["product_id"] in after["jv_products"],
        "calendar_subscribe": lambda: len(after["calendars"]) == len(before["calendars"]) + 1,
        "calendar_complete": lambda: calendars[params["subscription_id"]] == "Completed",
        "calendar_cancel": lambda: calendars[params["subscription_id"]] == "Cancelled",
        "survey_complete": lambda: (
            params["survey_id"] in {s["survey_id"] for s in after["surveys"]}
        ),
    }
    activity = after["activity"].get(action, 0) == before["activity"].get(action, 0) + 1
    return activity and checks.get(action, lambda: True)()


@pytest.mark.parametrize("action", sorted(DETAILS))
def test_mutation_changes_state_and_returns_documented_body(action: str) -> None:
    account = generate_account(8, seed=5, anchor=FAKE_ANCHOR)
    lead = account.lead(FULL_LEAD)
    params = ACTIONS[action][1](account, lead, random.Random(1))
    assert params is not None, f"lead {FULL_LEAD} cannot take {action}"
    before = expected_state(account, account.lead(FULL_LEAD))
    body = getattr(account, action)(FULL_LEAD, **params)
    after = expected_state(account, account.lead(FULL_LEAD))

    assert json.loads(json.dumps(body)) == body
    assert list(body) == ["lead", "action", "action_details"]
    assert body["action"] == action
    lead_keys = PAGE_VISIT_LEAD_KEYS if action == "kartra_page_visit" else WEBHOOK_LEAD_KEYS
    assert list(body["lead"]) == lead_keys
    assert str(body["lead"]["id"]) == str(FULL_LEAD)
    key, fields = DETAILS[action]
    assert list(body["action_details"]) == [key]
    if fields is None:
        assert int(body["action_details"]["points"]) == params["points"]
    elif key == "calendar":
        assert fields <= set(body["action_details"][key]) <= fields | CALENDAR_EXTRA
    else:
        assert set(body["action_details"][key]) == fields
    assert _changed(before, after, action, params)


def test_lead_blocks_follow_their_doc() -> None:
    assert len(WEBHOOK_LEAD_KEYS) == 36  # 35 documented keys + custom_fields (001)
    assert "google_plus" in WEBHOOK_LEAD_KEYS and "lead_deleted" in WEBHOOK_LEAD_KEYS
    assert "lead_preferred_time_zone" not in WEBHOOK_LEAD_KEYS
    assert "lead_preferred_time_zone" in PAGE_VISIT_LEAD_KEYS
    assert not {"google_plus", "lead_deleted", "lead_deleted_date"} & set(PAGE_VISIT_LEAD_KEYS)


def test_play_is_realistic_and_varies_wire_types() -> None:
    account = generate_account(30, seed=2, anchor=FAKE_ANCHOR)
    events = list(play_events(account, 1500, seed=4))
    actions = Counter(m.action for m, _ in events)
    assert set(actions) == set(DETAILS)
    assert {type(b["lead"]["id"]) for _, b in events} == {str, int}
    amounts = {
        type(b["action_details"]["transaction_details"]["transaction_full_amount"])
        for _, b in events
        if "transaction_full_amount" in b["action_details"].get("transaction_details", {})
    }
    assert amounts == {str, float}
    assert len(account.leads) > 30  # new leads opted in along the way
    for mutation, body in events:
        assert body["action"] == mutation.action
        assert str(body["lead"]["id"]) == str(mutation.lead_id)
    again = generate_account(30, seed=2, anchor=FAKE_ANCHOR)
    assert [b for _, b in play_events(again, 1500, seed=4)] == [b for _, b in events]


def test_gdpr_communications_flip_between_webhook_and_get_lead() -> None:
    account = generate_account(8, seed=5, anchor=FAKE_ANCHOR)
    for lead in account.leads.values():
        body = account.video_play(lead.id, next(iter(account.videos)))
        details = lead_details(account, lead)
        webhook_agreed = int(body["lead"]["gdpr_lead_communications"]) == 0
        assert webhook_agreed == (details["gdpr_lead_communications"] == "1") == lead.gdpr_agreed


def test_post_webhook_sends_raw_json_bytes() -> None:
    seen: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda r: seen.append(r) or httpx.Response(200))
    account = generate_account(8, seed=5, anchor=FAKE_ANCHOR)
    body = account.assign_tag(FULL_LEAD, 101)
    with httpx.Client(transport=transport) as http:
        response = post_webhook("http://mirror.test/hook/token", body, client=http)
    assert response.status_code == 200
    assert json.loads(seen[0].content) == body
    assert seen[0].headers["content-type"] == "application/json"

    class DjangoLikeClient:
        def post(self, path, data, content_type):
            return path, data, content_type

    path, data, ctype = post_webhook(
        "/hook/token",
        body,
        client=DjangoLikeClient(),
        content_type="application/x-www-form-urlencoded",
    )
    assert path == "/hook/token" and json.loads(data) == body
    assert ctype == "application/x-www-form-urlencoded"
