"""Lead blocks (001, 000, 002) and custom field values, quirk by quirk."""

from __future__ import annotations

import pytest

from leads.normalize import CustomValueRecord, OptionRef, PayloadError, parse_lead_details, profile
from leads.normalize.profile import parse_profile

from ._support import utc


def fields_of(**lead):
    return parse_profile({"id": "1", **lead}).fields


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        # 001's older keys
        ("google_plus", "gp", "gp"),
        ("lead_deleted", "1", True),
        ("lead_deleted", 0, False),
        ("lead_deleted", "", False),  # NOT NULL in the model: blank is unset
        ("lead_deleted_date", "2018-04-26 00:00:00", utc(2018, 4, 26, 4, 0)),
        ("lead_deleted_date", "0000-00-00 00:00:00", None),
        # 000's / 002's newer keys
        ("lead_preferred_time_zone", "Europe/London", "Europe/London"),
        ("sales_tax_id", 1234, "1234"),
        ("username", "test123", "test123"),
        ("notes", "n" * 5000, "n" * 5000),  # TextField: no limit
        ("business_type", 3, "3"),  # create/edit_lead: "number"
        # numbers and flags
        ("score", "0", 0),
        ("score", " 12 ", 12),
        ("score", "", None),
        ("blacklisted", "1", True),
        ("blacklisted", True, True),
        ("referring_id", "0", None),
        ("referring_id", "1234", 1234),
        ("source_id", 0, None),
        ("source", "0", ""),
        ("source", 0, ""),
        ("source", "", ""),
        ("source", "checkout", "checkout"),
        ("gdpr_lead_status", "2", 2),
        ("gdpr_lead_status", "N/A", None),
        # kept as sent: the docs disagree on what 0 and 1 mean
        ("gdpr_lead_communications", 0, 0),
        ("gdpr_lead_communications", "1", 1),
        ("gdpr_lead_status_date", "2019-01-26 06:35:31", utc(2019, 1, 26, 11, 35, 31)),
        ("date_joined", "", None),
        ("date_joined", "N/A", None),
        ("phone", "N/A", ""),
        ("zip", 2101, "2101"),
        ("first_name", None, ""),
    ],
)
def test_lead_keys(key, value, expected):
    assert fields_of(**{key: value}) == {key: expected}


def test_absent_keys_stay_absent_and_unknown_keys_stay_raw():
    lead = {"id": 7, "email": "a@b.c", "brand_new_key": {"x": 1}, "tags": [{"tag_name": "t"}]}
    profile = parse_profile(lead)
    assert profile.kartra_id == 7
    assert profile.fields == {"email": "a@b.c"}
    assert profile.custom_values is None  # no custom_fields key: leave values alone
    assert profile.raw is lead


@pytest.mark.parametrize(
    ("key", "limit"),
    [("email", 254), ("phone", 64), ("address", 512), ("website", 1024), ("source", 64)],
)
def test_text_longer_than_the_column_is_an_error(key, limit):
    assert fields_of(**{key: "x" * limit}) == {key: "x" * limit}
    with pytest.raises(PayloadError) as caught:
        fields_of(**{key: "x" * (limit + 1)})
    assert caught.value.field == f"lead.{key}"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("score", "high"),
        ("blacklisted", "maybe"),
        ("referring_id", "abc"),
        ("gdpr_lead_status", 40000),
        ("first_name", ["John"]),
        ("date_joined", "2019-13-01 00:00:00"),
    ],
)
def test_bad_lead_values(key, value):
    with pytest.raises(PayloadError) as caught:
        fields_of(**{key: value})
    assert caught.value.field == f"lead.{key}"
    assert caught.value.value == value


@pytest.mark.parametrize(
    ("key", "first", "then", "expected"),
    [
        # True == 1 and False == 0, also as keys of a dict
        ("score", 1, True, PayloadError("lead.score", True, "expected an integer, not a boolean")),
        ("referring_id", 0, False, PayloadError("lead.referring_id", False, "not a boolean")),
        ("first_name", 1, True, PayloadError("lead.first_name", True, "not a boolean")),
        ("blacklisted", True, 1, True),
        ("company", 1, 1.0, "1"),
    ],
)
def test_a_value_converted_before_converts_the_same_whatever_its_equals(key, first, then, expected):
    fields_of(**{key: first})
    fields_of(**{key: first})  # the second from what the first converted
    if isinstance(expected, PayloadError):
        with pytest.raises(PayloadError) as caught:
            fields_of(**{key: then})
        assert caught.value.field == expected.field
        assert expected.reason in caught.value.reason
    else:
        assert fields_of(**{key: then}) == {key: expected}


def test_a_value_that_failed_fails_again_and_names_its_block():
    for path in ("lead", "lead_details"):
        with pytest.raises(PayloadError) as caught:
            parse_profile({"id": "1", "score": "high"}, path)
        assert caught.value.field == f"{path}.score"


def test_converted_values_are_kept_up_to_a_bound(monkeypatch):
    monkeypatch.setattr(profile, "_known", {})
    monkeypatch.setattr(profile, "_KNOWN_MAX", 10)
    for n in range(25):
        assert fields_of(company=f"company {n}", score=str(n)) == {
            "company": f"company {n}",
            "score": n,
        }
        assert len(profile._known) <= 10
    assert fields_of(notes="n" * 5000) == {"notes": "n" * 5000}
    assert ("notes", str, "n" * 5000) not in profile._known  # long texts are not kept


def custom(field_type, value, **extra):
    entry = {"field_id": "9", "field_identifier": "f", "field_type": field_type, **extra}
    if value is not ...:
        entry["field_value"] = value
    (record,) = parse_profile({"id": 1, "custom_fields": [entry]}).custom_values
    return record


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("beef lasagna", "beef lasagna"),
        ("", ""),
        (None, ""),
        (..., ""),
        ([], ""),  # PHP's empty array
        (42, "42"),
        ("N/A", "N/A"),  # a lead's own text is kept as typed
        (" padded ", " padded "),
    ],
)
@pytest.mark.parametrize("field_type", ["input_field", "text_area"])
def test_text_custom_values(field_type, value, expected):
    assert custom(field_type, value) == CustomValueRecord(9, "f", field_type, expected, ())


RED, BLUE = OptionRef(1, "red"), OptionRef(2, "blue")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            [{"option_id": "1", "option_value": "red"}, {"option_id": 2, "option_value": "blue"}],
            (RED, BLUE),
        ),
        ({"option_id": "1", "option_value": "red"}, (RED,)),  # a single option object
        ({"0": {"option_id": 1, "option_value": "red"}}, (RED,)),  # PHP array as object
        ("", ()),
        (None, ()),
        (..., ()),
        ([], ()),
        ("612", (OptionRef(612, ""),)),  # create_lead's drop_down form
        (612, (OptionRef(612, ""),)),
        ([620, "621"], (OptionRef(620, ""), OptionRef(621, ""))),  # create_lead's checkbox form
        (
            [{"option_id": 1, "option_value": "red"}, {"option_id": "1", "option_value": "red"}],
            (RED,),
        ),
        ([{"option_id": 1}], (OptionRef(1, ""),)),
    ],
)
@pytest.mark.parametrize("field_type", ["drop_down", "radio_button", "checkbox"])
def test_choice_custom_values(field_type, value, expected):
    assert custom(field_type, value) == CustomValueRecord(9, "f", field_type, "", expected)


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("red", "lead.custom_fields[0].field_value"),
        ("1,2", "lead.custom_fields[0].field_value"),
        ([{"option_value": "red"}], "lead.custom_fields[0].field_value[0].option_id"),
        ([{"option_id": "x"}], "lead.custom_fields[0].field_value[0].option_id"),
        ([[1]], "lead.custom_fields[0].field_value[0]"),
        (True, "lead.custom_fields[0].field_value"),
    ],
)
def test_bad_choice_values(value, field):
    with pytest.raises(PayloadError) as caught:
        custom("checkbox", value)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("sent", "expected"), [("Checkbox", "checkbox"), (" drop_down ", "drop_down")]
)
def test_field_type_spelling(sent, expected):
    assert custom(sent, []).field_type == expected


@pytest.mark.parametrize("field_type", ["", None, [], "x" * 65])
def test_missing_or_unreadable_field_type_is_an_error(field_type):
    with pytest.raises(PayloadError) as caught:
        custom(field_type, "x")
    assert caught.value.field == "lead.custom_fields[0].field_type"


@pytest.mark.parametrize(
    ("field_type", "value", "expected"),
    [
        ("date", "1990-01-01", CustomValueRecord(9, "f", "date", "1990-01-01", ())),
        (" Date ", "", CustomValueRecord(9, "f", "Date", "", ())),
        (3, "x", CustomValueRecord(9, "f", "3", "x", ())),
        (
            "multi_select",
            [{"option_id": "1", "option_value": "a"}],
            CustomValueRecord(9, "f", "multi_select", "", (OptionRef(1, "a"),)),
        ),
    ],
)
def test_a_field_type_kartra_added_since_is_kept_as_sent(field_type, value, expected):
    # Text unless its value lists options (kartra-facts: expect unknown new keys).
    assert custom(field_type, value) == expected


def test_custom_field_identity():
    assert custom("input_field", "x", field_id="0").field_kartra_id is None
    record = custom("input_field", "x", field_identifier="")
    assert (record.field_kartra_id, record.identifier) == (9, "")
    with pytest.raises(PayloadError) as caught:
        custom("input_field", "x", field_id="", field_identifier="")
    assert caught.value.field == "lead.custom_fields[0]"


@pytest.mark.parametrize(("value", "expected"), [([], ()), ("", ()), (None, ())])
def test_empty_custom_fields_means_no_values(value, expected):
    assert parse_profile({"id": 1, "custom_fields": value}).custom_values == expected


def test_custom_fields_must_be_a_list():
    with pytest.raises(PayloadError) as caught:
        parse_lead_details({"id": 1, "custom_fields": "color"})
    assert caught.value.field == "lead_details.custom_fields"
