"""Golden explanations: the same inputs give byte-identical explanations (and hashes) across refactors."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_utils import keccak

from oracle.assess import DEFAULT_TERMS_PATH, Claim, Explanation, Peril
from oracle.cas import MemoryContentStore
from oracle.claim.assessor import ClaimAssessor
from oracle.claim.evidence import store_terms
from oracle.sources.history import InMemoryClaimsHistory
from oracle.sources.terms import parse_terms
from oracle.sources.weather import NoaaStormEventsSource
from tests.factories import make_jpeg, store_manifest_naming_a_class

pytestmark = pytest.mark.asyncio

GOLDEN = Path(__file__).parent / "golden"
# pinned from the pipeline before the claim package existed (commit 62a5752), with model 0.2.0 (a826de88...)
COLLISION_HASH = "3eeb1bddf806f9e96e2f5d107b55cf6457c3a0d3ea59185e384046ce8fd473c2"
HAIL_HASH = "f10a2c1ddd31423c66ca87ea7676871eb7837c61c218d79cae3a43c98b3d30e1"
SHIPPED_MODEL_SHA256 = "a826de88"


def _claim(peril: Peril, store: MemoryContentStore) -> Claim:
    """A claim on two synthetic photos (the same bytes every run), with the shipped terms, on a policy bought for an
    suv; the manifest pinned then named the class too (nodes now read past it), so its root is unchanged."""
    terms_hash = store_terms(store, DEFAULT_TERMS_PATH.read_bytes())
    photos = [("front.jpg", make_jpeg(1, (320, 240))), ("side.jpg", make_jpeg(2, (240, 320)))]
    root, uri = store_manifest_naming_a_class(store, photos, "suv", countyFips="12013")
    return Claim(
        claim_id=3 * 4096 + 1,
        chain_id=31337,
        contract="0x5FbDB2315678afecb367f032d93F642f64180aa3",
        policy_id=3,
        product_id=1,
        evidence_root=root,
        evidence_uri=uri,
        terms_hash=terms_hash,
        policy_start=1551522000 - 60 * 86400,
        policy_end=1551522000 + 300 * 86400,
        incident_time=1551522000,
        submitted_at=1551522000 + 2 * 86400,
        lat_e6=30_500_000,
        lon_e6=-85_300_000,
        peril=peril,
        claimed_amount=5 * 10**17,
        remaining_coverage=10 * 10**18,
        deductible=10**17,
        covered_perils=0b111111,
        insured_object_id="0x" + "42" * 32,
        policy_class=list(parse_terms(DEFAULT_TERMS_PATH.read_bytes()).cost_schedule).index("suv"),
    )


async def _explanation(damage_model, peril: Peril, sources: list, *, batch: bool) -> bytes:
    if not damage_model.model_sha256.startswith(SHIPPED_MODEL_SHA256):
        pytest.skip(f"the golden explanations were pinned with model {SHIPPED_MODEL_SHA256}...; this is another")
    store = MemoryContentStore()
    claim = _claim(peril, store)
    assessor = ClaimAssessor(store, damage_model, sources, InMemoryClaimsHistory(), "0.1.0+golden")
    try:
        outcome = (await assessor.assess_batch([claim]))[0] if batch else await assessor.assess(claim)
    finally:
        assessor.close()
    assert not isinstance(outcome, Exception)
    data = store.get(outcome.explanation_cid)
    assert keccak(data) == outcome.explanation_hash
    return data


@pytest.mark.parametrize("batch", [False, True], ids=["one claim", "batch"])
async def test_explanation__collision_claim__bytes_and_hash_pinned(damage_model, batch):
    data = await _explanation(damage_model, Peril.COLLISION, [], batch=batch)
    assert data == (GOLDEN / "explanation_collision.json").read_bytes()
    assert keccak(data).hex() == COLLISION_HASH


async def test_explanation__hail_claim_with_noaa__bytes_and_hash_pinned(damage_model, tables_dir):
    data = await _explanation(damage_model, Peril.HAIL, [NoaaStormEventsSource(tables_dir)], batch=False)
    assert data == (GOLDEN / "explanation_hail.json").read_bytes()
    assert keccak(data).hex() == HAIL_HASH


@pytest.mark.parametrize("name", ["explanation_collision.json", "explanation_hail.json"])
async def test_explanation__golden_bytes__typed_round_trip_gives_the_same_bytes(name):
    data = (GOLDEN / name).read_bytes()
    assert Explanation.from_bytes(data).canonical()[0] == data
