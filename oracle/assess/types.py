"""The assessment's inputs and outputs: plain frozen dataclasses with integer amounts and basis points."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from oracle.assess.constants import BPS, CLASSES, Decision
from oracle.assess.exif import PhotoExif
from oracle.explain.evidence import Photo
from oracle.sources.history import ClaimsHistory
from oracle.sources.records import WeatherRecord
from oracle.sources.terms import Terms


class AssessmentError(ValueError):
    """The inputs to an assessment are inconsistent (a caller bug, not a claim decision)."""


@runtime_checkable
class PhotoPredictionLike(Protocol):
    """The shape of oracle.vision.PhotoPrediction that the assessment reads (kept local: no vision import)."""

    @property
    def probabilities(self) -> Mapping[str, float]:
        """Probability of each class (whole, minor, moderate, severe)."""

    @property
    def label(self) -> str:
        """The most probable class."""

    @property
    def confidence(self) -> float:
        """Probability of `label`."""

    @property
    def damage_probability(self) -> float:
        """1 - p(whole)."""

    @property
    def heatmap_png(self) -> bytes:
        """The heat map as PNG bytes (b"": none drawn)."""


@dataclass(frozen=True)
class Prediction:
    """A plain PhotoPredictionLike, for tests and for replaying from an explanation's findings."""

    probabilities: Mapping[str, float]
    label: str
    confidence: float
    damage_probability: float
    heatmap_png: bytes = b""


def to_bps(value: float, what: str) -> int:
    """Turn a probability in [0, 1] into integer basis points (round half to even), refusing NaN and range errors."""
    value = float(value)
    if math.isnan(value) or value < -1e-9 or value > 1 + 1e-9:
        raise AssessmentError(f"{what} must be a probability in [0, 1], got {value!r}")
    return min(BPS, max(0, round(value * BPS)))


def _uint(name: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise AssessmentError(f"claim.{name} must be a non-negative integer, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class Claim:
    """A claim on its whole off-chain trip: what the chain recorded about it, its policy and product, and (once its
    evidence manifest is read) the claimant's metadata; times are epoch seconds, amounts base units.

    `peril` is the peril's bit value (Peril.HAIL == 2); the contract's ClaimSubmitted event carries the bit
    index (1 for hail). `submitted_at` is the claim's block time. `policy_class` is the vehicle class the holder
    declared when buying the policy, as the chain records it (its index in the terms' cost schedule); `vehicle_class`
    is its name, None until the terms have named it (the claimant never chooses it). `product_id`, `evidence_uri`
    and `policy_class` are None for a claim read back from an explanation, which does not record them.
    """

    claim_id: int
    chain_id: int
    contract: str
    policy_id: int
    product_id: int | None = None
    evidence_root: bytes
    evidence_uri: str | None = None
    terms_hash: bytes
    policy_start: int
    policy_end: int
    incident_time: int
    submitted_at: int
    lat_e6: int
    lon_e6: int
    peril: int
    claimed_amount: int
    remaining_coverage: int
    deductible: int
    covered_perils: int
    insured_object_id: str
    policy_class: int | None = None
    vehicle_class: str | None = None
    county_fips: str | None = None
    zone_fips: str | None = None
    # the precise place (micro-degrees) from the sealed evidence; lat_e6/lon_e6 are the public, coarse on-chain ones
    place_e6: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        """Refuse facts no chain could have recorded, naming the field."""
        for optional in ("product_id", "policy_class"):
            if getattr(self, optional) is not None:
                _uint(optional, getattr(self, optional))
        for name in (
            "claim_id",
            "chain_id",
            "policy_id",
            "policy_start",
            "policy_end",
            "incident_time",
            "submitted_at",
            "peril",
            "claimed_amount",
            "remaining_coverage",
            "deductible",
            "covered_perils",
        ):
            _uint(name, getattr(self, name))
        object.__setattr__(self, "peril", int(self.peril))  # a plain int, even when given a Peril flag
        for name in ("evidence_root", "terms_hash"):
            value = getattr(self, name)
            if not isinstance(value, (bytes, bytearray)) or len(value) != 32:
                raise AssessmentError(f"claim.{name} must be 32 bytes, got {value!r}")
        for lat_e6, lon_e6 in ((self.lat_e6, self.lon_e6), self.place_e6 or (0, 0)):
            if not (-90_000_000 <= lat_e6 <= 90_000_000 and -180_000_000 <= lon_e6 <= 180_000_000):
                raise AssessmentError(f"claim position ({lat_e6}, {lon_e6}) micro-degrees is out of range")
        if self.policy_end < self.policy_start:
            raise AssessmentError(f"policy ends ({self.policy_end}) before it starts ({self.policy_start})")

    @property
    def key(self) -> tuple[int, str, int, bytes]:
        """Identity of the claim's evidence: (chain, contract, claim id, evidence root)."""
        return (self.chain_id, self.contract.lower(), self.claim_id, bytes(self.evidence_root))

    def require_vehicle_class(self) -> str:
        """The vehicle class the assessment prices the repair for; AssessmentError while it is still unknown."""
        if self.vehicle_class is None:
            raise AssessmentError(
                f"claim {self.claim_id} has no vehicle class: its policy's class has not been named from the terms"
            )
        return self.vehicle_class

    @property
    def lat(self) -> float:
        """Incident latitude in degrees: the precise place when the evidence gave it, else the on-chain area's."""
        return (self.place_e6[0] if self.place_e6 else self.lat_e6) / 1_000_000

    @property
    def lon(self) -> float:
        """Incident longitude in degrees: the precise place when the evidence gave it, else the on-chain area's."""
        return (self.place_e6[1] if self.place_e6 else self.lon_e6) / 1_000_000


@dataclass(frozen=True)
class AssessmentInputs:
    """Everything one assessment reads; weather None means 'not available', an empty list means 'none found'."""

    claim: Claim
    photos: Sequence[Photo]
    predictions: Sequence[PhotoPredictionLike]
    weather: Sequence[WeatherRecord] | None
    history: ClaimsHistory
    terms: Terms
    terms_hash: bytes


@dataclass(frozen=True)
class PhotoFinding:
    """What the assessment concluded about one photo."""

    index: int
    name: str
    cid: str
    sha256: str
    label: str
    probabilities_bps: Mapping[str, int]
    damage_bps: int
    confidence_bps: int
    damaged: bool
    severity: str | None
    heatmap_cid: str | None
    phash: int
    dhash: int
    exif: PhotoExif


@dataclass(frozen=True)
class FraudSignal:
    """A reason to doubt a claim; strong ones send it to a human (REFER), weak ones lower confidence."""

    id: str
    strength: str
    reason: str
    details: tuple[tuple[str, str | int | None], ...] = ()


@dataclass(frozen=True)
class RuleFired:
    """A decision rule that applied: its id, the outcome it pushes for, and why, in words."""

    id: str
    outcome: str
    reason: str
    confidence_bps: int | None = None


@dataclass(frozen=True)
class PayoutArithmetic:
    """Each step from the cost schedule to the payout, in base units of the payout asset."""

    vehicle_class: str
    severity: str | None
    estimate: int | None
    claimed: int
    loss: int
    deductible: int
    net: int
    remaining_coverage: int
    payout: int


@dataclass(frozen=True)
class Assessment:
    """The result: decision, payout, confidence and everything the explanation needs to justify them."""

    decision: Decision
    payout: int
    confidence_bps: int
    findings: tuple[PhotoFinding, ...]
    fraud_signals: tuple[FraudSignal, ...]
    weather_records: tuple[WeatherRecord, ...] | None
    rules: tuple[RuleFired, ...]
    arithmetic: PayoutArithmetic
    artifacts: Mapping[str, bytes] = field(default_factory=dict, compare=False)  # heat maps by cid, to store


def check_probabilities(probabilities: Mapping[str, float], where: str) -> dict[str, int]:
    """Return the four class probabilities as basis points, or raise naming the missing or bad class."""
    missing = [c for c in CLASSES if c not in probabilities]
    if missing:
        raise AssessmentError(f"{where}: probabilities lack classes {missing}; got {sorted(probabilities)}")
    return {c: to_bps(probabilities[c], f"{where} probability of {c}") for c in CLASSES}


__all__ = [
    "Assessment",
    "AssessmentError",
    "AssessmentInputs",
    "Claim",
    "FraudSignal",
    "PayoutArithmetic",
    "PhotoFinding",
    "PhotoPredictionLike",
    "Prediction",
    "RuleFired",
    "check_probabilities",
    "to_bps",
]
