"""parse_lead_details: get_lead's quirks (002), one at a time."""

from __future__ import annotations

from decimal import Decimal

import pytest

from leads.normalize import (
    CatalogRef,
    ListState,
    MembershipState,
    PayloadError,
    ProductRef,
    SequenceState,
    parse_lead_details,
)

from ._support import utc


def snapshot(**relations):
    return parse_lead_details({"id": "1234", **relations})


def test_missing_relations_are_empty():
    result = snapshot()
    assert result.profile.kartra_id == 1234
    assert result.tags == result.lists == result.sequences == result.memberships == ()
    assert result.transactions == result.calendars == result.surveys == ()


@pytest.mark.parametrize("value", [[], None, ""])
def test_empty_relations(value):
    assert snapshot(tags=value, transactions=value).tags == ()


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ([{"tag_name": "a"}, {"tag_name": "b"}], ("a", "b")),
        (["a", "b"], ("a", "b")),  # names only
        ([{"tag_name": "a"}, {"tag_name": "a"}], ("a",)),
        ([{"tag_name": ""}, {"tag_name": "b"}], ("b",)),  # an empty name says nothing
        ({"0": {"tag_name": "a"}}, ("a",)),
    ],
)
def test_tags(tags, expected):
    assert snapshot(tags=tags).tags == expected


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"list_name": "L", "active": "1"}, ListState("L", True)),
        ({"list_name": "L", "active": "0"}, ListState("L", False)),
        ({"list_name": "L", "active": 0}, ListState("L", False)),
        ({"list_name": "L"}, ListState("L", True)),
        ({"list_name": "L", "active": ""}, ListState("L", True)),
    ],
)
def test_lists(entry, expected):
    assert snapshot(lists=[entry]).lists == (expected,)


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"tree_name": "S", "step": "2", "status": "active"}, SequenceState("S", 2, "active")),
        (
            {"sequence_name": "S", "step": 3, "status": "unsubscribed"},
            SequenceState("S", 3, "unsubscribed"),
        ),
        (
            {"sequence_name": "S", "step": "", "status": "Completed"},
            SequenceState("S", None, "completed"),
        ),
        ({"sequence_name": "S"}, SequenceState("S", None, "active")),
    ],
)
def test_sequences_tree_name_or_sequence_name(entry, expected):
    assert snapshot(sequences=[entry]).sequences == (expected,)


def test_unknown_sequence_status_is_kept_as_sent():
    entry = {"sequence_name": "S", "status": " Paused "}
    assert snapshot(sequences=[entry]).sequences == (SequenceState("S", None, "Paused"),)
    with pytest.raises(PayloadError) as caught:
        snapshot(sequences=[{"sequence_name": "S", "status": "x" * 65}])
    assert caught.value.field == "lead_details.sequences[0].status"


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (
            {"name": "M", "level_name": "standard", "active": "1"},
            MembershipState("M", "standard", True),
        ),
        ({"name": "M", "level_name": "", "active": "0"}, MembershipState("M", None, False)),
        ({"membership_name": "M"}, MembershipState("M", None, True)),
    ],
)
def test_memberships(entry, expected):
    assert snapshot(memberships=[entry]).memberships == (expected,)


@pytest.mark.parametrize(
    "entry",
    [
        {"transaction_id": "1234", "product_price_point": "1"},  # the example's keys
        {"id": 1234, "price_point": 1},  # the table's keys
        {"id": "1234", "product_price_point": "1"},
    ],
)
def test_transaction_key_variants(entry):
    entry = {"transaction_type": "Sale", "transaction_amount": 300.0, **entry}
    (transaction,) = snapshot(transactions=[entry]).transactions
    assert transaction.kartra_id == 1234
    assert transaction.fields == {
        "transaction_type": "sale",
        "price_point": "1",
        "amount": Decimal("300.00"),
    }


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ("Sale", "sale"),
        ("Refund", "refund"),
        ("Cancellation", "cancellation"),
        ("Rebill", "rebill"),
        ("Chargeback", "chargeback"),
        ("Failed", "failed"),
        ("Partial_refund", "partial_refund"),
        ("partial_refund", "partial_refund"),
        (" SALE ", "sale"),
    ],
)
def test_transaction_types(sent, expected):
    entry = {"id": 1, "transaction_type": sent}
    assert snapshot(transactions=[entry]).transactions[0].fields["transaction_type"] == expected


@pytest.mark.parametrize(
    ("sent", "expected"), [("Gift", "Gift"), (" Dispute ", "Dispute"), (1, "1")]
)
def test_unknown_transaction_type_is_kept_as_sent(sent, expected):
    entry = {"id": 1, "transaction_type": sent}
    assert snapshot(transactions=[entry]).transactions[0].fields["transaction_type"] == expected


@pytest.mark.parametrize("sent", ["", None, {"type": "sale"}])
def test_missing_or_unreadable_transaction_type_is_an_error(sent):
    with pytest.raises(PayloadError) as caught:
        snapshot(transactions=[{"id": 1, "transaction_type": sent}])
    assert caught.value.field == "lead_details.transactions[0].transaction_type"


def test_transaction_product_and_date():
    entry = {
        "id": 5,
        "transaction_type": "Rebill",
        "product_name": "P",
        "transaction_date": "2019-12-01 10:00:00",
        "transaction_amount": "N/A",
    }
    (transaction,) = snapshot(transactions=[entry]).transactions
    assert transaction.product == ProductRef(None, "P", None)
    assert transaction.fields["transaction_date"] == utc(2019, 12, 1, 15, 0)
    assert transaction.fields["amount"] is None


def test_transaction_without_product():
    (transaction,) = snapshot(transactions=[{"id": 5, "transaction_type": "Sale"}]).transactions
    assert transaction.product is None


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"transaction_type": "Sale"}, "lead_details.transactions[0].transaction_id"),
        ({"id": 0, "transaction_type": "Sale"}, "lead_details.transactions[0].id"),
        (
            {"id": 1, "transaction_type": "Sale", "transaction_amount": "x"},
            "lead_details.transactions[0].transaction_amount",
        ),
        ("1234", "lead_details.transactions[0]"),
    ],
)
def test_bad_transactions(value, field):
    with pytest.raises(PayloadError) as caught:
        snapshot(transactions=[value])
    assert caught.value.field == field


def test_transaction_counters_tolerate_wording():
    # kartra-facts.md: some numeric fields hold text such as "Until cancelled".
    entry = {
        "id": 1,
        "transaction_type": "Sale",
        "payments_left": "Until cancelled",
        "rebill_circle": "30",
    }
    (transaction,) = snapshot(transactions=[entry]).transactions
    assert transaction.fields["payments_left"] is None
    assert transaction.fields["rebill_circle"] == 30
    assert transaction.raw["payments_left"] == "Until cancelled"
    with pytest.raises(PayloadError):
        snapshot(transactions=[{**entry, "payments_left": "3x"}])


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ("Active", "Active"),
        ("pending", "Pending"),
        ("COMPLETED", "Completed"),
        ("Declined", "Declined"),
        ("cancelled", "Cancelled"),
        ("", None),
        (None, None),
    ],
)
def test_calendar_status_spelling(sent, expected):
    entry = {"calendar_id": "1", "calendar_name": "C", "calendar_subscription_status": sent}
    assert snapshot(calendars=[entry]).calendars[0].status == expected


@pytest.mark.parametrize(
    ("sent", "expected"), [("No-show", "No-show"), ("Postponed ", "Postponed")]
)
def test_unknown_calendar_status_is_kept_as_sent(sent, expected):
    entry = {"calendar_id": "1", "calendar_subscription_status": sent}
    assert snapshot(calendars=[entry]).calendars[0].status == expected


@pytest.mark.parametrize("sent", [["Active"], "x" * 65])
def test_unreadable_calendar_status_is_an_error(sent):
    entry = {"calendar_id": "1", "calendar_subscription_status": sent}
    with pytest.raises(PayloadError) as caught:
        snapshot(calendars=[entry])
    assert caught.value.field == "lead_details.calendars[0].calendar_subscription_status"


def test_calendar_ids():
    entry = {
        "calendar_id": "1",
        "calendar_name": "C",
        "class_id": "",
        "subscription_id": "0",
        "vendor_id": "N/A",
        "events": [{"event_date": "2021-06-01 09:30", "event_duration": "45"}],
    }
    (calendar,) = snapshot(calendars=[entry]).calendars
    assert calendar.calendar == CatalogRef(1, "C")
    assert calendar.calendar_class is None
    assert calendar.subscription_kartra_id is None
    assert calendar.vendor_id is None
    assert calendar.events == ((utc(2021, 6, 1, 13, 30), 45),)


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ("N/A", None),
        ("", None),
        ("50", Decimal("50.00")),
        (87.5, Decimal("87.50")),
        (100, Decimal("100.00")),
    ],
)
def test_survey_score(sent, expected):
    entry = {"survey_id": "1", "survey_name": "S", "survey_score": sent}
    assert snapshot(surveys=[entry]).surveys[0].score == expected


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ("1", "survey"),
        ("2", "quiz"),
        (2, "quiz"),
        ("Quiz", "quiz"),
        ("survey", "survey"),
        ("poll", "poll"),  # a type Kartra added since: as sent
        (3, "3"),
        ("", None),
        ("N/A", None),
    ],
)
def test_survey_type(sent, expected):
    entry = {"survey_id": "1", "survey_name": "S", "survey_type": sent}
    assert snapshot(surveys=[entry]).surveys[0].survey_type == expected


@pytest.mark.parametrize(("sent", "expected"), [("0", 0), ("1", 1), ("2", 2), (2, 2), ("", 0)])
def test_question_correct(sent, expected):
    question = {"question_id": "7", "question_title": "Q", "question_correct": sent, "answers": []}
    entry = {"survey_id": "1", "survey_name": "S", "questions": [question]}
    assert snapshot(surveys=[entry]).surveys[0].answers[0].correct == expected


@pytest.mark.parametrize("sent", ["3", -1, "yes"])
def test_bad_question_correct(sent):
    question = {"question_id": "7", "question_correct": sent}
    with pytest.raises(PayloadError) as caught:
        snapshot(surveys=[{"survey_id": "1", "questions": [question]}])
    assert caught.value.field == "lead_details.surveys[0].questions[0].question_correct"


def test_not_a_lead():
    for value in (None, [], "text", 5):
        with pytest.raises(PayloadError) as caught:
            parse_lead_details(value)
        assert caught.value.field in ("lead_details", "body")


def test_a_question_listed_twice_is_answered_once_the_last_listing_winning():
    first = {"question_id": "7", "question_title": "Q", "answers": [{"option_id": "1"}]}
    again = {"question_id": "7", "question_title": "Q", "answers": [{"option_id": "2"}]}
    other = {"question_id": "8", "question_title": "R", "answers": []}
    entry = {"survey_id": "1", "survey_name": "S", "questions": [first, other, again]}
    answers = snapshot(surveys=[entry]).surveys[0].answers
    assert [(a.question_kartra_id, [o.kartra_id for o in a.options]) for a in answers] == [
        (7, [2]),
        (8, []),
    ]


def test_a_transaction_amount_stays_the_snapshots_own():
    entry = {"id": 1, "transaction_type": "Sale", "transaction_amount": "300.00"}
    assert snapshot(transactions=[entry]).transactions[0].fields["amount"] == Decimal("300.00")
