"""The Chainlink bridge request the adapter accepts, declared as pydantic models with camelCase field names."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from oracle.assess import Claim
from oracle.wire.fields import Address, BadRequestError, Uint, describe_validation_error

MAX_URI_LENGTH = 2048


class ClaimRequestData(BaseModel):
    """The `data` of a bridge request: which claim to assess. Every fact about it (evidence, times, place, amounts,
    policy and product) is read from the chain; a caller who could supply them could poison the claims history."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    claimId: Uint = Field(gt=0)
    chainId: Uint | None = Field(default=None, gt=0, description="if given, must be the gateway's chain")
    contract: Address | None = Field(default=None, description="if given, must be the gateway's ClaimsManager")
    async_: bool = Field(default=False, alias="async", strict=True)


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


REQUEST_DATA_KEYS = frozenset(("claimId", "chainId", "contract", "async"))


def parse_bridge_request(body: object) -> BridgeRequest:
    """Validate a decoded JSON body as a bridge request, raising BadRequestError that names every bad field."""
    if not isinstance(body, dict):
        raise BadRequestError(f"request body must be a JSON object, got {type(body).__name__}")
    data = body.get("data")
    if isinstance(data, dict) and set(data) - REQUEST_DATA_KEYS:
        extra = sorted(str(key)[:40] for key in set(data) - REQUEST_DATA_KEYS)[:10]
        raise BadRequestError(
            f"the bridge takes data.claimId only (optionally chainId and contract, to check) and reads every other "
            f"fact of the claim from the chain; remove {extra} (see chainlink/claims_assessment_job.toml)"
        )
    try:
        return BridgeRequest.model_validate(body)
    except ValidationError as exc:
        raise BadRequestError(f"invalid bridge request: {describe_validation_error(exc)}") from None


def job_run_id(body: object) -> Any:
    """The jobRunID of a body that may fail validation, so errors still name the run."""
    return body.get("id") if isinstance(body, dict) else None


def bridge_data(claim: Claim) -> dict[str, Any]:
    """Return the bridge request `data` that asks for a claim: its id, with the chain and contract to check."""
    return {"claimId": claim.claim_id, "chainId": claim.chain_id, "contract": claim.contract}
