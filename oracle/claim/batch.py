"""The typed records a claim travels in: one claim of a batch on its way to a decision, and the outcome."""

from __future__ import annotations

import dataclasses
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from oracle.assess import Claim, Explanation, PhotoPredictionLike
from oracle.explain.evidence import Photo
from oracle.sources.history import PriorClaim, PriorPhoto
from oracle.sources.records import WeatherRecord
from oracle.sources.terms import Terms


class ModelPrediction(PhotoPredictionLike, Protocol):
    """A damage model's prediction for one photo (oracle.vision.PhotoPrediction): a dataclass, so the assessor
    fills in its heat map with `dataclasses.replace` once drawn."""

    __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]


class PendingHeatmapLike(Protocol):
    """A heat map still to draw (oracle.vision.runtime.PendingHeatmap)."""

    def render(self) -> bytes:
        """Draw the heat map as PNG bytes."""


@dataclass
class ClaimInBatch:
    """One claim on its way through a batch: filled in step by step, or stopped by `error`."""

    claim: Claim  # with the claimant's metadata once the evidence is loaded
    photos: list[Photo] = field(default_factory=list)
    terms: Terms | None = None
    weather: list[WeatherRecord] | None = None  # None: no weather rule applies, or no source answered
    predictions: list[ModelPrediction] = field(default_factory=list)  # one per photo, once the model ran
    heatmaps: list[Future[bytes]] = field(default_factory=list)  # one PNG per photo, drawn on the render thread
    content_key: bytes | None = None  # the key sealed evidence opened with: heat maps are sealed with it too
    error: Exception | None = None  # what stopped this claim (the rest of the batch goes on)


@dataclass
class ClaimBatch:
    """Claims assessed together: one model call for all their photos, decisions in order."""

    items: list[ClaimInBatch]

    def live(self) -> list[ClaimInBatch]:
        """The claims no error has stopped yet."""
        return [item for item in self.items if item.error is None]


@dataclass(frozen=True)
class ClaimOutcome:
    """A decision as the report carries it, with the explanation it rests on and where that is stored."""

    decision: int
    payout: int
    confidence_bps: int
    explanation_hash: bytes
    explanation_cid: str
    model_hash: bytes
    explanation: Explanation

    def history_records(self, claim: Claim) -> tuple[PriorClaim, list[PriorPhoto]]:
        """The claims-history rows this decision adds: the claim, and each photo's perceptual hashes."""
        prior = PriorClaim(
            claim_id=claim.claim_id,
            policy_id=claim.policy_id,
            insured_object_id=claim.insured_object_id,
            incident_time=claim.incident_time,
            submitted_at=claim.submitted_at,
            decision=self.decision,
            payout=self.payout,
        )
        photos = [
            PriorPhoto(
                claim_id=claim.claim_id,
                submitted_at=claim.submitted_at,
                cid=finding.cid,
                sha256=finding.sha256,
                phash=finding.phash,
                dhash=finding.dhash,
            )
            for finding in self.explanation.assessment.findings
        ]
        return prior, photos


__all__ = ["ClaimBatch", "ClaimInBatch", "ClaimOutcome", "ModelPrediction", "PendingHeatmapLike"]
