"""Tests for canonical JSON bytes and the keccak256 over them."""

from __future__ import annotations

import json

import pytest
from eth_utils import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from oracle.explain import MAX_SAFE_INTEGER, CanonicalJSONError, canonical_json, explanation_hash, parse_canonical

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=12,
)


def test_canonical_json__nested_object__sorts_keys_without_whitespace():
    doc = {"b": [3, {"z": None, "a": True}], "a": "x", "c": False}
    assert canonical_json(doc) == b'{"a":"x","b":[3,{"a":true,"z":null}],"c":false}'


def test_canonical_json__keys_outside_bmp__sort_by_utf16_code_units():
    # U+1F600 is D83D DE00 in UTF-16, so it sorts before U+FB01 although its code point is larger
    doc = {"\ufb01": 1, "\U0001f600": 2, "a": 3}
    assert canonical_json(doc).decode() == '{"a":3,"\U0001f600":2,"\ufb01":1}'


def test_canonical_json__control_and_non_ascii__escapes_only_what_jcs_escapes():
    out = canonical_json(['\n\t"\\', "\x0f", "é€", "\u2028"])
    assert out == '["\\n\\t\\"\\\\","\\u000f","é€","\u2028"]'.encode()


def test_canonical_json__float__raises_naming_path():
    with pytest.raises(CanonicalJSONError, match=r"\$\.payout\[1\].*float 0.5"):
        canonical_json({"payout": [1, 0.5]})


def test_canonical_json__integer_beyond_2_53__raises_suggesting_string():
    canonical_json(MAX_SAFE_INTEGER)
    with pytest.raises(CanonicalJSONError, match="decimal string"):
        canonical_json({"wei": 10**18})


def test_canonical_json__bytes_or_non_string_key__raises():
    with pytest.raises(CanonicalJSONError, match="bytes"):
        canonical_json({"h": b"\x00"})
    with pytest.raises(CanonicalJSONError, match="key 1"):
        canonical_json({1: "x"})


def test_canonical_json__lone_surrogate__raises():
    with pytest.raises(CanonicalJSONError, match="surrogate"):
        canonical_json({"s": "\ud800"})


@settings(max_examples=150, deadline=None)
@given(json_values)
def test_canonical_json__any_document__roundtrips_through_json_to_same_bytes(doc):
    data = canonical_json(doc)
    assert canonical_json(json.loads(data)) == data
    assert parse_canonical(data) == json.loads(data)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text(max_size=5), st.integers(-1000, 1000), min_size=2, max_size=8))
def test_explanation_hash__key_insertion_order__does_not_change_hash(doc):
    reordered = dict(reversed(list(doc.items())))
    assert explanation_hash(doc) == explanation_hash(reordered) == keccak(canonical_json(doc))


def test_parse_canonical__whitespace_or_unsorted__raises():
    assert parse_canonical(b'{"a":1,"b":2}') == {"a": 1, "b": 2}
    with pytest.raises(CanonicalJSONError, match="not canonical"):
        parse_canonical(b'{"b":2,"a":1}')
    with pytest.raises(CanonicalJSONError, match="not canonical"):
        parse_canonical(b'{"a": 1}')


def test_parse_canonical__float_number__raises():
    with pytest.raises(CanonicalJSONError, match="integer"):
        parse_canonical(b'{"a":1.0}')
