"""Claimant metadata in the evidence manifest, and the demo helper that stores a claim's evidence."""

from __future__ import annotations

import pytest

from oracle.claim.evidence import store_evidence
from oracle.explain.evidence import EvidenceError, build_manifest, manifest_claimant
from tests.factories import make_jpeg


def test_store_evidence__metadata__bound_by_the_root(store):
    plain = store_evidence(store, [("a.jpg", make_jpeg(1))])
    with_county = store_evidence(store, [("a.jpg", make_jpeg(1))], county_fips="12013")
    assert plain.root != with_county.root
    assert plain.root == build_manifest([("a.jpg", make_jpeg(1))]).root  # no metadata: the plain version-1 form
    assert with_county.uri == f"ipfs://{with_county.manifest_cid}" and store.has(with_county.manifest_cid)


@pytest.mark.parametrize(
    "claimant, message",
    [
        ({"countyFips": "12"}, "countyFips must be five digits"),
        ({"zoneFips": 12013}, "zoneFips must be five digits"),
        ({"colour": "red"}, r"unknown keys \['colour'\]"),
    ],
)
def test_build_manifest__bad_claimant_metadata__raises_naming_the_key(claimant, message):
    with pytest.raises(EvidenceError, match=message):
        build_manifest([("a.jpg", make_jpeg(1))], claimant)


def test_manifest_claimant__plain_manifest__empty():
    assert manifest_claimant(build_manifest([("a.jpg", make_jpeg(1))]).data) == {}


def test_manifest_claimant__metadata__returned_as_given():
    """An older manifest's vehicleClass still reads (nodes price the policy's class, never this one)."""
    claimant = {"vehicleClass": "suv", "countyFips": "12013", "zoneFips": "12011"}
    assert manifest_claimant(build_manifest([("a.jpg", make_jpeg(1))], claimant).data) == claimant
