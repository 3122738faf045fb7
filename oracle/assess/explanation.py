"""The explanation as a typed value: an assessment with the identity of its inputs, from the moment it is built
until it is verified; its canonical JSON document is what is hashed, stored and served."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from oracle.assess.constants import peril_index, peril_name
from oracle.assess.exif import PhotoExif
from oracle.assess.imagehash import hash_hex
from oracle.assess.types import (
    Assessment,
    AssessmentInputs,
    Claim,
    FraudSignal,
    PayoutArithmetic,
    PhotoFinding,
    Prediction,
    RuleFired,
)
from oracle.domain import BPS, Decision
from oracle.explain.canonical import CanonicalJSONError, parse_canonical
from oracle.explain.document import ExplanationError, build_explanation, explanation_bytes_and_hash
from oracle.sources.records import WeatherRecord, iso_utc

PAYOUT_ORDER = "loss=min(estimate,claimed); net=max(0,loss-deductible); payout=min(net,remainingCoverage)"


def _hash32(text: str) -> bytes:
    return bytes.fromhex(text.removeprefix("0x"))


def _optional_int(text: str | None) -> int | None:
    return None if text is None else int(text)


@dataclass(frozen=True)
class PhotoInput:
    """A claim photo as the explanation names it: content id, sha256, size and file name (never its pixels)."""

    cid: str
    sha256: str
    size: int
    name: str

    def to_doc(self) -> dict[str, Any]:
        """The document's `inputs.photos[i]`."""
        return {"cid": self.cid, "sha256": self.sha256, "bytes": self.size, "name": self.name}

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> PhotoInput:
        """Read `inputs.photos[i]` back."""
        return cls(cid=doc["cid"], sha256=doc["sha256"], size=doc["bytes"], name=doc["name"])


@dataclass(frozen=True)
class Explanation:
    """Why a claim got its decision: the claim's facts, its photos, the model and code that looked at them, the
    terms applied, and the assessment itself (findings, sources, fraud signals, rules, payout arithmetic)."""

    claim: Claim
    photos: tuple[PhotoInput, ...]
    terms_hash: bytes
    model_id: str
    model_sha256: bytes
    code_version: str
    assessment: Assessment

    @property
    def decision(self) -> Decision:
        """The decision the explanation justifies."""
        return self.assessment.decision

    @property
    def payout(self) -> int:
        """The payout in base units of the product's asset."""
        return self.assessment.payout

    @property
    def confidence_bps(self) -> int:
        """The confidence in basis points."""
        return self.assessment.confidence_bps

    def to_doc(self) -> dict[str, Any]:
        """The canonical-JSON-ready document (checked part by part; see oracle.explain.document)."""
        claim, a = self.claim, self.assessment
        try:
            peril, index = peril_name(claim.peril), peril_index(claim.peril)
        except ValueError:
            peril, index = "unknown", None
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
            photos=[photo.to_doc() for photo in self.photos],
            terms_hash=bytes(self.terms_hash),
            model_id=self.model_id,
            model_sha256=self.model_sha256,
            code_version=self.code_version,
            findings=[_finding_doc(f) for f in a.findings],
            sources=None if a.weather_records is None else [r.to_doc() for r in a.weather_records],
            fraud_signals=[
                {"id": s.id, "strength": s.strength, "reason": s.reason, "details": dict(s.details)}
                for s in a.fraud_signals
            ],
            rules=[
                {"id": r.id, "outcome": r.outcome, "reason": r.reason, "confidenceBps": r.confidence_bps}
                for r in a.rules
            ],
            payout_arithmetic=_arithmetic_doc(a.arithmetic),
            decision=int(a.decision),
            payout=a.payout,
            confidence_bps=a.confidence_bps,
        )

    def canonical(self) -> tuple[bytes, bytes]:
        """The document's canonical bytes and their keccak256 (the on-chain explanationHash)."""
        return explanation_bytes_and_hash(self.to_doc())

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Explanation:
        """Read a document back into the typed explanation; ExplanationError names what is missing or wrong."""
        try:
            return cls._from_doc(doc)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            what = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
            raise ExplanationError(f"not an explanation document: {what}") from None

    @classmethod
    def from_bytes(cls, data: bytes) -> Explanation:
        """Parse stored canonical bytes (refusing anything not canonical) into the typed explanation."""
        try:
            doc = parse_canonical(data)
        except (CanonicalJSONError, ValueError) as exc:
            raise ExplanationError(f"explanation bytes are not canonical JSON: {exc}") from None
        if not isinstance(doc, dict):
            raise ExplanationError("an explanation document must be a JSON object")
        return cls.from_doc(doc)

    @classmethod
    def _from_doc(cls, doc: Mapping[str, Any]) -> Explanation:
        section, incident, policy = doc["claim"], doc["claim"]["incident"], doc["claim"]["policy"]
        photos = tuple(PhotoInput.from_doc(p) for p in doc["inputs"]["photos"])
        by_cid = {photo.cid: photo for photo in photos}
        claim = Claim(
            claim_id=int(section["claimId"]),
            chain_id=section["chainId"],
            contract=section["contract"],
            policy_id=int(section["policyId"]),
            evidence_root=_hash32(section["evidenceRoot"]),
            terms_hash=_hash32(doc["termsHash"]),
            policy_start=policy["start"],
            policy_end=policy["end"],
            incident_time=incident["time"],
            submitted_at=section["submittedAt"],
            lat_e6=incident["latE6"],
            lon_e6=incident["lonE6"],
            peril=incident["peril"],
            claimed_amount=int(incident["claimedAmount"]),
            remaining_coverage=int(policy["remainingCoverage"]),
            deductible=int(policy["deductible"]),
            covered_perils=policy["coveredPerils"],
            insured_object_id=policy["insuredObjectId"],
            vehicle_class=policy["vehicleClass"],
            county_fips=incident["countyFips"],
            zone_fips=incident["zoneFips"],
        )
        steps = doc["payoutArithmetic"]
        assessment = Assessment(
            decision=Decision(doc["decision"]["code"]),
            payout=int(doc["payout"]),
            confidence_bps=doc["confidenceBps"],
            findings=tuple(_finding_from_doc(f, by_cid[f["cid"]]) for f in doc["findings"]),
            fraud_signals=tuple(
                FraudSignal(id=s["id"], strength=s["strength"], reason=s["reason"], details=tuple(s["details"].items()))
                for s in doc["fraudSignals"]
            ),
            weather_records=None
            if doc["sources"] is None
            else tuple(WeatherRecord.from_doc(r) for r in doc["sources"]),
            rules=tuple(
                RuleFired(id=r["id"], outcome=r["outcome"], reason=r["reason"], confidence_bps=r["confidenceBps"])
                for r in doc["rules"]
            ),
            arithmetic=PayoutArithmetic(
                vehicle_class=steps["vehicleClass"],
                severity=steps["severity"],
                estimate=_optional_int(steps["estimate"]),
                claimed=int(steps["claimed"]),
                loss=int(steps["loss"]),
                deductible=int(steps["deductible"]),
                net=int(steps["net"]),
                remaining_coverage=int(steps["remainingCoverage"]),
                payout=int(steps["payout"]),
            ),
        )
        return cls(
            claim=claim,
            photos=photos,
            terms_hash=_hash32(doc["inputs"]["termsHash"]),
            model_id=doc["model"]["id"],
            model_sha256=_hash32(doc["model"]["sha256"]),
            code_version=doc["code"]["version"],
            assessment=assessment,
        )


def _finding_doc(f: PhotoFinding) -> dict[str, Any]:
    return {
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


def _exif_from_doc(exif: Mapping[str, Any]) -> PhotoExif:
    if "sealed" in exif:
        return PhotoExif(sealed=str(exif["sealed"]))
    return PhotoExif(
        taken_at=exif["takenAt"],
        taken_at_has_offset=exif["takenAtHasOffset"],
        lat_e6=exif["latE6"],
        lon_e6=exif["lonE6"],
    )


def _finding_from_doc(doc: Mapping[str, Any], photo: PhotoInput) -> PhotoFinding:
    return PhotoFinding(
        index=doc["index"],
        name=photo.name,
        cid=doc["cid"],
        sha256=photo.sha256,
        label=doc["label"],
        probabilities_bps=dict(doc["probabilitiesBps"]),
        damage_bps=doc["damageBps"],
        confidence_bps=doc["confidenceBps"],
        damaged=doc["damaged"],
        severity=doc["severity"],
        heatmap_cid=doc["heatmapCid"],
        phash=int(doc["phash"], 16),
        dhash=int(doc["dhash"], 16),
        exif=_exif_from_doc(doc["exif"]),
    )


def _arithmetic_doc(a: PayoutArithmetic) -> dict[str, Any]:
    return {
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
    }


def explanation_for(
    inputs: AssessmentInputs,
    assessment: Assessment,
    *,
    model_id: str,
    model_sha256: bytes | str,
    code_version: str,
) -> Explanation:
    """The explanation of an assessment; code_version is an input so the document reproduces."""
    model_hash = _hash32(model_sha256) if isinstance(model_sha256, str) else bytes(model_sha256)
    explanation = Explanation(
        claim=inputs.claim,
        photos=tuple(PhotoInput(cid=p.cid, sha256=p.sha256, size=len(p.data), name=p.name) for p in inputs.photos),
        terms_hash=bytes(inputs.terms_hash),
        model_id=model_id,
        model_sha256=model_hash,
        code_version=code_version,
        assessment=assessment,
    )
    explanation.to_doc()  # refuse, naming the field, anything the document cannot hold
    return explanation


def predictions_from_explanation(explanation: Explanation) -> list[Prediction]:
    """Rebuild per-photo predictions from an explanation's findings (basis points back to probabilities).

    Heat maps are not needed to replay a decision, so they come back empty.
    """
    return [
        Prediction(
            probabilities={k: v / BPS for k, v in f.probabilities_bps.items()},
            label=f.label,
            confidence=f.confidence_bps / BPS,
            damage_probability=f.damage_bps / BPS,
        )
        for f in explanation.assessment.findings
    ]


def weather_from_explanation(explanation: Explanation) -> list[WeatherRecord] | None:
    """The weather records an explanation recorded (None when weather was not checked)."""
    records = explanation.assessment.weather_records
    return None if records is None else list(records)


def replay_matches(recorded: Explanation, fresh: Assessment) -> dict[str, tuple[Any, Any]]:
    """Compare a recorded explanation with a fresh assessment; return the fields that differ (empty = match)."""
    pairs = {
        "decision": (int(recorded.decision), int(fresh.decision)),
        "payout": (recorded.payout, fresh.payout),
        "confidenceBps": (recorded.confidence_bps, fresh.confidence_bps),
        "rules": ([r.id for r in recorded.assessment.rules], [r.id for r in fresh.rules]),
    }
    return {name: pair for name, pair in pairs.items() if pair[0] != pair[1]}


__all__ = [
    "Explanation",
    "PhotoInput",
    "explanation_for",
    "predictions_from_explanation",
    "replay_matches",
    "weather_from_explanation",
]
