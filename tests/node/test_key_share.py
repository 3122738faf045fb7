"""Committee nodes share a claim's photo key with the arbitration panel when the claim reaches it without it."""

from __future__ import annotations

import asyncio
import json

import pytest
from eth_utils import keccak

from oracle.chain.deploy import ETH, transact
from oracle.chain.keys import publish_key
from oracle.chain.report import Report, report_deadline
from oracle.claim.evidence import store_evidence
from oracle.dev.devchain import DEV_MNEMONIC
from oracle.domain import REVIEW_DEADLINE_S, ClaimStatus, Decision
from oracle.explain.canonical import canonical_json
from oracle.node.share import FOLLOW_SECONDS, KeySharer
from oracle.node.signer import Signer
from oracle.privacy import KEY_GRANTS_TYPE, SealError, key_commitment, key_grants_document, unwrap_key, wrap_key
from tests.chain_fixtures import make_node, submit_claim

PANEL, STRANGER = range(6, 9), 9


def _reader(world, index: int):
    """Dev account `index`'s evidence reader, its key published in the world's key directory."""
    system = world["system"]
    reader = Signer.from_dev_mnemonic(DEV_MNEMONIC, index).reader(world["chain"].w3.eth.chain_id, system.keys.address)
    publish_key(system.keys, reader.address, reader.public_key)
    return reader


def _nodes(world, model):
    """The three committee members' nodes, each with its key sharer."""
    nodes = []
    for i in range(3):
        node = make_node(world, model, i)
        reader = _reader(world, 3 + i)
        node.sharer = KeySharer(
            world["manager"],
            node.store,
            world["cas"],
            reader,
            world["system"].keys.address,
            node.signer.sign_transaction,
        )
        nodes.append(node)
    return nodes


def _referred_by_stranger(world, claimant_shares: bool = False) -> tuple[int, bytes]:
    """A sealed claim the committee REFERs, sent to the panel by a stranger after the review deadline (shared with
    the panel by its claimant first when asked); returns the claim id and its content key."""
    w3, manager, desk = world["chain"].w3, world["manager"], world["system"].desk
    members = [(r.address, r.public_key) for r in (_reader(world, 3 + i) for i in range(3))]
    evidence = store_evidence(world["cas"], [("front.jpg", b"sealed photo bytes")], sealed_for=members)
    now = w3.eth.get_block("latest").timestamp
    claim_id = submit_claim(
        manager, world["holder"], world["policy_id"], evidence.root, evidence.uri, now, 0, 0, 0, 2 * ETH
    )
    config = world["config"]
    report = Report(
        claim_id,
        int(Decision.REFER),
        0,
        5000,
        keccak(b"explanation"),
        config["models"][0],
        evidence.root,
        config["termsHash"],
        manager.report_epoch(claim_id, world["product_id"]),
        report_deadline(now),
    )
    for oracle in world["chain"].accounts[3:5]:
        transact(w3, manager.contract.functions.voteReport(report.as_tuple()), oracle)
    assert manager.claim(claim_id)["status"] == ClaimStatus.REVIEW
    if claimant_shares:
        panel = [_reader(world, i) for i in PANEL]
        grants = [wrap_key(evidence.content_key, r.public_key, r.address) for r in panel]
        doc = key_grants_document(claim_id, "0x" + evidence.root.hex(), grants, "Photo key for the panel")
        cid = world["cas"].put(canonical_json(doc))
        transact(w3, desk.functions.submitEvidence(claim_id, f"ipfs://{cid}"), world["holder"])
    w3.provider.make_request("evm_increaseTime", [REVIEW_DEADLINE_S + 1])
    w3.provider.make_request("evm_mine", [])
    transact(w3, desk.functions.referToArbitrator(claim_id), world["chain"].accounts[STRANGER])
    assert manager.claim(claim_id)["status"] == ClaimStatus.DISPUTED
    return claim_id, evidence.content_key


def _grant_documents(world, claim_id: int) -> list[tuple[str, dict]]:
    """The claim's key-grants evidence documents with who submitted each."""
    events = (
        world["system"].desk.events.Evidence().get_logs(from_block=0, argument_filters={"_evidenceGroupID": claim_id})
    )
    docs = [(e.args._party, json.loads(world["cas"].get(e.args._evidence.removeprefix("ipfs://")))) for e in events]
    return [(party, doc) for party, doc in docs if doc["type"] == KEY_GRANTS_TYPE]


def test_referral_by_a_stranger__one_member_shares_the_key_with_exactly_the_panel(world, model):
    for i in PANEL:
        _reader(world, i)
    nodes = _nodes(world, model)
    claim_id, content_key = _referred_by_stranger(world)
    first = claim_id % 3
    others = [node for i, node in enumerate(nodes) if i != first]
    assert [node.share_keys() for node in others] == [0, 0]  # not their turn yet
    assert nodes[first].share_keys() == 1
    assert [node.share_keys() for node in nodes] == [0, 0, 0]  # shared: nobody shares again
    ((party, doc),) = _grant_documents(world, claim_id)
    assert party == nodes[first].signer.address
    panel = [_reader(world, i) for i in PANEL]
    assert sorted(g["to"] for g in doc["grants"]) == sorted(r.address.lower() for r in panel)
    commitment = key_commitment(content_key)
    grants = {grant["to"]: grant for grant in doc["grants"]}
    for reader in panel:
        assert unwrap_key(grants[reader.address.lower()], reader.identity, commitment) == content_key
    stranger = _reader(world, STRANGER)
    for grant in doc["grants"]:
        with pytest.raises(SealError):
            unwrap_key(grant, stranger.identity, commitment)
    gas = nodes[first].sharer.gas_used
    assert len(gas) == 1 and gas[0] < 60_000, gas
    print(f"submitEvidence of the key grants: {gas[0]} gas")


def test_first_member_silent__the_next_in_turn_shares_after_the_follow_delay__and_a_restart_resumes(world, model):
    for i in PANEL:
        _reader(world, i)
    nodes = _nodes(world, model)
    claim_id, _ = _referred_by_stranger(world)
    second = nodes[(claim_id + 1) % 3]
    assert second.share_keys() == 0
    world["chain"].w3.provider.make_request("evm_increaseTime", [FOLLOW_SECONDS])
    world["chain"].w3.provider.make_request("evm_mine", [])
    restarted = _nodes(world, model)[(claim_id + 1) % 3]  # a new process on the same database
    asyncio.run(restarted.run_once())  # its poll records the claim's job and shares the key
    assert restarted.store.job(world["chain"].w3.eth.chain_id, world["manager"].address, claim_id) is not None
    ((party, _),) = _grant_documents(world, claim_id)
    assert party == second.signer.address


def test_claim_already_shared_by_its_claimant__gets_no_second_grants_document(world, model):
    for i in PANEL:
        _reader(world, i)
    nodes = _nodes(world, model)
    claim_id, _ = _referred_by_stranger(world, claimant_shares=True)
    world["chain"].w3.provider.make_request("evm_increaseTime", [3 * FOLLOW_SECONDS])
    world["chain"].w3.provider.make_request("evm_mine", [])
    assert [node.share_keys() for node in nodes] == [0, 0, 0]
    ((party, _),) = _grant_documents(world, claim_id)
    assert party == world["holder"]
