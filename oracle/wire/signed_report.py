"""A committee member's signature over a report, as the signature relay and the nodes exchange it."""

from __future__ import annotations

from dataclasses import asdict

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from web3 import Web3

from oracle.chain.report import MAX_CONFIDENCE_BPS, Domain, Report, recover_signer
from oracle.domain import Decision
from oracle.explain.canonical import hex0x
from oracle.wire.fields import Address, BadRequestError, Bytes32, Uint, describe_validation_error


class Signature(BaseModel):
    """An ECDSA signature as the contract's `Signature` struct takes it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    v: Uint = Field(ge=27, le=28)
    r: Bytes32
    s: Bytes32


class SignedReport(BaseModel):
    """One member's signature over one report in one manager's EIP-712 domain: the relay's unit of exchange."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    chainId: Uint = Field(gt=0)
    contract: Address
    claimId: Uint = Field(gt=0)
    decision: Uint = Field(ge=int(min(Decision)), le=int(max(Decision)))
    payout: Uint
    confidence: Uint = Field(le=MAX_CONFIDENCE_BPS)
    explanationHash: Bytes32
    modelHash: Bytes32
    evidenceRoot: Bytes32
    termsHash: Bytes32
    epoch: Uint = Field(gt=0)
    deadline: Uint = Field(gt=0)
    signer: Address
    signature: Signature

    @classmethod
    def build(cls, domain: Domain, report: Report, signer: str, vrs: tuple[int, bytes, bytes]) -> SignedReport:
        """Wrap a report and a signature of it for the relay."""
        v, r, s = vrs
        return cls(
            chainId=domain.chain_id,
            contract=domain.verifying_contract,
            signer=signer,
            signature=Signature(v=v, r=hex0x(r), s=hex0x(s)),
            **{k: (hex0x(value) if isinstance(value, bytes) else value) for k, value in asdict(report).items()},
        )

    def report(self) -> Report:
        """The report that was signed."""
        return Report(
            self.claimId,
            self.decision,
            self.payout,
            self.confidence,
            self.explanationHash,
            self.modelHash,
            self.evidenceRoot,
            self.termsHash,
            self.epoch,
            self.deadline,
        )

    def domain(self) -> Domain:
        """The EIP-712 domain it was signed in."""
        return Domain(chain_id=self.chainId, verifying_contract=Web3.to_checksum_address(self.contract))

    def vrs(self) -> tuple[int, bytes, bytes]:
        """The signature as (v, r, s)."""
        return self.signature.v, self.signature.r, self.signature.s

    def claim_key(self) -> tuple[int, str, int]:
        """Which claim it belongs to: (chainId, lower-case contract, claimId)."""
        return self.chainId, self.contract.lower(), self.claimId

    def wire(self) -> dict:
        """The JSON form (hashes as 0x-hex, uint256 values as decimal strings)."""
        data = {k: (hex0x(v) if isinstance(v, bytes) else v) for k, v in self.model_dump(exclude={"signature"}).items()}
        data.update(
            claimId=str(self.claimId),
            payout=str(self.payout),
            contract=self.domain().verifying_contract,
            signer=Web3.to_checksum_address(self.signer),
        )
        data["signature"] = {"v": self.signature.v, "r": hex0x(self.signature.r), "s": hex0x(self.signature.s)}
        return data


def parse_signed_report(body: object) -> SignedReport:
    """Validate a decoded JSON body as a signed report whose signature recovers to its claimed signer."""
    if not isinstance(body, dict):
        raise BadRequestError(f"request body must be a JSON object, got {type(body).__name__}")
    try:
        signed = SignedReport.model_validate(body)
    except ValidationError as exc:
        raise BadRequestError(f"invalid signed report: {describe_validation_error(exc)}") from None
    try:
        recovered = recover_signer(signed.report(), signed.domain(), signed.vrs())
    except ValueError as exc:
        raise BadRequestError(f"invalid signed report: {exc}") from None
    if recovered.lower() != signed.signer.lower():
        raise BadRequestError(
            f"invalid signed report: the signature recovers to {recovered}, not to the claimed "
            f"signer {Web3.to_checksum_address(signed.signer)} (wrong key, report or domain)"
        )
    return signed
