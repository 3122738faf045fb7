"""The claim pipeline with the real model, real photos and the real NOAA files: outcomes, storage and replay."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, replace

import aiohttp
import pytest
from eth_utils import keccak

from oracle.assess import Decision, Explanation, Peril
from oracle.cas import cid_for_bytes
from oracle.claim.context import ClaimContextError, new_claim
from oracle.claim.history import record_in_history
from oracle.claim.model import ModelUnavailableError
from oracle.claim.replay import ExplanationNotFoundError, replay
from oracle.explain.evidence import EvidenceError
from oracle.sources.history import InMemoryClaimsHistory
from oracle.sources.open_meteo import UpstreamError
from oracle.sources.weather import OpenMeteoArchiveSource
from tests.claim.conftest import RETRIEVED_AT, error_body, open_meteo_app
from tests.factories import make_jpeg, real_photo_paths, store_manifest_naming_a_class

pytestmark = pytest.mark.asyncio


async def test_assess__hail_claim_with_noaa_hail__explanation_and_heatmaps_stored(
    damage_model, noaa, make_assessor, make_context, photo_bytes, store
):
    ctx = make_context(photo_bytes)
    outcome = await make_assessor(damage_model, [noaa]).assess(ctx)

    stored = store.get(outcome.explanation_cid)
    assert keccak(stored) == outcome.explanation_hash
    assert Explanation.from_bytes(stored).to_doc() == outcome.explanation.to_doc()
    assert outcome.model_hash == hashlib.sha256(damage_model.path.read_bytes()).digest()
    doc = outcome.explanation.to_doc()
    assert (doc["decision"]["code"], int(doc["payout"]), doc["confidenceBps"]) == (
        outcome.decision,
        outcome.payout,
        outcome.confidence_bps,
    )
    assert doc["claim"]["policy"]["vehicleClass"] == "sedan"  # the default when the manifest names none
    assert "808462" in [r["recordId"] for r in doc["sources"]]
    assert "weather.supported" in [r["id"] for r in doc["rules"]]
    heatmaps = [f["heatmapCid"] for f in doc["findings"]]
    assert len(heatmaps) == 2 and all(store.get(cid).startswith(b"\x89PNG") for cid in heatmaps)


async def test_assess__same_claim_on_two_assessors__same_outcome(
    damage_model, noaa, make_assessor, make_context, photo_bytes
):
    ctx = make_context(photo_bytes)
    first = await make_assessor(damage_model, [noaa]).assess(ctx)
    second = await make_assessor(damage_model, [noaa]).assess(ctx)
    assert first == second


async def test_replay__stored_explanation__matches(damage_model, noaa, make_assessor, make_context, photo_bytes):
    ctx = make_context(photo_bytes)
    assessor = make_assessor(damage_model, [noaa])
    outcome = await assessor.assess(ctx)
    assert replay(assessor, ctx, outcome.explanation_cid) == {}


async def test_replay__without_model_or_sources__uses_recorded_findings_and_weather(
    damage_model, noaa, make_assessor, make_context, photo_bytes
):
    ctx = make_context(photo_bytes)
    outcome = await make_assessor(damage_model, [noaa]).assess(ctx)
    assert replay(make_assessor(None, []), ctx, outcome.explanation_cid) == {}


async def test_replay__explanation_of_another_claim__names_the_fields(
    damage_model, noaa, make_assessor, make_context, photo_bytes
):
    assessor = make_assessor(damage_model, [noaa])
    outcome = await assessor.assess(make_context(photo_bytes))
    other = make_context(photo_bytes[:1], claim_id=99, covered_perils=0b1)  # hail not covered: REJECT
    differences = replay(assessor, other, outcome.explanation_cid)
    assert differences["claimId"] == (str(3 * 4096 + 1), "99")
    assert differences["evidenceRoot"][1] == "0x" + other.evidence_root.hex()
    assert differences["decision"][1] == int(Decision.REJECT)


async def test_claimant_cannot_choose_a_dearer_class_in_the_evidence(
    damage_model, noaa, make_assessor, make_context, photo_bytes, store
):
    """A manifest naming "luxury" on a policy bought for a compact: the repair is priced for the compact."""
    root, uri = store_manifest_naming_a_class(store, photo_bytes, "luxury", countyFips="12013")
    compact = 0  # the policy's class on-chain: the first class of the terms' cost schedule
    ctx = make_context(photo_bytes, policy_class=compact, evidence_root=root, evidence_uri=uri)
    doc = (await make_assessor(damage_model, [noaa]).assess(ctx)).explanation.to_doc()
    assert doc["claim"]["policy"]["vehicleClass"] == "compact"
    assert doc["payoutArithmetic"]["vehicleClass"] == "compact"
    assert doc["claim"]["incident"]["countyFips"] == "12013"  # the rest of the claimant's metadata still counts


async def test_assess__policy_class_past_the_schedule__referred_naming_it(
    damage_model, noaa, make_assessor, make_context, photo_bytes
):
    ctx = make_context(photo_bytes, policy_class=7)  # a product priced more classes than its terms list
    outcome = await make_assessor(damage_model, [noaa]).assess(ctx)
    assert outcome.decision == Decision.REFER
    rule = next(r for r in outcome.explanation.assessment.rules if r.id == "schedule.unknown_class")
    assert "'class #7' is not in the cost schedule" in rule.reason


async def test_assess__peril_not_covered__rejected_with_reason(
    damage_model, noaa, make_assessor, make_context, photo_bytes
):
    ctx = make_context(photo_bytes, covered_perils=0b1)  # collision only; the claim is for hail
    outcome = await make_assessor(damage_model, [noaa]).assess(ctx)
    assert (outcome.decision, outcome.payout) == (Decision.REJECT, 0)
    assert "coverage.peril_not_covered" in [r.id for r in outcome.explanation.assessment.rules]


async def test_assess__collision_claim__no_weather_source_asked(
    damage_model, aiohttp_server, make_assessor, make_context, photo_bytes
):
    server = await aiohttp_server(open_meteo_app())
    async with aiohttp.ClientSession() as session:
        source = OpenMeteoArchiveSource(session, base_url=str(server.make_url("/v1/archive")))
        outcome = await make_assessor(damage_model, [source]).assess(make_context(photo_bytes, peril=Peril.COLLISION))
    assert server.app["hits"] == []
    assert outcome.explanation.assessment.weather_records is None


async def test_assess__open_meteo_stand_in__records_with_frozen_retrieval_time(
    damage_model, aiohttp_server, make_assessor, make_context, photo_bytes
):
    server = await aiohttp_server(open_meteo_app())
    async with aiohttp.ClientSession() as session:
        source = OpenMeteoArchiveSource(
            session, base_url=str(server.make_url("/v1/archive")), clock=lambda: RETRIEVED_AT
        )
        outcome = await make_assessor(damage_model, [source]).assess(make_context(photo_bytes))
    sources = outcome.explanation.to_doc()["sources"]
    assert {r["source"] for r in sources} == {"open-meteo-archive"}
    assert {r["asOf"] for r in sources} == {"2025-11-22T08:26:40Z"}
    assert "weather.supported" in [r.id for r in outcome.explanation.assessment.rules]


async def test_assess__every_weather_source_down__raises_upstream_error(
    damage_model, aiohttp_server, make_assessor, make_context, photo_bytes
):
    server = await aiohttp_server(open_meteo_app(status=400, body=error_body("quota exceeded")))
    async with aiohttp.ClientSession() as session:
        source = OpenMeteoArchiveSource(session, base_url=str(server.make_url("/v1/archive")))
        with pytest.raises(UpstreamError, match="every weather source failed.*open-meteo-archive"):
            await make_assessor(damage_model, [source]).assess(make_context(photo_bytes))


async def test_assess__one_weather_source_down__decides_on_the_others(
    damage_model, noaa, aiohttp_server, make_assessor, make_context, photo_bytes
):
    server = await aiohttp_server(open_meteo_app(status=500, body=b"down"))
    async with aiohttp.ClientSession() as session:
        source = OpenMeteoArchiveSource(session, base_url=str(server.make_url("/v1/archive")))
        outcome = await make_assessor(damage_model, [noaa, source]).assess(make_context(photo_bytes))
    assert {r.source for r in outcome.explanation.assessment.weather_records} == {"noaa-storm-events"}


async def test_assess__photo_of_an_earlier_claim__referred_as_reused(
    damage_model, noaa, make_assessor, make_context, photo_bytes
):
    assessor = make_assessor(damage_model, [noaa], history=InMemoryClaimsHistory(), record_history=True)
    first = make_context(photo_bytes)
    await assessor.assess(first)
    third = real_photo_paths(3)[2]
    later = make_context(
        [photo_bytes[0], (third.name, third.read_bytes())],
        claim_id=first.claim_id + 4096,
        policy_id=4,
        submitted_at=first.submitted_at + 3600,
        insured_object_id="0x" + "43" * 32,
    )
    outcome = await assessor.assess(later)
    assert outcome.decision == Decision.REFER
    assert [s.id for s in outcome.explanation.assessment.fraud_signals] == ["photo.reused"]


async def test_assess__no_model__evidence_checked_first_then_refused(make_assessor, make_context, store, photo_bytes):
    assessor = make_assessor(None)
    with pytest.raises(EvidenceError, match="no manifest with keccak256"):
        await assessor.assess(make_context(photo_bytes, evidence_root=b"\x01" * 32))
    with pytest.raises(ModelUnavailableError, match="no damage model is loaded"):
        await assessor.assess(make_context(photo_bytes))


async def test_assess__undecodable_photo__evidence_error_names_it(make_assessor, make_context, store):
    ctx = make_context([("ok.jpg", make_jpeg(1)), ("broken.jpg", b"\xff\xd8\xff not really a jpeg")])
    with pytest.raises(EvidenceError, match=r"photo 2 \('broken.jpg'.*do not decode as an image"):
        await make_assessor(None).assess(ctx)


async def test_new_claim__policy_ends_before_it_starts__context_error(make_context, photo_bytes):
    facts = asdict(make_context(photo_bytes))
    with pytest.raises(ClaimContextError, match="policy ends"):
        new_claim(**{**facts, "policy_end": facts["policy_start"] - 1})


async def test_replay__unknown_explanation__not_found_names_the_id(make_assessor, make_context, photo_bytes):

    cid = cid_for_bytes(b"never stored")
    with pytest.raises(ExplanationNotFoundError, match=f"explanation {cid} cannot be read"):
        replay(make_assessor(None), make_context(photo_bytes), cid)


async def test_assess_batch__several_claims_one_model_call__same_outcomes_and_bytes_as_one_by_one(
    damage_model, noaa, make_assessor, make_context, store
):
    photos = [(p.name, p.read_bytes()) for p in real_photo_paths(5)]
    first = make_context(photos[:2])
    reused = make_context(
        [photos[1], photos[2]],
        claim_id=first.claim_id + 4096,
        policy_id=4,
        submitted_at=first.submitted_at + 3600,
        insured_object_id="0x" + "43" * 32,
    )
    collision = make_context(
        photos[3:5],
        claim_id=first.claim_id + 2 * 4096,
        policy_id=5,
        submitted_at=first.submitted_at + 7200,
        insured_object_id="0x" + "44" * 32,
        peril=Peril.COLLISION,
    )
    unknown = replace(collision, claim_id=collision.claim_id + 1, evidence_root=b"\x01" * 32)
    one_by_one = make_assessor(damage_model, [noaa], history=InMemoryClaimsHistory(), record_history=True)
    expected = [await one_by_one.assess(ctx) for ctx in (first, reused, collision)]

    batched = make_assessor(damage_model, [noaa], history=InMemoryClaimsHistory(), record_history=True)
    results = await batched.assess_batch([first, reused, unknown, collision])

    assert results[:2] + results[3:] == expected  # decisions, payouts, hashes and explanations alike
    assert isinstance(results[2], EvidenceError)  # one claim's problem stops that claim only
    assert [s.id for s in results[1].explanation.assessment.fraud_signals] == [
        "photo.reused"
    ]  # history within the batch
    for outcome in expected:
        assert keccak(store.get(outcome.explanation_cid)) == outcome.explanation_hash


async def test_assess_batch__record_callback__called_in_order_before_the_next_claim(
    damage_model, make_assessor, make_context
):
    photos = [(p.name, p.read_bytes()) for p in real_photo_paths(2)]
    claims = [
        make_context(
            [photo],
            claim_id=4096 * (i + 5),
            policy_id=i + 5,
            insured_object_id="0x" + bytes([i]).hex() * 32,
            peril=Peril.COLLISION,
        )
        for i, photo in enumerate(photos)
    ]
    history = InMemoryClaimsHistory()
    seen = []

    def record(ctx, outcome):
        seen.append((ctx.claim_id, len(list(history.prior_photos(before=(2**62, 0))))))
        record_in_history(history, ctx, outcome)

    results = await make_assessor(damage_model, history=history).assess_batch(claims, record=record)
    assert [ctx.claim_id for ctx in claims] == [claim_id for claim_id, _ in seen]
    assert [count for _, count in seen] == [0, 1]  # the second claim was assessed after the first was recorded
    assert all(not isinstance(result, Exception) for result in results)
