"""Replay a recorded decision: re-assess the claim from its stored explanation and list what differs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from oracle.assess import (
    AssessmentInputs,
    Claim,
    Explanation,
    PhotoPredictionLike,
    assess,
    predictions_from_explanation,
    replay_matches,
    weather_from_explanation,
)
from oracle.cas.store import ContentStore, ContentStoreError
from oracle.claim.assessor import ClaimAssessor
from oracle.claim.model import model_sha256_hex
from oracle.explain.canonical import hex0x
from oracle.explain.document import ExplanationError


class ExplanationNotFoundError(LookupError):
    """A stored explanation cannot be found or read; the message names the id."""


def load_explanation(store: ContentStore, explanation_cid: str) -> Explanation:
    """Fetch a stored explanation by content id and read its canonical bytes into the typed explanation."""
    try:
        return Explanation.from_bytes(store.get(explanation_cid))
    except (ContentStoreError, ExplanationError) as exc:
        raise ExplanationNotFoundError(f"explanation {explanation_cid} cannot be read: {exc}") from None


def replay(assessor: ClaimAssessor, claim: Claim, explanation_cid: str) -> dict[str, tuple[Any, Any]]:
    """Re-assess a claim from its stored explanation's weather (and the model when loaded); {} means it matches."""
    recorded = load_explanation(assessor.store, explanation_cid)
    item = assessor.load_claim(claim)
    if item.error is not None:
        raise item.error
    assert item.terms is not None
    predictions: Sequence[PhotoPredictionLike]
    if assessor.model is not None:
        predictions = assessor.model.predict([p.data for p in item.photos], heatmaps=False)
    else:
        predictions = predictions_from_explanation(recorded)
    inputs = AssessmentInputs(
        claim=item.claim,
        photos=item.photos,
        predictions=predictions,
        weather=weather_from_explanation(recorded),
        history=assessor.history,
        terms=item.terms,
        terms_hash=bytes(claim.terms_hash),
    )
    differences = replay_matches(recorded, assess(inputs))
    identity = {
        "claimId": (str(recorded.claim.claim_id), str(claim.claim_id)),
        "evidenceRoot": (hex0x(recorded.claim.evidence_root), hex0x(claim.evidence_root)),
        "termsHash": (hex0x(recorded.terms_hash), hex0x(claim.terms_hash)),
    }
    if assessor.model is not None:
        identity["modelSha256"] = (hex0x(recorded.model_sha256), "0x" + model_sha256_hex(assessor.model))
    differences.update({k: v for k, v in identity.items() if v[0] != v[1]})
    return differences
