"""PHP bracket form encoding (kartra-facts.md, "Body encoding"): the client encodes, the fake
Kartra decodes as Kartra's PHP does, and what the one writes the other reads back."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import parse_qsl, urlencode

from hypothesis import given, settings
from hypothesis import strategies as st

from kartra_fake.phpform import php_form_decode
from kartra_mirror.kartra.phpform import php_form_encode


def test_encode_documented_examples() -> None:
    assert php_form_encode({"get_lead": {"email": "a@b.c"}}) == [("get_lead[email]", "a@b.c")]
    assert php_form_encode({"actions": [{"cmd": "x"}]}) == [("actions[0][cmd]", "x")]


def test_encode_nested_lead_with_custom_fields_and_scalars() -> None:
    data = {
        "app_id": "A",
        "lead": {
            "email": "j@k.com",
            "custom_fields": [
                {"field_identifier": "text1", "field_value": "hi"},
                {"field_identifier": "checkbox1", "field_value": [620, 621]},
            ],
            "skip": None,
        },
        "flag": True,
        "amount": Decimal("10.50"),
    }
    assert php_form_encode(data) == [
        ("app_id", "A"),
        ("lead[email]", "j@k.com"),
        ("lead[custom_fields][0][field_identifier]", "text1"),
        ("lead[custom_fields][0][field_value]", "hi"),
        ("lead[custom_fields][1][field_identifier]", "checkbox1"),
        ("lead[custom_fields][1][field_value][0]", "620"),
        ("lead[custom_fields][1][field_value][1]", "621"),
        ("flag", "1"),
        ("amount", "10.50"),
    ]


def test_decode_like_php() -> None:
    pairs = [
        ("get_lead[email]", "a@b.c"),
        ("actions[][cmd]", "retrieve_account_pages"),
        ("actions[][cmd]", "retrieve_account_tags"),
        ("plain", "1"),
    ]
    assert php_form_decode(pairs) == {
        "get_lead": {"email": "a@b.c"},
        "actions": {"0": {"cmd": "retrieve_account_pages"}, "1": {"cmd": "retrieve_account_tags"}},
        "plain": "1",
    }


_keys = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)
_values = st.text(max_size=12)
_tree = st.recursive(
    _values,
    lambda children: st.dictionaries(_keys, children, min_size=1, max_size=4),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(_keys, _tree, min_size=1, max_size=4))
def test_encode_then_decode_round_trips(data: dict) -> None:
    assert php_form_decode(php_form_encode(data)) == data


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(_keys, _tree, min_size=1, max_size=4))
def test_client_body_reads_back_on_the_fake_across_the_wire(data: dict) -> None:
    """The client's pairs form-encoded into a body, as sent; the fake's parse of that body."""
    body = urlencode(php_form_encode(data))
    assert php_form_decode(parse_qsl(body, keep_blank_values=True)) == data
