"""The fake account: deterministic generation, every relation kind, get_lead vs. truth."""

from __future__ import annotations

import json
from decimal import Decimal

from kartra_mirror.kartra.client import KartraClient
from kartra_mirror.kartra.fake import FakeAccount, FakeKartra
from kartra_mirror.kartra.fake.model import words

# Keys of lead_details in 002's example, plus "notes" from its table.
GET_LEAD_KEYS = words(
    "id first_name middle_name last_name last_name2 company sales_tax_id email username "
    "date_joined phone_country_code phone ip address zip city state country lead_picture score "
    "source source_id ip_country website facebook twitter linkedin lead_preferred_time_zone notes "
    "referring_id blacklisted gdpr_lead_status gdpr_lead_status_date gdpr_lead_communications "
    "gdpr_lead_status_ip tags lists sequences transactions memberships custom_fields calendars "
    "surveys"
)


def test_generate_is_deterministic() -> None:
    one, two = FakeAccount.generate(30, seed=7), FakeAccount.generate(30, seed=7)
    assert [one.expected_state(i) for i in one.leads] == [two.expected_state(i) for i in two.leads]
    assert [one.lead_details(i) for i in one.leads] == [two.lead_details(i) for i in two.leads]
    other = FakeAccount.generate(30, seed=8)
    assert [one.expected_state(i) for i in one.leads] != [
        other.expected_state(i) for i in other.leads
    ]


def test_every_relation_kind_occurs(account: FakeAccount) -> None:
    leads = list(account.leads.values())
    states = [account.expected_state(lead.id) for lead in leads]
    assert any(s["deleted"] for s in states) and not all(s["deleted"] for s in states)
    assert any(s["tags"] for s in states)
    assert {ls["active"] for s in states for ls in s["lists"]} == {True, False}
    sequences = [q for s in states for q in s["sequences"]]
    assert {q["status"] for q in sequences} == {"active", "unsubscribed"}
    assert any(q["completed"] for q in sequences)
    assert {m["active"] for s in states for m in s["memberships"]} == {True, False}
    assert {t["type"] for s in states for t in s["transactions"]} == {
        "sale",
        "refund",
        "partial_refund",
        "rebill",
        "cancellation",
        "chargeback",
        "failed",
    }
    assert all(isinstance(t["amount"], Decimal) for s in states for t in s["transactions"])
    assert {x["status"] for s in states for x in s["subscriptions"]} == {"active", "cancelled"}
    assert {c["status"] for s in states for c in s["calendars"]} == {
        "Active",
        "Pending",
        "Completed",
        "Declined",
        "Cancelled",
    }
    assert {x["survey_type"] for s in states for x in s["surveys"]} == {1, 2}
    assert any(s["affiliate_products"] for s in states) or any(
        lead.affiliate_products for lead in leads
    )
    for identifier in ("color", "gender", "favorite_dish", "bio", "plan"):
        assert any(s["custom_fields"][identifier] for s in states), identifier
    assert {lead.sequence_key for lead in leads} == {"tree_name", "sequence_name"}
    assert {lead.transaction_style for lead in leads} == {"example", "table"}
    assert {lead.empty_style for lead in leads} == {"", "N/A"}
    # every catalogue kind exists with ids
    for catalogue in words(
        "tags lists sequences memberships products calendars surveys custom_fields "
        "pages forms videos tracking_links split_test_links"
    ):
        assert getattr(account, catalogue), catalogue


def test_lead_details_has_the_002_shape(account: FakeAccount) -> None:
    details = account.lead_details(1001)
    assert list(details) == GET_LEAD_KEYS
    scalars = {k: v for k, v in details.items() if not isinstance(v, list)}
    assert all(isinstance(v, str) for v in scalars.values())  # ids, flags, scores: strings
    assert details["transactions"][0]["transaction_amount"].count(".") == 1
    calendar = details["calendars"][0]
    assert {"hosts", "events", "vendor_timezone", "calendar_subscription_status"} <= set(calendar)
    quiz = next(s for s in details["surveys"] if s["survey_type"] == "2")
    assert {q["question_correct"] for q in quiz["questions"]} <= {"1", "2"}
    survey = next(s for s in details["surveys"] if s["survey_type"] == "1")
    assert survey["survey_score"] == "N/A"
    fields = {f["field_identifier"]: f for f in details["custom_fields"]}
    assert set(fields) == {"color", "gender", "favorite_dish", "bio", "plan"}  # even empty ones
    assert isinstance(fields["favorite_dish"]["field_value"], str)
    assert isinstance(fields["color"]["field_value"], list)


def _names(rows: list[dict], *keys: str) -> list[str]:
    return [next(row[k] for k in keys if k in row) for row in rows]


def test_get_lead_over_http_agrees_with_expected_state(
    fake: FakeKartra, kartra_client: KartraClient
) -> None:
    account = fake.account
    for _ in account.play(150, seed=11):
        pass
    for lead_id, lead in account.leads.items():
        if lead.deleted:
            continue
        details = kartra_client.get_lead(lead_id=lead_id)
        truth = account.expected_state(lead_id)
        assert details["email"] == truth["profile"]["email"]
        assert int(details["score"]) == truth["profile"]["score"]
        assert (details["gdpr_lead_communications"] == "1") == truth["profile"][
            "gdpr_communications_agreed"
        ]
        assert sorted(t["tag_name"] for t in details["tags"]) == sorted(
            t["name"] for t in truth["tags"]
        )
        assert {(x["list_name"], x["active"] == "1") for x in details["lists"]} == {
            (x["name"], x["active"]) for x in truth["lists"]
        }
        assert sorted(_names(details["sequences"], "tree_name", "sequence_name")) == sorted(
            x["name"] for x in truth["sequences"]
        )
        assert sorted(int(x) for x in _names(details["transactions"], "transaction_id", "id")) == [
            t["id"] for t in truth["transactions"]
        ]
        assert {
            (m["name"], m["level_name"], m["active"] == "1") for m in details["memberships"]
        } == {(m["name"], m["level_name"], m["active"]) for m in truth["memberships"]}
        for field in details["custom_fields"]:
            value = truth["custom_fields"][field["field_identifier"]]
            if isinstance(value, str):
                assert field["field_value"] == value
            else:
                assert [int(o["option_id"]) for o in field["field_value"]] == [
                    o["option_id"] for o in value
                ]
        assert sorted(int(c["subscription_id"]) for c in details["calendars"]) == [
            c["subscription_id"] for c in truth["calendars"]
        ]
        assert sorted(int(s["survey_id"]) for s in details["surveys"]) == [
            s["survey_id"] for s in truth["surveys"]
        ]


def test_json_escapes_slashes_like_php(fake: FakeKartra) -> None:
    import httpx

    body = "&".join(
        f"{k}={v}"
        for k, v in (
            ("app_id", fake.app_id),
            ("api_key", fake.api_key),
            ("api_password", fake.api_password),
            ("get_lead[id]", "1001"),
        )
    )
    raw = httpx.post(
        fake.base_url,
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ).content
    assert b"https:\\/\\/" in raw
    assert json.loads(raw)["lead_details"]["lead_picture"].startswith("https://")
