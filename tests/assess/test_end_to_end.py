"""The oracle core end to end without a chain: real photos and NOAA files through store, assessment, explanation."""

from __future__ import annotations

from dataclasses import replace

from eth_utils import keccak

from oracle.assess import DEFAULT_TERMS_PATH, AssessmentInputs, Decision, assess, explanation_for
from oracle.assess.imagehash import dhash, phash
from oracle.cas import LocalContentStore
from oracle.explain import build_manifest, canonical_json, explanation_hash, load_manifest, verify_evidence
from oracle.sources.history import InMemoryClaimsHistory, PriorPhoto
from oracle.sources.noaa import load_storm_events
from oracle.sources.terms import load_terms
from tests.factories import prediction, real_photo_paths


def _run_claim(store, tables_dir, claim, names_and_bytes, history, incident_shift=0):
    manifest = build_manifest(names_and_bytes)
    for _, data in names_and_bytes:
        store.put(data)
    store.put(manifest.data)
    terms_bytes = DEFAULT_TERMS_PATH.read_bytes()
    store.put(terms_bytes)
    claim = replace(
        claim,
        evidence_root=manifest.root,
        incident_time=claim.incident_time + incident_shift,
        submitted_at=claim.submitted_at + incident_shift,
    )
    terms = load_terms(store, keccak(terms_bytes))
    photos = verify_evidence(load_manifest(claim.evidence_root, store), claim.evidence_root, store)
    t = terms.thresholds
    weather = load_storm_events(tables_dir).events_near(
        claim.peril,
        claim.lat,
        claim.lon,
        claim.incident_time,
        t.weather_radius_km,
        t.weather_window_hours,
        county_fips=claim.county_fips,
    )
    inputs = AssessmentInputs(
        claim=claim,
        photos=photos,
        predictions=[prediction(heatmap=b"png-%d" % i) for i in range(len(photos))],
        weather=weather,
        history=history,
        terms=terms,
        terms_hash=keccak(terms_bytes),
    )
    result = assess(inputs)
    doc = explanation_for(
        inputs, result, model_id="test-model", model_sha256=b"\x44" * 32, code_version="0.1.0"
    ).to_doc()
    for data in result.artifacts.values():
        store.put(data)
    explanation_cid = store.put(canonical_json(doc))
    return result, doc, explanation_cid


def test_hail_claim__noaa_hail_that_morning__approved_and_explanation_resolvable(tmp_path, tables_dir, claim):
    store = LocalContentStore(tmp_path / "cas")
    photos = [(p.name, p.read_bytes()) for p in real_photo_paths(2)]
    result, doc, cid = _run_claim(store, tables_dir, claim, photos, InMemoryClaimsHistory())
    assert result.decision is Decision.APPROVE
    assert doc["sources"][0]["recordId"] == "808462"
    assert store.cid_for_keccak(explanation_hash(doc)) == cid
    assert all(store.has(f["heatmapCid"]) for f in doc["findings"])


def test_hail_claim__no_hail_in_noaa_that_week__referred_with_reason(tmp_path, tables_dir, claim):
    store = LocalContentStore(tmp_path / "cas")
    photos = [(p.name, p.read_bytes()) for p in real_photo_paths(2)]
    result, doc, _ = _run_claim(store, tables_dir, claim, photos, InMemoryClaimsHistory(), incident_shift=7 * 86_400)
    assert result.decision is Decision.REFER
    assert doc["sources"] == []
    assert any(r["id"] == "weather.unsupported" and "no hail record" in r["reason"] for r in doc["rules"])


def test_reused_real_photo__earlier_claim_has_it__referred(tmp_path, tables_dir, claim):

    store = LocalContentStore(tmp_path / "cas")
    paths = real_photo_paths(3)
    reused = paths[0].read_bytes()
    earlier = PriorPhoto(
        claim_id=1, submitted_at=0, cid="earlier", sha256="0x", phash=phash(reused), dhash=dhash(reused)
    )
    history = InMemoryClaimsHistory(photos=[earlier])
    result, doc, _ = _run_claim(store, tables_dir, claim, [(p.name, p.read_bytes()) for p in paths], history)
    assert result.decision is Decision.REFER
    assert [s["id"] for s in doc["fraudSignals"]] == ["photo.reused"]
    assert doc["fraudSignals"][0]["details"]["photo"] == 0
