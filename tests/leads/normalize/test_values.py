"""Scalar conversions: every variant the docs show, one case each."""

from __future__ import annotations

from decimal import Decimal

import pytest

from leads.normalize import PayloadError
from leads.normalize.values import (
    INT,
    SMALLINT,
    as_list,
    open_choice,
    to_bool,
    to_datetime,
    to_decimal,
    to_id,
    to_int,
    to_ref_id,
    to_text,
)

from ._support import utc


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, 1),
        ("1", 1),
        (" 1 ", 1),
        ("+7", 7),
        ("-3", -3),
        (1.0, 1),
        ("60.0", 60),
        ("60.", 60),
        ("", None),
        ("  ", None),
        (None, None),
        ("N/A", None),
        ("n/a", None),
        (2**63 - 1, 2**63 - 1),
    ],
)
def test_to_int(value, expected):
    assert to_int(value, "f") == expected


@pytest.mark.parametrize(
    "value",
    [True, False, 1.5, "1.5", "abc", "1e3", "0x10", float("nan"), float("inf"), [], {}, 2**63],
)
def test_to_int_rejects(value):
    with pytest.raises(PayloadError) as caught:
        to_int(value, "lead.score")
    assert caught.value.field == "lead.score"
    assert caught.value.value is value


@pytest.mark.parametrize(
    ("bits", "value"), [(INT, 2**31), (SMALLINT, 2**15), (SMALLINT, -(2**15) - 1)]
)
def test_to_int_respects_column_size(bits, value):
    with pytest.raises(PayloadError, match="out of range"):
        to_int(value, "f", bits=bits)


@pytest.mark.parametrize("value", [0, "0", "", None, "N/A", 0.0])
def test_reference_ids_zero_means_none(value):
    assert to_ref_id(value, "lead.referring_id") is None


@pytest.mark.parametrize(("value", "expected"), [("1234", 1234), (1234, 1234), (" 5 ", 5)])
def test_reference_ids(value, expected):
    assert to_ref_id(value, "f") == expected


@pytest.mark.parametrize("value", ["-1", -1, "x"])
def test_reference_ids_reject(value):
    with pytest.raises(PayloadError):
        to_ref_id(value, "f")


@pytest.mark.parametrize("value", [0, "0", "", None, -5, "N/A"])
def test_required_ids_must_be_positive(value):
    with pytest.raises(PayloadError):
        to_id(value, "lead.id")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, False),
        (1, True),
        ("0", False),
        ("1", True),
        (" 1 ", True),
        (True, True),
        (False, False),
        ("true", True),
        ("FALSE", False),
        (1.0, True),
        ("", None),
        (None, None),
    ],
)
def test_to_bool(value, expected):
    assert to_bool(value, "f") is expected


@pytest.mark.parametrize("value", [2, -1, "2", "yes", [], 0.5])
def test_to_bool_rejects(value):
    with pytest.raises(PayloadError) as caught:
        to_bool(value, "lead.blacklisted")
    assert caught.value.field == "lead.blacklisted"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("text", "text"),
        (" spaced ", " spaced "),
        ("", ""),
        (None, ""),
        ("N/A", ""),
        (1234, "1234"),
        (1234.0, "1234"),
        (12.5, "12.5"),
    ],
)
def test_to_text(value, expected):
    assert to_text(value, "f", 255) == expected


@pytest.mark.parametrize("value", [True, [], {}, float("nan")])
def test_to_text_rejects(value):
    with pytest.raises(PayloadError):
        to_text(value, "f")


def test_to_text_never_truncates():
    assert to_text("x" * 64, "lead.phone", 64) == "x" * 64
    with pytest.raises(PayloadError) as caught:
        to_text("x" * 65, "lead.phone", 64)
    assert caught.value.field == "lead.phone"
    assert "64" in str(caught.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("300.00", Decimal("300.00")),
        ("300", Decimal("300.00")),
        (300, Decimal("300.00")),
        (300.5, Decimal("300.50")),
        (0.1 + 0.2, Decimal("0.30")),  # str(float) first: no binary noise
        (107.9, Decimal("107.90")),
        ("1,200.50", Decimal("1200.50")),
        ("1,234,567", Decimal("1234567.00")),
        (" 9.99 ", Decimal("9.99")),
        ("-5.5", Decimal("-5.50")),
        (".5", Decimal("0.50")),
        ("0.005", Decimal("0.01")),  # half up
        ("", None),
        ("N/A", None),
        (None, None),
    ],
)
def test_to_decimal(value, expected):
    result = to_decimal(value, "f")
    assert result == expected
    if result is not None:
        assert result.as_tuple().exponent == -2


@pytest.mark.parametrize(
    "value", ["abc", "1,2", "12,34.5", "1e5", "NaN", "Infinity", True, float("inf"), [], "$5"]
)
def test_to_decimal_rejects(value):
    with pytest.raises(PayloadError) as caught:
        to_decimal(value, "action_details.transaction_details.transaction_full_amount")
    assert caught.value.field == "action_details.transaction_details.transaction_full_amount"


def test_to_decimal_respects_column_size():
    assert to_decimal("999999999999.99", "f") == Decimal("999999999999.99")
    with pytest.raises(PayloadError, match="out of range"):
        to_decimal("1000000000000", "f")
    with pytest.raises(PayloadError, match="out of range"):
        to_decimal(10**10, "survey_score", max_digits=12)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2019-03-26 06:35:31", utc(2019, 3, 26, 10, 35, 31)),  # EDT: +4h
        ("2019-01-26 06:35:31", utc(2019, 1, 26, 11, 35, 31)),  # EST: +5h
        ("2018-04-26 00:00:00", utc(2018, 4, 26, 4, 0, 0)),
        ("2020-12-14 09:00", utc(2020, 12, 14, 14, 0, 0)),  # event_date "YYYY-MM-DD HH:MM"
        ("2020-07-04", utc(2020, 7, 4, 4, 0, 0)),  # date only: Eastern midnight
        (" 2019-03-26 06:35:31 ", utc(2019, 3, 26, 10, 35, 31)),
        ("2019-03-26T06:35:31", utc(2019, 3, 26, 10, 35, 31)),
        # 02:30 on spring-forward night does not exist: fold=0 reads it as EST.
        ("2019-03-10 02:30:00", utc(2019, 3, 10, 7, 30, 0)),
        # 01:30 on fall-back night happens twice: fold=0 takes the first (EDT).
        ("2019-11-03 01:30:00", utc(2019, 11, 3, 5, 30, 0)),
        ("", None),
        (None, None),
        ("N/A", None),
        ("0000-00-00 00:00:00", None),
        ("0000-00-00", None),
    ],
)
def test_to_datetime(value, expected):
    result = to_datetime(value, "f")
    assert result == expected
    if result is not None:
        assert result.utcoffset().total_seconds() == 0


@pytest.mark.parametrize(
    "value",
    [
        "26/03/2019",
        "2019-02-30 00:00:00",
        "2019-03-26 25:00:00",
        "2019-03-26 06:35:31+02:00",
        "9999-12-31 23:59:59",  # overflows on the way to UTC
        "0000-01-01 00:00:00",
        1553596531,
        True,
        [],
    ],
)
def test_to_datetime_rejects(value):
    with pytest.raises(PayloadError) as caught:
        to_datetime(value, "lead.date_joined")
    assert caught.value.field == "lead.date_joined"
    assert "lead.date_joined" in str(caught.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, []),
        ("", []),
        ([], []),
        ([1, 2], [1, 2]),
        ({"1": "b", "0": "a"}, ["a", "b"]),  # PHP array json_encoded as an object
        ({"tag_name": "x"}, [{"tag_name": "x"}]),  # a single element
        ({"\u00b2": "x"}, [{"\u00b2": "x"}]),  # "²".isdigit() but not an index
    ],
)
def test_as_list(value, expected):
    assert as_list(value, "f") == expected


def test_payload_error_str_names_field_and_value():
    error = PayloadError("lead.date_joined", "yesterday", "expected YYYY-MM-DD HH:MM:SS")
    assert isinstance(error, ValueError)
    assert str(error) == "lead.date_joined: expected YYYY-MM-DD HH:MM:SS (got 'yesterday')"
    assert error.field == "lead.date_joined"
    assert error.value == "yesterday"
    huge = PayloadError("f", 10**5000)
    assert "too large" in str(huge)
    assert len(str(PayloadError("f", "x" * 1000))) < 120


def test_text_with_a_nul_character_is_refused():
    import pytest

    from leads.normalize import PayloadError
    from leads.normalize.values import to_text

    with pytest.raises(PayloadError, match="NUL") as caught:
        to_text("a\x00b", "lead.first_name")
    assert caught.value.field == "lead.first_name"


KNOWN = {"active": "Active", "canceled": "Cancelled"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ACTIVE", "Active"),
        (" canceled ", "Cancelled"),
        ("No-show", "No-show"),  # unknown: as sent
        (" Paused ", "Paused"),
        (7, "7"),
        ("", ""),
        ("N/A", ""),
        (None, ""),
    ],
)
def test_open_choice(value, expected):
    assert open_choice(value, "f", KNOWN, 16) == expected


@pytest.mark.parametrize("value", [True, ["Active"], {"a": 1}, "x" * 17])
def test_open_choice_rejects(value):
    with pytest.raises(PayloadError) as caught:
        open_choice(value, "f", KNOWN, 16)
    assert caught.value.field == "f"
