"""loads_lenient: the docs' trailing commas and a BOM, nothing more."""

from __future__ import annotations

import pytest

from leads.normalize import PayloadError, loads_lenient


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"option_id":"1","option_value":"red",}', {"option_id": "1", "option_value": "red"}),
        ("[1, 2,]", [1, 2]),
        ('[{"a":1},\n\t]', [{"a": 1}]),
        ('{"a": [1,\n ],\n}', {"a": [1]}),
        ('{"a": ",}"}', {"a": ",}"}),  # inside a string: untouched
        ('{"a": "x\\",]", "b": 1,}', {"a": 'x",]', "b": 1}),  # escaped quote inside a string
        ('{"a": "\\\\",}', {"a": "\\"}),  # escaped backslash before the closing quote
        ('"just text"', "just text"),
    ],
)
def test_trailing_commas(text, expected):
    assert loads_lenient(text) == expected
    assert loads_lenient(text.encode()) == expected


@pytest.mark.parametrize("data", [b'\xef\xbb\xbf{"a": 1,}', '\ufeff{"a": 1}'])
def test_bom(data):
    assert loads_lenient(data) == {"a": 1}


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not json",
        b'{"a": 1,,}',
        b"[,]",
        b'{"a": NaN}',
        b'{"a": Infinity}',
        b"\xff\xfe{}",
        b"[" * 100000,
        b'{"a": 1} trailing',
        None,
        5,
    ],
)
def test_not_json(data):
    with pytest.raises(PayloadError) as caught:
        loads_lenient(data)
    assert caught.value.field == "body"
