"""The account catalogue calls (kartra-facts.md; 004's Zapier actions)."""

from __future__ import annotations

import pytest

from leads.normalize import (
    CatalogRef,
    CustomFieldRecord,
    OptionRef,
    PayloadError,
    parse_account_names,
    parse_custom_fields,
    parse_pages,
)


@pytest.mark.parametrize(
    ("answer", "key", "expected"),
    [
        (
            {"status": "Success", "account_tags": ["Tag 1", "Tag 2"]},
            "account_tags",
            ["Tag 1", "Tag 2"],
        ),
        ({"status": "Success", "account_lists": ["A", "A", "", "B"]}, "account_lists", ["A", "B"]),
        (
            {"account_sequences": [{"sequence_name": "S"}, {"name": "T"}]},
            "account_sequences",
            ["S", "T"],
        ),
        ({"account_tags": [{"tag_name": "x"}]}, "account_tags", ["x"]),
        ({"account_tags": []}, "account_tags", []),
        ({"account_tags": {"0": "a", "1": "b"}}, "account_tags", ["a", "b"]),
        (["a", 5], "account_tags", ["a", "5"]),
        # wrapped like create_lead's answer in 002
        (
            {"status": "Success", "actions": [{"retrieve_account_tags": {"account_tags": ["t"]}}]},
            "account_tags",
            ["t"],
        ),
    ],
)
def test_parse_account_names(answer, key, expected):
    assert parse_account_names(answer, key) == expected


@pytest.mark.parametrize(
    ("answer", "field"),
    [
        ({"status": "Success"}, "account_tags"),
        ({"account_tags": "Tag 1"}, "account_tags"),  # names come as a list
        ({"account_tags": [["nested"]]}, "account_tags[0]"),
        ({"account_tags": 5}, "account_tags"),
    ],
)
def test_parse_account_names_errors(answer, field):
    with pytest.raises(PayloadError) as caught:
        parse_account_names(answer, "account_tags")
    assert caught.value.field == field


CUSTOM_FIELDS = [
    {
        "field_id": "323",
        "field_identifier": "color",
        "field_type": "checkbox",
        "field_value": [
            {"option_id": "1", "option_value": "red"},
            {"option_id": "2", "option_value": "blue"},
        ],
    },
    {"field_id": "325", "field_identifier": "favorite_dish", "field_type": "input_field"},
    {"field_id": "326", "field_identifier": "notes", "field_type": "text_area", "field_value": ""},
    {
        "field_id": "327",
        "field_identifier": "size",
        "field_type": "radio_button",
        "field_value": "",
    },
]
EXPECTED_FIELDS = [
    CustomFieldRecord(323, "color", "checkbox", (OptionRef(1, "red"), OptionRef(2, "blue"))),
    CustomFieldRecord(325, "favorite_dish", "input_field", ()),
    CustomFieldRecord(326, "notes", "text_area", ()),
    CustomFieldRecord(327, "size", "radio_button", ()),
]


def test_parse_custom_fields():
    assert (
        parse_custom_fields({"status": "Success", "custom_fields": CUSTOM_FIELDS})
        == EXPECTED_FIELDS
    )
    assert parse_custom_fields(CUSTOM_FIELDS) == EXPECTED_FIELDS


@pytest.mark.parametrize(
    ("answer", "field"),
    [
        ({"status": "Success"}, "custom_fields"),
        (
            [{"field_id": "1", "field_identifier": "x", "field_type": ""}],
            "custom_fields[0].field_type",
        ),
        ([{"field_type": "input_field"}], "custom_fields[0]"),
        (["color"], "custom_fields[0]"),
    ],
)
def test_parse_custom_fields_errors(answer, field):
    with pytest.raises(PayloadError) as caught:
        parse_custom_fields(answer)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (["Home", "Sales"], [CatalogRef(None, "Home"), CatalogRef(None, "Sales")]),
        ({"account_pages": [{"page_id": "12", "page_name": "Home"}]}, [CatalogRef(12, "Home")]),
        ({"pages": [{"id": 12, "name": "Home"}]}, [CatalogRef(12, "Home")]),
        ([{"id": "12", "title": "Home"}], [CatalogRef(12, "Home")]),
        ([{"page_id": 12}], [CatalogRef(12, "")]),
        ([{"page_name": ""}, ""], []),
        (
            {"account_pages": {"12": "Home", "13": "Sales"}},
            [CatalogRef(12, "Home"), CatalogRef(13, "Sales")],
        ),
        (
            {"actions": [{"retrieve_account_pages": {"account_pages": ["Home"]}}]},
            [CatalogRef(None, "Home")],
        ),
    ],
)
def test_parse_pages(answer, expected):
    assert parse_pages(answer) == expected


def test_parse_pages_superscript_key_is_not_an_id():
    with pytest.raises(PayloadError):
        parse_pages({"account_pages": {"\u00b2": "Home"}})


def test_parse_pages_errors():
    with pytest.raises(PayloadError) as caught:
        parse_pages({"status": "Success"})
    assert caught.value.field == "account_pages"
    with pytest.raises(PayloadError) as caught:
        parse_pages([{"page_id": "home", "page_name": "Home"}])
    assert caught.value.field == "account_pages[0].page_id"
