"""The signature relay's HTTP contract: validation with clear 4xx messages, verification, dedupe and memory bounds."""

from __future__ import annotations

import json

import pytest
import pytest_asyncio
from aiohttp import web
from eth_account import Account
from eth_utils import keccak

from oracle.adapter.app import create_app, error_middleware
from oracle.adapter.signatures import (
    MAX_SIGNATURE_BODY_BYTES,
    SIGNATURES,
    SignatureBook,
    SignedReport,
    parse_signed_report,
    register_signature_routes,
)
from oracle.cas.store import LocalContentStore
from oracle.chain.report import SECP256K1_HALF_N, Decision, Domain, Report, sign_report
from oracle.settings import load_settings

DOMAIN = Domain(chain_id=31337, verifying_contract="0x5FbDB2315678afecb367f032d93F642f64180aa3")
REPORT = Report(
    4097,
    int(Decision.PARTIAL),
    2 * 10**18,
    8000,
    keccak(b"explanation"),
    keccak(b"model"),
    keccak(b"manifest"),
    keccak(b"terms"),
    1,
    2_000_000_000,
)
MEMBER = Account.from_key(b"\x11" * 32)
OUTSIDER = Account.from_key(b"\x22" * 32)


def signed_body(report: Report = REPORT, account=MEMBER, domain: Domain = DOMAIN, signer: str | None = None) -> dict:
    """The JSON a member posts for `report`, signed by `account` (claiming to be `signer` if given)."""
    vrs = sign_report(report, domain, account.key)
    return SignedReport.build(domain, report, signer or account.address, vrs).wire()


@pytest_asyncio.fixture
async def relay(aiohttp_client):
    """A test client for an app serving only the relay, behind the adapter's error middleware."""
    app = web.Application(middlewares=[error_middleware])
    register_signature_routes(app)
    return await aiohttp_client(app)


async def _error(response, status: int) -> str:
    assert response.status == status, await response.text()
    body = await response.json()
    return body["error"]["message"]


@pytest.mark.asyncio
async def test_post_then_get__valid_signature__stored_once_and_listed(relay):
    body = signed_body()
    first = await relay.post("/signatures", json=body)
    assert first.status == 201 and (await first.json())["stored"] is True
    again = await relay.post("/signatures", json=body)
    assert again.status == 200 and (await again.json())["stored"] is False
    listed = await relay.get(f"/signatures/31337/{DOMAIN.verifying_contract.lower()}/4097")
    assert listed.status == 200
    [entry] = (await listed.json())["signatures"]
    assert entry == body and parse_signed_report(entry).report() == REPORT
    empty = await relay.get(f"/signatures/31337/{DOMAIN.verifying_contract}/4098")
    assert (await empty.json())["signatures"] == []


@pytest.mark.asyncio
async def test_post__signature_by_another_key__400_names_both_addresses(relay):
    body = signed_body(account=OUTSIDER, signer=MEMBER.address)
    message = await _error(await relay.post("/signatures", json=body), 400)
    assert f"recovers to {OUTSIDER.address}, not to the claimed signer {MEMBER.address}" in message


@pytest.mark.asyncio
async def test_post__signature_over_another_report__400(relay):
    body = {**signed_body(), "payout": str(3 * 10**18)}  # the signature was made over a payout of 2 ETH
    message = await _error(await relay.post("/signatures", json=body), 400)
    assert "not to the claimed signer" in message


@pytest.mark.asyncio
async def test_post__malleable_high_s_twin__400(relay):
    body = signed_body()
    s = int(body["signature"]["s"], 16)
    twin = {
        **body,
        "signature": {
            "v": 55 - body["signature"]["v"],
            "r": body["signature"]["r"],
            "s": "0x%064x" % (2 * SECP256K1_HALF_N + 1 - s),
        },
    }
    message = await _error(await relay.post("/signatures", json=twin), 400)
    assert "upper half of the curve order" in message


@pytest.mark.asyncio
@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda b: {**b, "claimId": "many"}, "claimId: must be an integer"),
        (lambda b: {**b, "decision": 9}, "decision: Input should be less than or equal to 4"),
        (lambda b: {**b, "explanationHash": "0x1234"}, "explanationHash: must be 0x followed by 64 hex digits"),
        (lambda b: {**b, "signer": 42}, "signer: must be a 0x-prefixed 20-byte hex address"),
        (lambda b: {**b, "signature": {**b["signature"], "v": 29}}, "signature.v: Input should be less than or equal"),
        (lambda b: {**b, "confidence": 1.5}, "confidence: must be an integer"),
        (lambda b: {k: v for k, v in b.items() if k != "termsHash"}, "termsHash is required"),
        (lambda b: {**b, "extra": True}, "extra: Extra inputs are not permitted"),
        (lambda b: [b], "request body must be a JSON object, got list"),
    ],
)
async def test_post__wrong_types_or_fields__400_names_the_field(relay, change, expected):
    message = await _error(await relay.post("/signatures", json=change(signed_body())), 400)
    assert expected in message


@pytest.mark.asyncio
async def test_post__malformed_json__400(relay):
    message = await _error(await relay.post("/signatures", data=b'{"chainId": 1,'), 400)
    assert "not valid JSON" in message


@pytest.mark.asyncio
async def test_post__oversized_body__413_names_the_limit(relay):
    body = json.dumps({**signed_body(), "pad": "x" * MAX_SIGNATURE_BODY_BYTES})
    message = await _error(await relay.post("/signatures", data=body), 413)
    assert f"over the limit of {MAX_SIGNATURE_BODY_BYTES} bytes" in message


@pytest.mark.asyncio
@pytest.mark.asyncio
@pytest.mark.parametrize(
    "path",
    ["/signatures/0/0xab/1", "/signatures/31337/not-an-address/1", f"/signatures/31337/{DOMAIN.verifying_contract}/-1"],
)
async def test_get__bad_path__400(relay, path):
    message = await _error(await relay.get(path), 400)
    assert message.startswith("invalid claim path:")


def test_book__bounded_per_claim_and_overall__oldest_forgotten():
    book = SignatureBook(max_per_claim=2, max_total=3)
    signers = [Account.from_key(bytes([i]) * 32) for i in range(1, 5)]
    for account in signers[:3]:  # three signers on one claim: the first is pushed out
        assert book.add(parse_signed_report(signed_body(account=account)))
    held = [entry["signer"] for entry in book.get(DOMAIN.chain_id, DOMAIN.verifying_contract, REPORT.claimId)]
    assert held == [signers[1].address, signers[2].address] and len(book) == 2
    other_claim = Report(4098, *list(vars(REPORT).values())[1:])
    book.add(parse_signed_report(signed_body(report=other_claim, account=signers[3])))
    book.add(parse_signed_report(signed_body(report=Report(4099, *list(vars(REPORT).values())[1:]))))
    assert len(book) == 2  # over three in all: the claim updated longest ago went
    assert book.get(DOMAIN.chain_id, DOMAIN.verifying_contract, REPORT.claimId) == []


def test_create_app__serves_the_relay(tmp_path):
    app = create_app(load_settings(), assessor=None, store=LocalContentStore(tmp_path / "cas"))
    assert isinstance(app[SIGNATURES], SignatureBook)
    assert {route.name for route in app.router.routes()} >= {"post_signature", "signatures"}
