"""The Chainlink bridge request the adapter accepts, declared as pydantic models with camelCase field names."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from oracle.assess import Claim
from oracle.claim.context import new_claim, peril_bit
from oracle.explain.canonical import hex0x
from oracle.wire.fields import Address, BadRequestError, Bytes32, Int256, Time, Uint, describe_validation_error

MAX_URI_LENGTH = 2048


class ClaimRequestData(BaseModel):
    """The `data` of a bridge request: a claim as the chain records it, with its policy and product facts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    claimId: Uint = Field(gt=0)
    chainId: Uint = Field(gt=0)
    contract: Address
    policyId: Uint
    productId: Uint
    evidenceRoot: Bytes32
    evidenceURI: str = Field(default="", max_length=MAX_URI_LENGTH)
    incidentTime: Time
    peril: Uint = Field(le=255, description="the ClaimSubmitted event's peril bit index (1 = hail)")
    latitudeE6: Int256 = Field(ge=-90_000_000, le=90_000_000)
    longitudeE6: Int256 = Field(ge=-180_000_000, le=180_000_000)
    claimedAmount: Uint
    submittedAt: Time
    policyStart: Time
    policyEnd: Time
    remainingCoverage: Uint
    deductible: Uint
    coveredPerils: Uint
    termsHash: Bytes32
    insuredObject: Bytes32
    async_: bool = Field(default=False, alias="async", strict=True)

    def claim(self) -> Claim:
        """Return the claim this request describes."""
        return new_claim(
            claim_id=self.claimId,
            chain_id=self.chainId,
            contract=self.contract,
            policy_id=self.policyId,
            product_id=self.productId,
            evidence_root=self.evidenceRoot,
            evidence_uri=self.evidenceURI,
            terms_hash=self.termsHash,
            policy_start=self.policyStart,
            policy_end=self.policyEnd,
            incident_time=self.incidentTime,
            submitted_at=self.submittedAt,
            lat_e6=self.latitudeE6,
            lon_e6=self.longitudeE6,
            peril=peril_bit(self.peril),
            claimed_amount=self.claimedAmount,
            remaining_coverage=self.remainingCoverage,
            deductible=self.deductible,
            covered_perils=self.coveredPerils,
            insured_object_id=hex0x(self.insuredObject),
        )


class BridgeRequest(BaseModel):
    """A Chainlink bridge request: {id, data, meta, responseURL}; only data is required."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: Any = None  # the job run id, echoed back as jobRunID whatever its JSON type
    data: ClaimRequestData
    meta: dict[str, Any] | None = None
    responseURL: str | None = Field(default=None, max_length=MAX_URI_LENGTH, pattern=r"^https?://")

    @property
    def wants_async(self) -> bool:
        """Say whether the caller asked for the async form (data.async, or meta.async)."""
        return bool(self.data.async_ or (self.meta or {}).get("async") is True)


def parse_bridge_request(body: object) -> BridgeRequest:
    """Validate a decoded JSON body as a bridge request, raising BadRequestError that names every bad field."""
    if not isinstance(body, dict):
        raise BadRequestError(f"request body must be a JSON object, got {type(body).__name__}")
    try:
        return BridgeRequest.model_validate(body)
    except ValidationError as exc:
        raise BadRequestError(f"invalid bridge request: {describe_validation_error(exc)}") from None


def job_run_id(body: object) -> Any:
    """The jobRunID of a body that may fail validation, so errors still name the run."""
    return body.get("id") if isinstance(body, dict) else None


def bridge_data(claim: Claim) -> dict[str, Any]:
    """Return the bridge request `data` for a claim (the inverse of ClaimRequestData.claim)."""
    return {
        "claimId": claim.claim_id,
        "chainId": claim.chain_id,
        "contract": claim.contract,
        "policyId": claim.policy_id,
        "productId": claim.product_id,
        "evidenceRoot": hex0x(claim.evidence_root),
        "evidenceURI": claim.evidence_uri,
        "incidentTime": claim.incident_time,
        "peril": claim.peril.bit_length() - 1,
        "latitudeE6": claim.lat_e6,
        "longitudeE6": claim.lon_e6,
        "claimedAmount": str(claim.claimed_amount),
        "submittedAt": claim.submitted_at,
        "policyStart": claim.policy_start,
        "policyEnd": claim.policy_end,
        "remainingCoverage": str(claim.remaining_coverage),
        "deductible": str(claim.deductible),
        "coveredPerils": claim.covered_perils,
        "termsHash": hex0x(claim.terms_hash),
        "insuredObject": claim.insured_object_id,
    }
