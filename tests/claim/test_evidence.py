"""Claimant metadata in the evidence manifest, and the demo helper that stores a claim's evidence."""

from __future__ import annotations

import pytest

from oracle.assess import DEFAULT_TERMS_PATH
from oracle.claim.evidence import store_evidence
from oracle.explain.evidence import EvidenceError, build_manifest, manifest_claimant
from oracle.sources.terms import parse_terms
from tests.factories import make_jpeg


def test_store_evidence__vehicle_class_not_in_schedule__raises_naming_classes(store):

    terms = parse_terms(DEFAULT_TERMS_PATH.read_bytes())
    with pytest.raises(ValueError, match=r"'tank' is not in the terms' cost schedule \(compact, sedan"):
        store_evidence(store, [("a.jpg", make_jpeg(1))], vehicle_class="tank", terms=terms)


def test_store_evidence__metadata__bound_by_the_root(store):
    plain = store_evidence(store, [("a.jpg", make_jpeg(1))])
    with_class = store_evidence(store, [("a.jpg", make_jpeg(1))], vehicle_class="suv")
    assert plain.root != with_class.root
    assert plain.root == build_manifest([("a.jpg", make_jpeg(1))]).root  # no metadata: the plain version-1 form
    assert with_class.uri == f"ipfs://{with_class.manifest_cid}" and store.has(with_class.manifest_cid)


@pytest.mark.parametrize(
    "claimant, message",
    [
        ({"countyFips": "12"}, "countyFips must be five digits"),
        ({"zoneFips": 12013}, "zoneFips must be five digits"),
        ({"vehicleClass": ""}, "vehicleClass must be a string"),
        ({"colour": "red"}, r"unknown keys \['colour'\]"),
    ],
)
def test_build_manifest__bad_claimant_metadata__raises_naming_the_key(claimant, message):
    with pytest.raises(EvidenceError, match=message):
        build_manifest([("a.jpg", make_jpeg(1))], claimant)


def test_manifest_claimant__plain_manifest__empty():
    assert manifest_claimant(build_manifest([("a.jpg", make_jpeg(1))]).data) == {}


def test_manifest_claimant__metadata__returned_as_given():
    claimant = {"vehicleClass": "suv", "countyFips": "12013", "zoneFips": "12011"}
    assert manifest_claimant(build_manifest([("a.jpg", make_jpeg(1))], claimant).data) == claimant
