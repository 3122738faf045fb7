"""The bridge against a real chain (anvil, the deployed contracts, the shipped model): it reads every fact of a claim
from the chain by id, and only claims that exist on-chain enter its claims history (in its database)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from oracle.adapter.app import create_app
from oracle.adapter.claims import ChainClaims
from oracle.adapter.uploads import PERMIT_HEADER, UPLOADS, encode_permit, permit_message
from oracle.chain.deploy import ETH, submit_claim
from oracle.claim.context import claim_from_chain
from oracle.claim.wiring import build_assessor
from oracle.db import HistoryClaim, NodeStore
from oracle.explain.canonical import hex0x
from oracle.explain.evidence import build_manifest
from oracle.settings import load_settings
from tests.chain_fixtures import needs_model, submit_photos
from tests.factories import real_photo_paths

pytestmark = [pytest.mark.asyncio, needs_model]
FORGED_ID = 999_999


def forged_facts(claim, claim_id: int, earlier_s: int) -> dict:
    """What the bridge used to take from its caller: every fact of a claim, here copied from a genuine one under
    another claim id and moved `earlier_s` seconds earlier, reusing its public evidence manifest."""
    return {
        "claimId": claim_id,
        "chainId": claim.chain_id,
        "contract": claim.contract,
        "policyId": claim.policy_id,
        "productId": claim.product_id,
        "evidenceRoot": hex0x(claim.evidence_root),
        "evidenceURI": claim.evidence_uri,
        "incidentTime": claim.incident_time - earlier_s,
        "peril": claim.peril.bit_length() - 1,
        "latitudeE6": claim.lat_e6,
        "longitudeE6": claim.lon_e6,
        "claimedAmount": str(claim.claimed_amount),
        "submittedAt": claim.submitted_at - earlier_s,
        "policyStart": claim.policy_start,
        "policyEnd": claim.policy_end,
        "remainingCoverage": str(claim.remaining_coverage),
        "deductible": str(claim.deductible),
        "coveredPerils": claim.covered_perils,
        "termsHash": hex0x(claim.terms_hash),
        "insuredObject": claim.insured_object_id,
    }


@pytest.fixture
def make_gateway(world, model, aiohttp_client):
    """Factory: a gateway reading claims from the world's chain, with its own claims history database."""
    opened = []

    async def build(name: str):
        settings = load_settings(
            rpc_url=world["chain"].url,
            contract_address=world["manager"].address,
            db_url=f"sqlite:///{world['tmp'] / f'{name}.db'}",
        )
        history = NodeStore(settings.db_url)
        assessor = build_assessor(
            settings, history, model, sources=[], code_version="test", store=world["cas"], record_history=True
        )
        opened.append((assessor, history))
        app = create_app(settings, assessor, world["cas"], claims=ChainClaims(world["manager"], history))
        return await aiohttp_client(app), history

    yield build
    for assessor, history in opened:
        assessor.close()
        history.close()


def history_claim_ids(history: NodeStore) -> set[int]:
    """The claim ids in a claims history database."""
    with history.engine.connect() as connection:
        return set(connection.scalars(select(HistoryClaim.claim_id)))


async def test_bridge__reposted_claim_an_hour_earlier_under_another_id__does_not_change_the_genuine_answer(
    world, make_gateway
):
    chain = world["chain"].w3.provider
    chain.make_request("evm_increaseTime", [10 * 86_400])  # past the policy's first week, which the terms flag
    chain.make_request("evm_mine", [])
    claim_id = submit_photos(world, real_photo_paths(1, cls="severe"), 3 * ETH)
    genuine = claim_from_chain(world["manager"], claim_id)
    attacked, history = await make_gateway("attacked")

    # the attack: the genuine claim re-posted as 999999, an hour earlier, before anyone asks for the genuine one
    forged = await attacked.post("/", json={"id": "evil", "data": forged_facts(genuine, FORGED_ID, 3600)})
    assert forged.status == 400 and "reads every other fact" in (await forged.json())["error"]["message"]
    unknown = await attacked.post("/", json={"id": "evil", "data": {"claimId": FORGED_ID}})
    assert unknown.status == 404 and (await unknown.json())["error"]["name"] == "ClaimNotOnChainError"
    assert history_claim_ids(history) == set()

    answer = await attacked.post("/", json={"id": "run-1", "data": {"claimId": claim_id}})
    body = await answer.json()
    assert answer.status == 200, body
    clean, _ = await make_gateway("clean")
    expected = await (await clean.post("/", json={"id": "run-1", "data": {"claimId": claim_id}})).json()
    # on the old bridge the forged claim made this PARTIAL 0.3 ETH a REFER 0 ("photo 0 is byte-identical to ...")
    assert expected["data"]["decisionName"] != "REFER"
    assert body["data"] == {**expected["data"], "explanationURL": body["data"]["explanationURL"]}
    assert body["data"]["evidenceRoot"] == hex0x(genuine.evidence_root)
    assert history_claim_ids(history) == {claim_id}  # only the claim the chain holds, in the database


async def test_uploads_on_a_real_chain__holder_checked_by_its_policy_insurer_by_its_product__unreferenced_swept(
    world, model, aiohttp_client
):
    settings = load_settings(
        rpc_url=world["chain"].url,
        contract_address=world["manager"].address,
        db_url=f"sqlite:///{world['tmp'] / 'uploads-gateway.db'}",
        state_dir=world["tmp"],
        upload_ttl_s=60,
    )
    history = NodeStore(settings.db_url)
    assessor = build_assessor(settings, history, model, sources=[], code_version="test", store=world["cas"])
    try:
        claims = ChainClaims(world["manager"], history)
        client = await aiohttp_client(create_app(settings, assessor, world["cas"], claims=claims))
        origin, w3 = str(client.make_url("")).rstrip("/"), world["chain"].w3

        def permit(account: str) -> dict:
            expires = int(time.time()) + 600
            text = permit_message(origin, account, expires)
            signed = w3.provider.make_request("personal_sign", ["0x" + text.encode().hex(), account])["result"]
            return {PERMIT_HEADER: encode_permit(origin, account, expires, bytes.fromhex(signed[2:]))}

        panelist = world["chain"].accounts[6]  # holds no policy and insures no product
        refused = await client.post("/content", data=b"x", headers=permit(panelist))
        assert refused.status == 403 and "holds no live policy" in (await refused.json())["error"]["message"]
        insurer = await client.post("/content", data=b"key grants", headers=permit(world["insurer"]))
        assert insurer.status == 201  # an insurer uploads evidence, such as the photos' key for the panel
        insurer_cid = (await insurer.json())["cid"]
        assert claims.contract_accepts_signature(world["holder"], b"\0" * 32, b"\1" * 65) is None  # an EOA

        holder = permit(world["holder"])
        kept, dropped = (p.read_bytes() for p in real_photo_paths(2, cls="minor"))
        kept_cid = (await (await client.post("/content", data=kept, headers=holder)).json())["cid"]
        dropped_cid = (await (await client.post("/content", data=dropped, headers=holder)).json())["cid"]
        manifest = build_manifest([("front.jpg", kept)])
        manifest_cid = (await (await client.post("/content", data=manifest.data, headers=holder)).json())["cid"]
        now = w3.eth.get_block("latest").timestamp
        submit_claim(
            world["manager"], world["holder"], world["policy_id"], manifest.root, f"ipfs://{manifest_cid}", now, 0,
            41_600_000, -93_600_000, ETH,
        )  # fmt: skip
        gate = client.app[UPLOADS]
        assert await gate.sweep() == {"referenced": 2, "deleted": 0}
        gate.clock = lambda: time.time() + 61
        assert await gate.sweep() == {"referenced": 0, "deleted": 2}  # the dropped photo, the insurer's upload
        cas = world["cas"]
        assert cas.has(kept_cid) and cas.has(manifest_cid) and not cas.has(dropped_cid) and not cas.has(insurer_cid)
    finally:
        assessor.close()
        history.close()
