"""Map an assessment and its inputs onto the explanation document, and read replay inputs back out of one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from oracle.assess.constants import peril_index, peril_name
from oracle.assess.imagehash import hash_hex
from oracle.assess.types import Assessment, AssessmentInputs, Prediction
from oracle.explain.document import build_explanation
from oracle.sources.records import WeatherRecord, iso_utc


PAYOUT_ORDER = "loss=min(estimate,claimed); net=max(0,loss-deductible); payout=min(net,remainingCoverage)"


def _details(pairs: tuple) -> dict:
    return {key: value for key, value in pairs}


def explanation_for(
    inputs: AssessmentInputs,
    assessment: Assessment,
    *,
    model_id: str,
    model_sha256: bytes | str,
    code_version: str,
) -> dict:
    """Build the explanation document for an assessment; code_version is an input so the document reproduces."""
    claim = inputs.claim
    try:
        peril, index = peril_name(claim.peril), peril_index(claim.peril)
    except ValueError:
        peril, index = "unknown", None
    a = assessment.arithmetic
    return build_explanation(
        claim={
            "claimId": claim.claim_id,
            "chainId": claim.chain_id,
            "contract": claim.contract,
            "policyId": claim.policy_id,
            "evidenceRoot": bytes(claim.evidence_root),
            "incident": {
                "time": claim.incident_time,
                "timeIso": iso_utc(claim.incident_time),
                "latE6": claim.lat_e6,
                "lonE6": claim.lon_e6,
                "peril": claim.peril,
                "perilName": peril,
                "perilIndex": index,
                "claimedAmount": str(claim.claimed_amount),
                "countyFips": claim.county_fips,
                "zoneFips": claim.zone_fips,
            },
            "submittedAt": claim.submitted_at,
            "policy": {
                "start": claim.policy_start,
                "end": claim.policy_end,
                "remainingCoverage": str(claim.remaining_coverage),
                "deductible": str(claim.deductible),
                "coveredPerils": claim.covered_perils,
                "insuredObjectId": claim.insured_object_id,
                "vehicleClass": claim.vehicle_class,
            },
        },
        photos=[
            {"cid": p.cid, "sha256": p.sha256, "bytes": len(p.data), "name": p.name} for p in inputs.photos
        ],
        terms_hash=bytes(inputs.terms_hash),
        model_id=model_id,
        model_sha256=model_sha256,
        code_version=code_version,
        findings=[
            {
                "index": f.index,
                "cid": f.cid,
                "label": f.label,
                "probabilitiesBps": dict(f.probabilities_bps),
                "damageBps": f.damage_bps,
                "confidenceBps": f.confidence_bps,
                "damaged": f.damaged,
                "severity": f.severity,
                "heatmapCid": f.heatmap_cid,
                "phash": hash_hex(f.phash),
                "dhash": hash_hex(f.dhash),
                "exif": f.exif.to_doc(),
            }
            for f in assessment.findings
        ],
        sources=None if assessment.weather_records is None else [r.to_doc() for r in assessment.weather_records],
        fraud_signals=[
            {"id": s.id, "strength": s.strength, "reason": s.reason, "details": _details(s.details)}
            for s in assessment.fraud_signals
        ],
        rules=[
            {"id": r.id, "outcome": r.outcome, "reason": r.reason, "confidenceBps": r.confidence_bps}
            for r in assessment.rules
        ],
        payout_arithmetic={
            "order": PAYOUT_ORDER,
            "vehicleClass": a.vehicle_class,
            "severity": a.severity,
            "estimate": None if a.estimate is None else str(a.estimate),
            "claimed": str(a.claimed),
            "loss": str(a.loss),
            "deductible": str(a.deductible),
            "net": str(a.net),
            "remainingCoverage": str(a.remaining_coverage),
            "payout": str(a.payout),
        },
        decision=int(assessment.decision),
        payout=assessment.payout,
        confidence_bps=assessment.confidence_bps,
    )


def predictions_from_explanation(doc: Mapping[str, Any]) -> list[Prediction]:
    """Rebuild per-photo predictions from an explanation's findings (basis points back to probabilities).

    Heat maps are not needed to replay a decision, so they come back empty.
    """
    return [
        Prediction(
            probabilities={k: v / 10_000 for k, v in f["probabilitiesBps"].items()},
            label=f["label"],
            confidence=f["confidenceBps"] / 10_000,
            damage_probability=f["damageBps"] / 10_000,
        )
        for f in doc["findings"]
    ]


def weather_from_explanation(doc: Mapping[str, Any]) -> list[WeatherRecord] | None:
    """Rebuild the weather records an explanation recorded (None when weather was not checked)."""
    if doc["sources"] is None:
        return None
    return [
        WeatherRecord(
            source=r["source"],
            record_id=r["recordId"],
            event_type=r["eventType"],
            perils=r["perils"],
            begin=r["begin"],
            end=r["end"],
            match=r["match"],
            distance_m=r["distanceM"],
            lat_e6=r["latE6"],
            lon_e6=r["lonE6"],
            magnitude=r["magnitude"],
            magnitude_unit=r["magnitudeUnit"],
            as_of=r["asOf"],
            details=tuple(sorted(r["details"].items())),
        )
        for r in doc["sources"]
    ]


def replay_matches(doc: Mapping[str, Any], assessment: Assessment) -> dict[str, tuple[Any, Any]]:
    """Compare a recorded explanation with a fresh assessment; return the fields that differ (empty = match)."""
    recorded = {
        "decision": doc["decision"]["code"],
        "payout": int(doc["payout"]),
        "confidenceBps": doc["confidenceBps"],
        "rules": [r["id"] for r in doc["rules"]],
    }
    fresh = {
        "decision": int(assessment.decision),
        "payout": assessment.payout,
        "confidenceBps": assessment.confidence_bps,
        "rules": [r.id for r in assessment.rules],
    }
    return {k: (recorded[k], fresh[k]) for k in recorded if recorded[k] != fresh[k]}


__all__ = ["explanation_for", "predictions_from_explanation", "replay_matches", "weather_from_explanation"]
