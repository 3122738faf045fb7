"""The signature relay: committee members publish EIP-712 report signatures and fetch each other's (untrusted)."""

from __future__ import annotations

import asyncio
from collections import OrderedDict

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from oracle.adapter.claims import CLAIMS, ClaimSource, Committees
from oracle.adapter.http import ForbiddenRequestError, decode_json, read_limited
from oracle.chain.report import report_digest
from oracle.explain.canonical import hex0x
from oracle.wire.fields import Address, BadRequestError, Uint, describe_validation_error
from oracle.wire.signed_report import SignedReport, parse_signed_report

MAX_SIGNATURE_BODY_BYTES = 4 * 1024
"""One signed report is about 900 bytes of JSON."""
MAX_SIGNERS_PER_CLAIM = 32
"""Twice the contract's largest committee, so junk from outsiders cannot crowd out every member at once."""
MAX_SIGNATURES = 10_000
"""All signatures held; past it the claims updated longest ago are forgotten."""


class ClaimKey(BaseModel):
    """The path parameters naming one claim."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    chainId: Uint = Field(gt=0)
    contract: Address
    claimId: Uint = Field(gt=0)


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
COMMITTEES = web.AppKey("committees", Committees)


async def check_member(app: web.Application, signed: SignedReport) -> None:
    """With a chain to read, refuse a signature for another contract or chain, or from outside the claim's
    committee, so throwaway keys cannot push members' signatures out of the book."""
    source = app.get(CLAIMS)
    if source is None:
        return  # a relay without a chain keeps any valid signature; nodes check membership themselves
    chain_id = await asyncio.to_thread(lambda: source.chain_id)
    if signed.chainId != chain_id or signed.contract.lower() != source.contract.lower():
        raise BadRequestError(
            f"this relay keeps signatures for ClaimsManager {source.contract} on chain {chain_id}, "
            f"not {signed.contract} on chain {signed.chainId}"
        )
    if not await asyncio.to_thread(app[COMMITTEES].is_member, signed.claimId, signed.signer):
        raise ForbiddenRequestError(
            f"{signed.signer} is not on the oracle committee of claim {signed.claimId}; the relay keeps members' "
            "signatures only"
        )


async def post_signature(request: web.Request) -> web.Response:
    """POST /signatures: store a signed report after checking it recovers to its signer; 201 new, 200 known."""
    signed = parse_signed_report(decode_json(await read_limited(request, MAX_SIGNATURE_BODY_BYTES)))
    await check_member(request.app, signed)
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


def register_signature_routes(app: web.Application, claims: ClaimSource | None = None) -> None:
    """Serve the signature relay from `app`, with its own in-memory book; with `claims`, members' signatures only."""
    app[SIGNATURES] = SignatureBook()
    if claims is not None:
        app[COMMITTEES] = Committees(claims)
    app.router.add_post("/signatures", post_signature, name="post_signature")
    app.router.add_get("/signatures/{chainId}/{contract}/{claimId}", get_signatures, name="signatures")
