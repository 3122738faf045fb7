"""The stack over IPFS: three nodes with their own state directories and Helia peers reach a quorum on a claim
whose big photos exist only as ciphertext on the gateway's peer, pin its evidence, and the gateway serves their
explanation."""

from __future__ import annotations

import asyncio
import io
import json
import time
import urllib.request

import numpy as np
import pytest
from eth_utils import keccak
from PIL import Image

from oracle.cas.cid import DAG_PB_CODEC, codec_of
from oracle.chain.deploy import DAY, ETH, buy_policy, submit_claim, transact
from oracle.claim.evidence import store_evidence
from oracle.dev.demo import CLAIMS_OPEN, PERIL_COLLISION
from oracle.dev.stack import evidence_readers, insured_object_of, running_stack
from oracle.domain import ClaimStatus, public_area
from oracle.settings import load_settings
from oracle.vision import DamageModel
from tests.chain_fixtures import needs_model

pytestmark = [needs_model, pytest.mark.asyncio]
MB = 1024 * 1024


def big_jpeg(seed: int, size: tuple[int, int]) -> bytes:
    """A noisy photo of several megabytes (noise does not compress)."""
    pixels = np.random.default_rng(seed).integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buf, "JPEG", quality=95)
    return buf.getvalue()


def _read(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


async def _decided(manager, claim_id: int, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = manager.claim(claim_id)
        if record["decision"]:
            return record
        await asyncio.sleep(0.2)
    raise AssertionError(f"claim {claim_id} not decided within {timeout:.0f} s")


async def test_stack__photos_only_on_the_gateway_peer__three_separate_peers_reach_a_quorum(tmp_path):
    settings = load_settings()
    model = DamageModel.load(settings.model_path)
    photos = [("front.jpg", big_jpeg(1, (2600, 2000))), ("side.jpg", big_jpeg(2, (1000, 800)))]
    assert len(photos[0][1]) > 5 * MB
    async with running_stack(settings, model, tmp_path, progress=lambda _: None) as stack:
        peers = list(stack.peers)
        # separate state: nobody's directory is inside another's, and the gateway's store is on the gateway's peer
        dirs = [tmp_path / "gateway"] + [tmp_path / f"node{i}" for i in range(3)]
        assert [peer.repo for peer in peers] == [d / "ipfs" for d in dirs]
        assert len({peer.peer_id for peer in peers}) == 4
        manager = stack.system.manager
        assert stack.product_id is not None
        claimant = stack.roles.claimant
        policy = buy_policy(manager, claimant, stack.product_id, insured_object_of(stack, claimant, "IPFS-TEST-VIN"))
        stack.w3.provider.make_request("evm_setNextBlockTimestamp", [CLAIMS_OPEN])
        stack.w3.provider.make_request("evm_mine", [])
        place = (41_600_000, -93_600_000)
        readers = evidence_readers(stack, claimant)
        evidence = store_evidence(stack.cas, photos, sealed_for=readers, place_e6=place)
        cids = [json.loads(stack.cas.get(evidence.manifest_cid))["photos"][i]["cid"] for i in range(2)]
        assert [codec_of(cid) for cid in cids] == [DAG_PB_CODEC, DAG_PB_CODEC]
        assert not any(store.has(cid) for store in stack.node_stores for cid in cids)
        now = stack.w3.eth.get_block("latest").timestamp
        claim_id = submit_claim(
            manager,
            claimant,
            policy,
            evidence.root,
            evidence.uri,
            now - 3600,
            PERIL_COLLISION,
            *public_area(place),
            ETH,
        )
        await _decided(manager, claim_id)
        (event,) = manager.contract.events.ClaimDecided().get_logs(from_block=0)
        explanation_hash = bytes(event.args.explanationHash)
        # each member's peer fetched the photos over bitswap and keeps the evidence pinned
        for store in stack.node_stores:
            assert all(store.has(cid) for cid in cids)
            assert store.pinned(evidence.manifest_cid) and all(store.pinned(cid) for cid in cids)
        # the explanation the nodes stored on their own peers reaches the gateway by announcement
        url = f"{stack.url}explanations/0x{explanation_hash.hex()}"
        deadline = time.monotonic() + 30
        while True:
            try:  # from a thread: the gateway answers on this test's event loop
                document = await asyncio.to_thread(_read, url)
                break
            except urllib.error.HTTPError as exc:
                if exc.code != 404 or time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)
        assert keccak(document) == explanation_hash

        # each member keeps the evidence until the claim is final plus the terms' retention (180 days by default)
        held = [evidence.manifest_cid, *cids]
        node, store = stack.nodes[0], stack.node_stores[0]
        # (a claim in its window is held whatever its age: tests/cas/test_ipfs.py; this one was paid at once)
        if manager.claim(claim_id)["status"] == ClaimStatus.DECIDED:  # the window runs out, anyone finalizes
            stack.w3.provider.make_request("evm_increaseTime", [3 * DAY + 1])
            transact(stack.w3, manager.contract.functions.finalize(claim_id), claimant)
        assert manager.claim(claim_id)["status"] in (ClaimStatus.RESOLVED, ClaimStatus.PAID)
        final_seen = time.time()
        assert node.release_final_evidence(now=final_seen) == 0  # final: the 180 days start now
        assert node.release_final_evidence(now=final_seen + 179 * DAY) == 0
        assert all(store.pinned(cid) for cid in held)
        assert node.release_final_evidence(now=final_seen + 180 * DAY + 1) == len(held)
        assert not any(store.pinned(cid) for cid in held)
        assert stack.node_stores[1].pinned(evidence.manifest_cid)  # another member's own clock, its own copy
    for peer in peers:  # every peer process is gone
        assert peer._process is None
