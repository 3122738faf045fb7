"""The insurer's terms document: JSON fetched by its keccak256 from the content store and validated."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from eth_utils import keccak
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from oracle.cas.store import ContentStore, ContentStoreError
from oracle.domain import (
    EVIDENCE_RETENTION_DAYS,
    MAX_EVIDENCE_RETENTION_DAYS,
    MAX_VEHICLE_CLASSES,
    PERIL_NAMES,
    SEVERITIES,
)
from oracle.encoding import MAX_JSON_DEPTH, bytes32, json_depth
from oracle.sources.records import SourceError

PERIL_BITS_BY_NAME = {name: peril for peril, name in PERIL_NAMES.items()}
MAX_TERMS_BYTES = 256 * 1024


class TermsError(SourceError):
    """A terms document is missing, does not match its hash, or is invalid; the message says which."""


def _amount(value: object) -> int:
    """Amounts in base units arrive as decimal strings (they outgrow JSON-safe integers) or small integers."""
    if isinstance(value, bool):
        raise ValueError(f"amount must be a decimal string of base units, got {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"amount must not be negative, got {value}")
        return value
    if isinstance(value, str) and value.isdigit() and value.isascii():
        return int(value)
    raise ValueError(f"amount must be a decimal string of base units such as '1500000000', got {value!r}")


Amount = Annotated[int, BeforeValidator(_amount)]
Bps = Annotated[int, Field(ge=0, le=10_000, strict=True)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Currency(_Strict):
    """The payout asset: a symbol, its decimals and which asset it is (native or an ERC-20 address)."""

    symbol: str = Field(min_length=1, max_length=16)
    decimals: int = Field(ge=0, le=36, strict=True)
    asset: str = Field(default="native", pattern=r"^(native|0x[0-9a-fA-F]{40})$")

    def format(self, base_units: int) -> str:
        """An amount in base units as people read it, exactly: `200000000000000000` -> `0.2 ETH`."""
        whole, fraction = divmod(abs(int(base_units)), 10**self.decimals)
        digits = f"{fraction:0{self.decimals}d}".rstrip("0") if self.decimals else ""
        sign = "-" if int(base_units) < 0 else ""
        return f"{sign}{whole}{'.' + digits if digits else ''} {self.symbol}"


class Severities(_Strict):
    """Repair cost in base units per severity for one vehicle class."""

    minor: Amount
    moderate: Amount
    severe: Amount

    @model_validator(mode="after")
    def _ordered(self) -> Severities:
        if not (self.minor <= self.moderate <= self.severe):
            raise ValueError(
                f"costs must not fall with severity: minor {self.minor}, moderate {self.moderate}, severe {self.severe}"
            )
        return self

    def cost(self, severity: str) -> int:
        """Return the cost for a severity name."""
        if severity not in SEVERITIES:
            raise KeyError(f"unknown severity {severity!r}; expected one of {SEVERITIES}")
        cost: int = getattr(self, severity)
        return cost


class Deductible(_Strict):
    """How the deductible applies: the policy's deductible (the contract caps every payout at claimed less it, so
    terms cannot waive it), raised to at least `minimum` when `applies`."""

    applies: bool = True
    minimum: Amount = 0


class Thresholds(_Strict):
    """Numbers the decision rules use; probabilities and confidences are integer basis points."""

    min_damage_probability_bps: Bps = Field(5000, alias="minDamageProbabilityBps")
    no_damage_max_probability_bps: Bps = Field(2000, alias="noDamageMaxProbabilityBps")
    min_auto_approve_confidence_bps: Bps = Field(7000, alias="minAutoApproveConfidenceBps")
    weak_signal_penalty_bps: Bps = Field(1500, alias="weakSignalPenaltyBps")
    early_claim_days: int = Field(7, ge=0, le=3650, strict=True, alias="earlyClaimDays")
    frequency_limit: int = Field(3, ge=1, le=1000, strict=True, alias="frequencyLimit")
    frequency_window_days: int = Field(365, ge=1, le=3650, strict=True, alias="frequencyWindowDays")
    weather_radius_km: int = Field(25, ge=0, le=500, strict=True, alias="weatherRadiusKm")
    weather_window_hours: int = Field(24, ge=0, le=24 * 14, strict=True, alias="weatherWindowHours")
    weather_gust_kmh_min: int = Field(75, ge=0, le=400, strict=True, alias="weatherGustKmhMin")
    weather_precip_mm_min: int = Field(50, ge=0, le=2000, strict=True, alias="weatherPrecipMmMin")
    perceptual_hash_max_distance: int = Field(6, ge=0, le=32, strict=True, alias="perceptualHashMaxDistance")
    exif_gps_max_km: int = Field(50, ge=0, le=20_000, strict=True, alias="exifGpsMaxKm")
    exif_time_slack_hours: int = Field(14, ge=0, le=72, strict=True, alias="exifTimeSlackHours")

    @model_validator(mode="after")
    def _consistent(self) -> Thresholds:
        if self.no_damage_max_probability_bps > self.min_damage_probability_bps:
            raise ValueError(
                f"noDamageMaxProbabilityBps ({self.no_damage_max_probability_bps}) must not exceed "
                f"minDamageProbabilityBps ({self.min_damage_probability_bps})"
            )
        return self


class Terms(_Strict):
    """An insurer's terms document: what is covered, what repairs cost, and the thresholds to apply."""

    version: Literal[1]
    name: str = Field(min_length=1, max_length=200)
    currency: Currency
    perils: tuple[Literal["collision", "hail", "flood", "wind", "theft", "fire"], ...] = Field(min_length=1)
    cost_schedule: dict[str, Severities] = Field(alias="costSchedule", min_length=1, max_length=MAX_VEHICLE_CLASSES)
    deductible: Deductible = Deductible()
    thresholds: Thresholds = Thresholds()
    evidence_retention_days: int = Field(
        default=EVIDENCE_RETENTION_DAYS,
        alias="evidenceRetentionDays",
        ge=1,
        le=MAX_EVIDENCE_RETENTION_DAYS,
        strict=True,
    )

    @model_validator(mode="after")
    def _class_names(self) -> Terms:
        # a policy names its class by its place in the schedule, and browsers put number-like keys first
        numeric = [name for name in self.cost_schedule if name.strip().isdigit() or not name.strip()]
        if numeric:
            raise ValueError(f"costSchedule: vehicle class names must be words, not numbers or blanks: {numeric}")
        return self

    @property
    def perils_mask(self) -> int:
        """The covered perils as the contract's bit mask."""
        mask = 0
        for name in self.perils:
            mask |= PERIL_BITS_BY_NAME[name]
        return mask

    def repair_cost(self, vehicle_class: str, severity: str) -> int | None:
        """Return the scheduled repair cost, or None when the class is not in the schedule."""
        row = self.cost_schedule.get(vehicle_class)
        return None if row is None else row.cost(severity)


def _reject_float(text: str) -> None:
    raise ValueError(f"number {text} is not an integer; write amounts as decimal strings of base units")


def parse_terms(data: bytes) -> Terms:
    """Parse and validate terms document bytes, raising TermsError that lists every problem."""
    if len(data) > MAX_TERMS_BYTES:
        raise TermsError(f"terms document is {len(data)} bytes, over the limit of {MAX_TERMS_BYTES}")
    if json_depth(data) > MAX_JSON_DEPTH:
        raise TermsError(f"terms document nests arrays or objects more than {MAX_JSON_DEPTH} deep")
    try:
        doc = json.loads(data.decode("utf-8"), parse_float=_reject_float, parse_constant=_reject_float)
    except (UnicodeDecodeError, ValueError) as exc:
        raise TermsError(f"terms document is not UTF-8 JSON with integer numbers: {exc}") from None
    except RecursionError:
        raise TermsError("terms document nests arrays or objects too deeply to read") from None
    try:
        return Terms.model_validate(doc)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(document)'}: {err['msg']}" for err in exc.errors()
        )
        raise TermsError(f"terms document is invalid: {problems}") from None


def load_terms(store: ContentStore, terms_hash: bytes | str) -> Terms:
    """Fetch the terms document whose keccak256 is terms_hash from the store, check the hash, and parse it."""
    terms_hash = bytes32(terms_hash, "terms hash")
    cid = store.cid_for_keccak(terms_hash)
    if cid is None:
        raise TermsError(f"no terms document with keccak256 0x{terms_hash.hex()} is in the content store")
    try:
        data = store.get(cid)
    except ContentStoreError as exc:
        raise TermsError(f"terms document {cid} cannot be read: {exc}") from None
    if keccak(data) != terms_hash:
        raise TermsError(f"terms document {cid} hashes to 0x{keccak(data).hex()}, not 0x{terms_hash.hex()}")
    return parse_terms(data)
