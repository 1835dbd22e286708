"""The fake account: deterministic generation, dates relative to its anchor, every relation
kind, get_lead vs. truth."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from kartra_fake import (
    KARTRA_TZ,
    FakeAccount,
    FakeKartra,
    expected_state,
    generate_account,
    lead_details,
    play_events,
)
from kartra_fake.generate import HISTORY_DAYS, PLAYED_DAYS
from kartra_fake.model import kartra_time, words
from kartra_mirror.kartra.client import KartraClient
from tests.conftest import FAKE_ANCHOR

# Keys of lead_details in 002's example, plus "notes" from its table.
GET_LEAD_KEYS = words(
    "id first_name middle_name last_name last_name2 company sales_tax_id email username "
    "date_joined phone_country_code phone ip address zip city state country lead_picture score "
    "source source_id ip_country website facebook twitter linkedin lead_preferred_time_zone notes "
    "referring_id blacklisted gdpr_lead_status gdpr_lead_status_date gdpr_lead_communications "
    "gdpr_lead_status_ip tags lists sequences transactions memberships custom_fields calendars "
    "surveys"
)


def states(account: FakeAccount) -> list[dict]:
    """Every lead's truth, in lead order."""
    return [expected_state(account, lead) for lead in account.leads.values()]


def test_generate_is_deterministic() -> None:
    one = generate_account(30, seed=7, anchor=FAKE_ANCHOR)
    two = generate_account(30, seed=7, anchor=FAKE_ANCHOR.astimezone(UTC))
    assert states(one) == states(two)
    assert [lead_details(one, lead) for lead in one.leads.values()] == [
        lead_details(two, lead) for lead in two.leads.values()
    ]
    other = generate_account(30, seed=8, anchor=FAKE_ANCHOR)
    assert states(one) != states(other)
    later = generate_account(30, seed=7, anchor=FAKE_ANCHOR + timedelta(days=3))
    assert [lead.date_joined for lead in later.leads.values()] != [
        lead.date_joined for lead in one.leads.values()
    ]


def _dates(account: FakeAccount) -> list[tuple[str, datetime]]:
    """Every date of the account's truth but calendar sessions, named."""
    found = []
    for lead_id in account.leads:
        state = expected_state(account, account.lead(lead_id))
        profile = state["profile"]
        found += [
            (f"{lead_id} joined", profile["date_joined"]),
            (f"{lead_id} gdpr", profile["gdpr_lead_status_date"]),
            (f"{lead_id} deleted", state["deleted_at"]),
        ]
        found += [(f"{lead_id} {t['type']} {t['id']}", t["date"]) for t in state["transactions"]]
        found += [(f"{lead_id} survey", r["completion_date"]) for r in state["surveys"]]
    return [(name, date) for name, date in found if date is not None]


def test_dates_lie_in_the_days_before_the_anchor() -> None:
    account = generate_account(300, seed=7, anchor=FAKE_ANCHOR)
    clock = account.now
    anchor = FAKE_ANCHOR.astimezone(UTC)  # subtracted as elapsed time, not wall clock
    assert clock == anchor - timedelta(days=PLAYED_DAYS)
    generated = _dates(account)
    first = anchor - timedelta(days=HISTORY_DAYS)
    assert [(n, d) for n, d in generated if not first <= d <= clock] == []

    for _ in play_events(account, 600, seed=7):
        pass
    assert clock < account.now <= FAKE_ANCHOR
    everything = _dates(account)
    assert [(n, d) for n, d in everything if not first <= d <= FAKE_ANCHOR] == []
    played = [d for n, d in everything if d > clock]
    assert len(played) > 50 and max(played) > FAKE_ANCHOR - timedelta(days=1)
    assert all(d.tzinfo is KARTRA_TZ and d.microsecond == 0 for _, d in everything)
    # Only sessions still to come lie after the anchor, and not far after it.
    sessions = [
        (c.status, start)
        for lead in account.leads.values()
        for c in lead.calendars
        for start, _minutes in c.events
    ]
    upcoming = [(status, start) for status, start in sessions if start > FAKE_ANCHOR]
    assert upcoming and "Completed" not in {status for status, _ in upcoming}
    assert max(start for _, start in upcoming) < FAKE_ANCHOR + timedelta(days=14)
    assert {status for status, _ in sessions} >= {"Completed", "Cancelled"}


def test_activity_grows_towards_the_anchor() -> None:
    account = generate_account(300, seed=7, anchor=FAKE_ANCHOR)
    for _ in play_events(account, 600, seed=7):
        pass

    def days_ago(date: datetime) -> int:
        return (FAKE_ANCHOR - date) // timedelta(days=1)

    joined = Counter(days_ago(lead.date_joined) // 30 for lead in account.leads.values())
    assert joined[0] > joined[1] > joined[2] > 0  # more leads joined each month
    recent = [
        (days_ago(t.date), t.type)
        for lead in account.leads.values()
        for t in lead.transactions
        if days_ago(t.date) < 30
    ]
    sale_days = {day for day, kind in recent if kind == "sale"}
    assert len(sale_days) >= 20  # sales on most of the last 30 days
    assert {"sale", "rebill", "refund", "partial_refund", "cancellation"} <= {k for _, k in recent}
    # ids follow join order, as Kartra numbers its leads
    joins = [lead.date_joined for _, lead in sorted(account.leads.items())]
    assert joins == sorted(joins)


def test_play_never_passes_the_anchor() -> None:
    account = generate_account(8, seed=5, anchor=FAKE_ANCHOR)
    bodies = [body for _, body in play_events(account, 400, seed=1)]
    after_first = account.now
    bodies += [body for _, body in play_events(account, 100, seed=2)]  # shares the time left
    assert after_first < account.now <= FAKE_ANCHOR
    wire_dates = [
        body["action_details"]["transaction_details"]["transaction_date"]
        for body in bodies
        if "transaction_details" in body["action_details"]
    ] + [body["lead"]["date_joined"] for body in bodies]
    assert wire_dates and max(wire_dates) <= FAKE_ANCHOR.strftime("%Y-%m-%d %H:%M:%S")


@pytest.mark.parametrize(
    ("wall", "fold", "later", "expected"),
    [
        ("2024-06-03 09:00:00", 0, False, "2024-06-03 09:00:00-04:00"),
        ("2024-03-10 02:30:00", 0, False, "2024-03-10 01:30:00-05:00"),  # skipped hour
        ("2024-03-10 02:30:00", 0, True, "2024-03-10 04:30:00-04:00"),
        ("2024-11-03 01:30:00", 0, False, "2024-11-03 00:30:00-04:00"),  # repeated hour
        ("2024-11-03 01:30:00", 1, False, "2024-11-03 00:30:00-04:00"),
        ("2024-11-03 01:30:00", 1, True, "2024-11-03 02:30:00-05:00"),
    ],
)
def test_kartra_time_keeps_to_wall_times_that_name_one_instant(wall, fold, later, expected):
    moment = datetime.fromisoformat(wall).replace(tzinfo=KARTRA_TZ, fold=fold, microsecond=7)
    assert kartra_time(moment, later=later).isoformat(" ") == expected
    with pytest.raises(ValueError):
        kartra_time(datetime.fromisoformat(wall))


def test_every_relation_kind_occurs(account: FakeAccount) -> None:
    leads = list(account.leads.values())
    states = [expected_state(account, lead) for lead in leads]
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
    details = lead_details(account, account.lead(1001))
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


def test_get_lead_over_http_agrees_with_expected_state(fake: FakeKartra, make_client) -> None:
    # More leads than the fake's 20 calls a second: wait as Kartra documents on a 429.
    kartra_client: KartraClient = make_client(min_429_wait=1.0)
    account = fake.account
    for _ in play_events(account, 150, seed=11):
        pass
    for lead_id, lead in account.leads.items():
        if lead.deleted:
            continue
        details = kartra_client.get_lead(lead_id=lead_id)
        truth = expected_state(account, account.lead(lead_id))
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
