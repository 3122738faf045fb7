"""The signature relay of a gateway with a chain keeps only signatures from the claim's committee, read on-chain."""

from __future__ import annotations

import dataclasses

import pytest
from eth_account import Account
from eth_utils import keccak

from oracle.adapter.app import create_app
from oracle.adapter.claims import ChainClaims
from oracle.adapter.signatures import COMMITTEES, MAX_SIGNERS_PER_CLAIM
from oracle.chain.deploy import ETH, submit_claim
from oracle.chain.report import Decision, Domain, Report, sign_report
from oracle.domain import DEV_MNEMONIC
from oracle.node.signer import Signer
from oracle.settings import load_settings
from oracle.wire.signed_report import SignedReport
from tests.chain_fixtures import MODEL_HASH, TERMS_HASH

pytestmark = pytest.mark.asyncio


def signed(report: Report, domain: Domain, signer: str, vrs) -> dict:
    """The JSON a member posts."""
    return SignedReport.build(domain, report, signer, vrs).wire()


async def test_signature_relay__throwaway_keys_flooding_a_claim__refused_and_the_members_signature_kept(
    deployed, aiohttp_client, make_assessor, store
):
    manager, w3 = deployed.manager, deployed.chain.w3
    now = w3.eth.get_block("latest").timestamp
    claim_id = submit_claim(
        manager, deployed.holder, deployed.policy_id, keccak(b"manifest"), "ipfs://m", now, 1, 0, 0, 2 * ETH
    )
    app = create_app(load_settings(), make_assessor(None), store, claims=ChainClaims(manager))
    client = await aiohttp_client(app)
    domain = Domain(chain_id=w3.eth.chain_id, verifying_contract=manager.address)
    report = Report(
        claim_id,
        int(Decision.PARTIAL),
        ETH,
        8000,
        keccak(b"explanation"),
        MODEL_HASH,
        keccak(b"manifest"),
        TERMS_HASH,
        1,  # the relay checks who signed, not the epoch or deadline (the contract does)
        now + 7 * 86_400,
    )
    member = Signer.from_dev_mnemonic(DEV_MNEMONIC, 3)
    assert member.address in deployed.oracles

    first = await client.post(
        "/signatures", json=signed(report, domain, member.address, member.sign_report(report, domain))
    )
    assert first.status == 201, await first.text()
    for i in range(MAX_SIGNERS_PER_CLAIM):  # the eviction attack: one more throwaway key than the book keeps
        outsider = Account.from_key(keccak(f"throwaway {i}".encode()))
        body = signed(report, domain, outsider.address, sign_report(report, domain, outsider.key))
        response = await client.post("/signatures", json=body)
        assert response.status == 403, await response.text()
        assert "is not on the oracle committee" in (await response.json())["error"]["message"]

    held = await (await client.get(f"/signatures/{domain.chain_id}/{manager.address}/{claim_id}")).json()
    assert [s["signer"] for s in held["signatures"]] == [member.address]
    assert app[COMMITTEES].reads <= 2  # the committee is read from the chain once, not once per post

    unknown = dataclasses.replace(report, claimId=claim_id + 1)
    response = await client.post(
        "/signatures", json=signed(unknown, domain, member.address, member.sign_report(unknown, domain))
    )
    assert response.status == 404 and (await response.json())["error"]["name"] == "ClaimNotOnChainError"
    other = Domain(chain_id=domain.chain_id, verifying_contract="0x" + "12" * 20)
    response = await client.post(
        "/signatures", json=signed(report, other, member.address, member.sign_report(report, other))
    )
    assert response.status == 400 and "this relay keeps signatures for ClaimsManager" in await response.text()
