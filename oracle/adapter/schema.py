"""The Chainlink bridge request the adapter accepts, declared as pydantic models with camelCase field names."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from oracle.pipeline import ClaimContext

UINT256_MAX = 2**256 - 1
MAX_TIME = 253_402_300_799  # 9999-12-31T23:59:59Z: later epoch seconds have no calendar date
INT256_MAX = 2**255 - 1
MAX_URI_LENGTH = 2048
_HEX32 = re.compile(r"^0x[0-9a-fA-F]{64}$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


class BadRequestError(ValueError):
    """The request is malformed or fails the schema; the message names each bad field and value."""


def _integer(value: object) -> int:
    """Integers arrive as JSON numbers or decimal strings (CBOR and Go may send either); nothing else passes."""
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError(f"must be an integer (a JSON integer or a decimal string), got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,78}", value):
        return int(value)
    raise ValueError(f"must be an integer (a JSON integer or a decimal string), got {value!r}")


def _bytes32(value: object) -> bytes:
    if not isinstance(value, str) or not _HEX32.match(value):
        raise ValueError(f"must be 0x followed by 64 hex digits (32 bytes), got {value!r}")
    return bytes.fromhex(value[2:])


def _address(value: object) -> str:
    if not isinstance(value, str) or not _ADDRESS.match(value):
        raise ValueError(f"must be a 0x-prefixed 20-byte hex address, got {value!r}")
    return value


Uint = Annotated[int, BeforeValidator(_integer), Field(ge=0, le=UINT256_MAX)]
Time = Annotated[int, BeforeValidator(_integer), Field(ge=0, le=MAX_TIME)]
Int256 = Annotated[int, BeforeValidator(_integer), Field(ge=-INT256_MAX - 1, le=INT256_MAX)]
Bytes32 = Annotated[bytes, BeforeValidator(_bytes32)]
Address = Annotated[str, BeforeValidator(_address)]


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

    def context(self) -> ClaimContext:
        """Return the pipeline's ClaimContext for this request."""
        return ClaimContext(
            claim_id=self.claimId, chain_id=self.chainId, contract=self.contract, policy_id=self.policyId,
            product_id=self.productId, evidence_root=self.evidenceRoot, evidence_uri=self.evidenceURI,
            incident_time=self.incidentTime, peril_index=self.peril, latitude_e6=self.latitudeE6,
            longitude_e6=self.longitudeE6, claimed_amount=self.claimedAmount, submitted_at=self.submittedAt,
            policy_start=self.policyStart, policy_end=self.policyEnd, remaining_coverage=self.remainingCoverage,
            deductible=self.deductible, covered_perils=self.coveredPerils, terms_hash=self.termsHash,
            insured_object=self.insuredObject,
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


def describe_validation_error(exc: ValidationError) -> str:
    """Turn pydantic's errors into one line: the missing fields, then each bad field with the value it got."""
    missing, parts = [], []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(body)"
        if err["type"] == "missing":
            missing.append(where)
            continue
        message = err["msg"].removeprefix("Value error, ")
        value = err.get("input")
        shown = repr(value) if not isinstance(value, dict) else "an object"
        if len(shown) > 80:
            shown = shown[:77] + "..."
        parts.append(f"{where}: {message}" if "got " in message else f"{where}: {message} (got {shown})")
    if missing:
        parts.insert(0, f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} required")
    return "; ".join(parts)


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


def bridge_data(ctx: ClaimContext) -> dict:
    """Return the bridge request `data` for a claim (the inverse of ClaimRequestData.context)."""
    return {
        "claimId": ctx.claim_id,
        "chainId": ctx.chain_id,
        "contract": ctx.contract,
        "policyId": ctx.policy_id,
        "productId": ctx.product_id,
        "evidenceRoot": "0x" + bytes(ctx.evidence_root).hex(),
        "evidenceURI": ctx.evidence_uri,
        "incidentTime": ctx.incident_time,
        "peril": ctx.peril_index,
        "latitudeE6": ctx.latitude_e6,
        "longitudeE6": ctx.longitude_e6,
        "claimedAmount": str(ctx.claimed_amount),
        "submittedAt": ctx.submitted_at,
        "policyStart": ctx.policy_start,
        "policyEnd": ctx.policy_end,
        "remainingCoverage": str(ctx.remaining_coverage),
        "deductible": str(ctx.deductible),
        "coveredPerils": ctx.covered_perils,
        "termsHash": "0x" + bytes(ctx.terms_hash).hex(),
        "insuredObject": "0x" + bytes(ctx.insured_object).hex(),
    }
