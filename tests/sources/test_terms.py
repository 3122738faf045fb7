"""Tests for the terms document: parsing, validation and loading by keccak256 from the content store."""

from __future__ import annotations

import json

import pytest
from eth_utils import keccak

from oracle.assess import ALL_PERILS, DEFAULT_TERMS_PATH, Peril
from oracle.cas import MemoryContentStore
from oracle.domain import MAX_VEHICLE_CLASSES
from oracle.sources.terms import TermsError, load_terms, parse_terms

DEFAULT = json.loads(DEFAULT_TERMS_PATH.read_bytes())


def _with(**changes) -> bytes:
    doc = json.loads(json.dumps(DEFAULT))
    for path, value in changes.items():
        target = doc
        keys = path.split("__")
        for key in keys[:-1]:
            target = target[key]
        if value is ...:
            del target[keys[-1]]
        else:
            target[keys[-1]] = value
    return json.dumps(doc).encode()


def test_parse_terms__shipped_default__valid_with_all_perils_and_schedule():
    terms = parse_terms(DEFAULT_TERMS_PATH.read_bytes())
    assert terms.perils_mask == int(ALL_PERILS) == 0b111111
    assert terms.currency.decimals == 18
    assert terms.repair_cost("sedan", "moderate") == 8 * 10**17
    assert terms.repair_cost("tank", "minor") is None
    assert terms.thresholds.weather_radius_km == 25


def test_parse_terms__subset_of_perils__mask_has_only_those_bits():
    terms = parse_terms(_with(perils=["hail", "theft"]))
    assert terms.perils_mask == int(Peril.HAIL | Peril.THEFT)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"perils": ["hail", "meteor"]}, "perils"),
        ({"costSchedule__sedan__minor": "12.5"}, "decimal string"),
        ({"costSchedule__sedan__severe": "1"}, "must not fall with severity"),
        ({"thresholds__minAutoApproveConfidenceBps": 10_001}, "minAutoApproveConfidenceBps"),
        ({"thresholds__noDamageMaxProbabilityBps": 6000}, "must not exceed"),
        ({"currency__asset": "0x123"}, "asset"),
        ({"version": 2}, "version"),
        ({"costSchedule": ...}, "costSchedule"),
        ({"surprise": True}, "surprise"),
    ],
)
def test_parse_terms__invalid_field__raises_naming_it(changes, message):
    with pytest.raises(TermsError, match=message):
        parse_terms(_with(**changes))


def test_parse_terms__more_classes_than_a_product_prices__raises():
    row = DEFAULT["costSchedule"]["sedan"]
    with pytest.raises(TermsError, match="costSchedule"):
        parse_terms(_with(costSchedule={f"class {i}": row for i in range(MAX_VEHICLE_CLASSES + 1)}))


@pytest.mark.parametrize("name", ["2", " ", ""])
def test_parse_terms__class_named_by_a_number__raises(name):
    """A policy names its class by its place in the schedule; a browser would move a number-like name first."""
    row = DEFAULT["costSchedule"]["sedan"]
    with pytest.raises(TermsError, match="vehicle class names must be words"):
        parse_terms(_with(costSchedule={"compact": row, name: row}))


def test_parse_terms__schedule__keeps_the_document_order():
    assert list(parse_terms(DEFAULT_TERMS_PATH.read_bytes()).cost_schedule) == list(DEFAULT["costSchedule"])


def test_parse_terms__float_number__raises():
    with pytest.raises(TermsError, match="not an integer"):
        parse_terms(_with(thresholds__weatherRadiusKm=25.5))


def test_load_terms__by_keccak__returns_parsed_terms():
    store = MemoryContentStore()
    data = DEFAULT_TERMS_PATH.read_bytes()
    store.put(data)
    terms = load_terms(store, keccak(data))
    assert terms.name == DEFAULT["name"]
    assert load_terms(store, "0x" + keccak(data).hex()) == terms


def test_load_terms__unknown_hash__raises_naming_hash():
    with pytest.raises(TermsError, match="0x" + "cd" * 32):
        load_terms(MemoryContentStore(), b"\xcd" * 32)


@pytest.mark.parametrize(
    ("decimals", "base_units", "text"),
    [
        (18, 200_000_000_000_000_000, "0.2 ETH"),
        (18, 10**18, "1 ETH"),
        (18, 1, "0.000000000000000001 ETH"),
        (18, 0, "0 ETH"),
        (6, 1_234_567_891, "1234.567891 ETH"),
        (0, 42, "42 ETH"),
    ],
)
def test_currency_format__base_units__exact_decimal_with_symbol(decimals, base_units, text):
    currency = parse_terms(_with(currency__decimals=decimals)).currency
    assert currency.format(base_units) == text
