"""The signature relay: committee members publish EIP-712 report signatures and fetch each other's (untrusted)."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import asdict

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from web3 import Web3

from oracle.adapter.app import decode_json, read_limited
from oracle.adapter.schema import Address, BadRequestError, Bytes32, Uint, describe_validation_error
from oracle.chain.report import MAX_CONFIDENCE_BPS, Decision, Domain, Report, recover_signer, report_digest
from oracle.explain.canonical import hex0x

MAX_SIGNATURE_BODY_BYTES = 4 * 1024
"""One signed report is about 900 bytes of JSON."""
MAX_SIGNERS_PER_CLAIM = 32
"""Twice the contract's largest committee, so junk from outsiders cannot crowd out every member at once."""
MAX_SIGNATURES = 10_000
"""All signatures held; past it the claims updated longest ago are forgotten."""


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
    signer: Address
    signature: Signature

    @classmethod
    def build(cls, domain: Domain, report: Report, signer: str, vrs: tuple[int, bytes, bytes]) -> SignedReport:
        """Wrap a report and a signature of it for the relay."""
        v, r, s = vrs
        return cls(chainId=domain.chain_id, contract=domain.verifying_contract, signer=signer,
                   signature=Signature(v=v, r=hex0x(r), s=hex0x(s)),
                   **{k: (hex0x(value) if isinstance(value, bytes) else value) for k, value in asdict(report).items()})

    def report(self) -> Report:
        """The report that was signed."""
        return Report(self.claimId, self.decision, self.payout, self.confidence, self.explanationHash, self.modelHash,
                      self.evidenceRoot, self.termsHash)

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
        data.update(claimId=str(self.claimId), payout=str(self.payout), contract=self.domain().verifying_contract,
                    signer=Web3.to_checksum_address(self.signer))
        data["signature"] = {"v": self.signature.v, "r": hex0x(self.signature.r), "s": hex0x(self.signature.s)}
        return data


class ClaimKey(BaseModel):
    """The path parameters naming one claim."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    chainId: Uint = Field(gt=0)
    contract: Address
    claimId: Uint = Field(gt=0)


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
        raise BadRequestError(f"invalid signed report: the signature recovers to {recovered}, not to the claimed "
                              f"signer {Web3.to_checksum_address(signed.signer)} (wrong key, report or domain)")
    return signed


class SignatureBook:
    """Signatures held in memory: the latest one per signer per claim, bounded per claim and overall."""

    def __init__(self, max_per_claim: int = MAX_SIGNERS_PER_CLAIM, max_total: int = MAX_SIGNATURES):
        """An empty book with the given bounds."""
        self.max_per_claim, self.max_total = max_per_claim, max_total
        self._claims: OrderedDict[tuple[int, str, int], OrderedDict[str, dict]] = OrderedDict()
        self._total = 0

    def __len__(self) -> int:
        """How many signatures the book holds."""
        return self._total

    def add(self, signed: SignedReport) -> bool:
        """Keep a verified signature; False if the book already had exactly it."""
        key, signer, entry = signed.claim_key(), signed.signer.lower(), signed.wire()
        entries = self._claims.setdefault(key, OrderedDict())
        self._claims.move_to_end(key)
        if entries.get(signer) == entry:
            return False
        if signer in entries:
            del entries[signer]
        elif len(entries) >= self.max_per_claim:
            entries.popitem(last=False)  # the oldest signer of this claim makes room; members republish
        else:
            self._total += 1
        entries[signer] = entry
        while self._total > self.max_total:
            _, dropped = self._claims.popitem(last=False)
            self._total -= len(dropped)
        return True

    def get(self, chain_id: int, contract: str, claim_id: int) -> list[dict]:
        """Every signature held for a claim, oldest first."""
        return list(self._claims.get((chain_id, contract.lower(), claim_id), {}).values())


SIGNATURES = web.AppKey("signatures", SignatureBook)


async def post_signature(request: web.Request) -> web.Response:
    """POST /signatures: store a signed report after checking it recovers to its signer; 201 new, 200 known."""
    signed = parse_signed_report(decode_json(await read_limited(request, MAX_SIGNATURE_BODY_BYTES)))
    stored = request.app[SIGNATURES].add(signed)
    digest = hex0x(report_digest(signed.report(), signed.domain()))
    return web.json_response({"stored": stored, "digest": digest}, status=201 if stored else 200)


async def get_signatures(request: web.Request) -> web.Response:
    """GET /signatures/{chainId}/{contract}/{claimId}: every signature held for the claim."""
    try:
        key = ClaimKey.model_validate(dict(request.match_info))
    except ValidationError as exc:
        raise BadRequestError(f"invalid claim path: {describe_validation_error(exc)}") from None
    return web.json_response({"signatures": request.app[SIGNATURES].get(key.chainId, key.contract, key.claimId)})


def register_signature_routes(app: web.Application) -> None:
    """Serve the signature relay from `app`, with its own in-memory book."""
    app[SIGNATURES] = SignatureBook()
    app.router.add_post("/signatures", post_signature, name="post_signature")
    app.router.add_get("/signatures/{chainId}/{contract}/{claimId}", get_signatures, name="signatures")
