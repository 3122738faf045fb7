"""The explanation document: one canonical JSON record of why a claim got its decision."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from eth_utils import keccak

from oracle import __version__
from oracle.cas.cid import is_cid
from oracle.domain import BPS, Decision
from oracle.explain.canonical import canonical_json, decimal_string

EXPLANATION_SCHEMA = "claims-oracle/explanation"
EXPLANATION_VERSION = 1
DECISION_NAMES = {int(d): d.name for d in Decision}

_HASH32 = re.compile(r"^0x[0-9a-f]{64}$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


class ExplanationError(ValueError):
    """An explanation document cannot be built from these parts; the message names the field."""


def _hash32(name: str, value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        if len(value) != 32:
            raise ExplanationError(f"{name} must be 32 bytes, got {len(value)}")
        return "0x" + bytes(value).hex()
    if not isinstance(value, str) or not _HASH32.match(value):
        raise ExplanationError(f"{name} must be 32 bytes or 0x + 64 lower-case hex digits, got {value!r}")
    return value


def _uint(name: str, value: Any, *, maximum: int | None = None) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ExplanationError(f"{name} must be a non-negative integer, got {value!r}")
    if maximum is not None and value > maximum:
        raise ExplanationError(f"{name} must be at most {maximum}, got {value}")
    return value


def _claim_section(claim: Mapping[str, Any]) -> dict[str, Any]:
    required = ("claimId", "chainId", "contract", "policyId", "evidenceRoot", "incident")
    missing = [key for key in required if key not in claim]
    if missing:
        raise ExplanationError(f"claim section is missing {missing}")
    contract = claim["contract"]
    if not isinstance(contract, str) or not _ADDRESS.match(contract):
        raise ExplanationError(f"claim.contract must be a 0x-prefixed 20-byte address, got {contract!r}")
    if not isinstance(claim["incident"], Mapping):
        raise ExplanationError(f"claim.incident must be an object, got {claim['incident']!r}")
    section = dict(claim)
    section["claimId"] = decimal_string(_uint("claim.claimId", claim["claimId"]))
    section["policyId"] = decimal_string(_uint("claim.policyId", claim["policyId"]))
    section["chainId"] = _uint("claim.chainId", claim["chainId"])
    section["evidenceRoot"] = _hash32("claim.evidenceRoot", claim["evidenceRoot"])
    section["contract"] = contract.lower()
    return section


def _photo_inputs(photos: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for i, photo in enumerate(photos):
        if not is_cid(photo.get("cid")):
            raise ExplanationError(f"inputs.photos[{i}].cid is not a content id: {photo.get('cid')!r}")
        out.append(
            {
                "cid": photo["cid"],
                "sha256": _hash32(f"inputs.photos[{i}].sha256", photo.get("sha256")),
                "bytes": _uint(f"inputs.photos[{i}].bytes", photo.get("bytes")),
                "name": str(photo.get("name", "")),
            }
        )
    return out


def _findings(findings: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for i, finding in enumerate(findings):
        finding = dict(finding)
        probs = finding.get("probabilitiesBps")
        if not isinstance(probs, Mapping) or not probs:
            raise ExplanationError(f"findings[{i}].probabilitiesBps must be a non-empty object, got {probs!r}")
        for label, bps in probs.items():
            _uint(f"findings[{i}].probabilitiesBps.{label}", bps, maximum=BPS)
        heatmap = finding.get("heatmapCid")
        if heatmap is not None and not is_cid(heatmap):
            raise ExplanationError(f"findings[{i}].heatmapCid is not a content id: {heatmap!r}")
        out.append(finding)
    return out


def _rules(rules: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for i, rule in enumerate(rules):
        if not rule.get("id") or not rule.get("reason"):
            raise ExplanationError(f"rules[{i}] needs an id and a human-readable reason, got {dict(rule)!r}")
        out.append(dict(rule))
    return out


def build_explanation(
    *,
    claim: Mapping[str, Any],
    photos: Sequence[Mapping[str, Any]],
    terms_hash: bytes | str,
    model_id: str,
    model_sha256: bytes | str,
    code_version: str,
    findings: Sequence[Mapping[str, Any]],
    sources: Sequence[Mapping[str, Any]] | None,
    fraud_signals: Sequence[Mapping[str, Any]],
    rules: Sequence[Mapping[str, Any]],
    payout_arithmetic: Mapping[str, Any],
    decision: int,
    payout: int,
    confidence_bps: int,
) -> dict[str, Any]:
    """Assemble and check an explanation document; the result serialises canonically and hashes stably.

    `sources` is None when no weather source could be consulted, and a (possibly empty) list when one was.
    """
    if decision not in DECISION_NAMES:
        raise ExplanationError(f"decision must be one of {sorted(DECISION_NAMES)}, got {decision!r}")
    if not model_id:
        raise ExplanationError("model_id must be a non-empty string")
    if not code_version:
        raise ExplanationError("code_version must be a non-empty string (pass it in; do not read git here)")
    terms = _hash32("terms_hash", terms_hash)
    if decision == Decision.REJECT and not any(rule.get("outcome") == "REJECT" for rule in rules):
        raise ExplanationError("a REJECT decision must carry at least one rule with outcome REJECT and its reason")
    doc = {
        "schema": EXPLANATION_SCHEMA,
        "version": EXPLANATION_VERSION,
        "claim": _claim_section(claim),
        "inputs": {"photos": _photo_inputs(photos), "termsHash": terms},
        "model": {"id": model_id, "sha256": _hash32("model_sha256", model_sha256)},
        "code": {"version": code_version},
        "termsHash": terms,
        "findings": _findings(findings),
        "sources": None if sources is None else [dict(record) for record in sources],
        "fraudSignals": [dict(signal) for signal in fraud_signals],
        "rules": _rules(rules),
        "payoutArithmetic": dict(payout_arithmetic),
        "decision": {"code": decision, "name": DECISION_NAMES[decision]},
        "payout": decimal_string(_uint("payout", payout)),
        "confidenceBps": _uint("confidence_bps", confidence_bps, maximum=BPS),
    }
    canonical_json(doc)  # fail here, naming the field, rather than later when hashing
    return doc


def explanation_bytes_and_hash(doc: Mapping[str, Any]) -> tuple[bytes, bytes]:
    """Return an explanation's canonical bytes and its keccak256 (the on-chain explanationHash)."""
    data = canonical_json(doc)
    return data, keccak(data)


def describe_code_version(repo_root: Path | None = None) -> str:
    """Return oracle.__version__ plus `git describe` of the checkout when git can tell; call once at start-up.

    The explanation takes the result as an input, so replaying an explanation never depends on this call.
    """

    root = repo_root or Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--tags"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return __version__
    described = out.stdout.strip()
    return f"{__version__}+git.{described}" if described else __version__
