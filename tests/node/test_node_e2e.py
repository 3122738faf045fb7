"""Oracle nodes end to end on anvil: real contracts, the shipped model, real photos, a 2-of-3 committee."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from eth_utils import keccak
from web3 import Web3

from oracle.assess import DEFAULT_TERMS_PATH
from oracle.chain.contracts import ClaimsManagerClient
from oracle.chain.deploy import DAY, ETH, buy_policy, create_product, desk_of, governor_of, submit_claim, transact
from oracle.claim.assessor import ClaimAssessor
from oracle.claim.verify import verify_claim
from oracle.db import ASSESSED, DONE, NOT_OURS, NodeStore
from oracle.dev.devchain import DEV_MNEMONIC
from oracle.explain.canonical import canonical_json
from oracle.node.service import OracleNode
from oracle.node.signer import Signer
from oracle.settings import load_settings
from oracle.sources.terms import parse_terms
from tests.chain_fixtures import MODEL_PATH, make_node, needs_model, submit_photos
from tests.factories import store_manifest_naming_a_class

pytestmark = needs_model
SUBMITTED, DECIDED, RESOLVED, REVIEW = 1, 2, 4, 6
UNDISTURBED_RUN_S = 180  # the last node run of the kill test, left to finish: generous for a loaded machine


def test_committee__two_nodes_vote__decision_and_explanation_hash_on_chain(world, model):
    photos = sorted((world["data"] / "images/vds2500/val/moderate").glob("*"))[:2]
    claim_id = submit_photos(world, photos, 3 * ETH)
    nodes = [make_node(world, model, i) for i in range(2)]
    for node in nodes:
        asyncio.run(node.run_once())
    claim = world["manager"].claim(claim_id)
    assert claim["status"] in (DECIDED, RESOLVED, REVIEW)  # a REFER waits in the insurer's review
    [decided] = world["manager"].contract.events.ClaimDecided().get_logs(from_block=0)
    job = nodes[0].store.job(nodes[0].chain_id, world["manager"].address, claim_id)
    assert job.state == DONE
    document = world["cas"].get(job.outcome["explanation_cid"])
    assert keccak(document) == bytes(decided.args.explanationHash)  # the hash on-chain is the stored document's
    assert canonical_json(json.loads(document)) == document
    assert decided.args.decision == job.outcome["decision"] and decided.args.payout == int(job.outcome["payout"])


def test_oracle_report_is_computed_from_the_policy_class_not_the_claimants(world, model):
    """A compact's holder whose evidence names "luxury": the committee prices the repair for the compact."""
    compact = 0
    policy_id = buy_policy(world["manager"], world["holder"], world["product_id"], keccak(b"VIN-COMPACT"), compact)
    assert world["manager"].policy(policy_id)["vehicleClass"] == compact
    photos = sorted((world["data"] / "images/vds2500/val/minor").glob("*"))[:1]
    root, uri = store_manifest_naming_a_class(world["cas"], [(p.name, p.read_bytes()) for p in photos], "luxury")
    now = world["chain"].w3.eth.get_block("latest").timestamp
    place = (41_600_000, -93_600_000)
    claim_id = submit_claim(world["manager"], world["holder"], policy_id, root, uri, now, 0, *place, ETH)
    nodes = [make_node(world, model, i) for i in range(2)]
    for node in nodes:
        asyncio.run(node.run_once())
    [decided] = world["manager"].contract.events.ClaimDecided().get_logs(from_block=0)
    assert decided.args.claimId == claim_id
    job = nodes[0].store.job(nodes[0].chain_id, world["manager"].address, claim_id)
    doc = json.loads(world["cas"].get(job.outcome["explanation_cid"]))
    steps = doc["payoutArithmetic"]
    assert doc["claim"]["policy"]["vehicleClass"] == steps["vehicleClass"] == "compact"
    schedule = parse_terms(DEFAULT_TERMS_PATH.read_bytes()).cost_schedule
    if steps["severity"] is not None:
        assert (
            int(steps["estimate"])
            == schedule["compact"].cost(steps["severity"])
            < schedule["luxury"].cost(steps["severity"])
        )
    assert decided.args.payout == int(job.outcome["payout"]) <= int(steps["payout"])


def test_claim_flood_from_a_product_with_another_committee_costs_the_node_nothing(world, model):
    """Anyone can create a product; a node assesses only the claims of products whose committee it is on."""
    strangers = world["chain"].accounts[6:9]  # a committee without this node
    config = {**world["config"], "committee": strangers}
    product_id = create_product(world["manager"], world["insurer"], config, 10 * ETH)
    policy_id = buy_policy(world["manager"], world["holder"], product_id, keccak(b"VIN-ELSEWHERE"))
    photos = sorted((world["data"] / "images/vds2500/val/minor").glob("*"))[:1]
    claim_id = submit_photos(world, photos, ETH, policy_id=policy_id)
    node = make_node(world, model, 0)
    node.assessor.load_batch = None  # any assessment would fail the test
    asyncio.run(node.run_once())
    job = node.store.job(node.chain_id, world["manager"].address, claim_id)
    assert job.state == NOT_OURS and "not on the committee" in job.error


def test_product_whose_terms_nobody_has__node_keeps_running_and_parks_the_claim(world, model):
    """An insurer names honest members as the committee of a product whose terms document exists nowhere: a claim
    on it used to raise TermsError out of the node's loop and stop the process (again after every restart). It is
    now the claim's own failed attempt, parked after five, while the node's other claims go on."""
    config = {**world["config"], "termsHash": keccak(b"terms nobody has")}
    product_id = create_product(world["manager"], world["insurer"], config, 10 * ETH)
    policy_id = buy_policy(world["manager"], world["holder"], product_id, keccak(b"VIN-NO-TERMS"))
    photos = sorted((world["data"] / "images/vds2500/val/minor").glob("*"))[:1]
    orphan = submit_photos(world, photos, ETH, policy_id=policy_id)
    fine = submit_photos(world, photos[:1], 2 * ETH)
    node = make_node(world, model, 0)
    asyncio.run(node.run_once())  # raised TermsError before the fix
    job = node.store.job(node.chain_id, world["manager"].address, orphan)
    assert job.attempts == 1 and "no terms document with keccak256" in job.error
    assert node.store.job(node.chain_id, world["manager"].address, fine).state in (ASSESSED, DONE)


def test_member_leaves_after_a_vote__voided_vote_sent_again_and_the_claim_decided(world, model):
    """A member leaving voids the votes cast on its epochs' claims (the others must vote again), but a node that
    had voted marked its job done and never voted again: one leave, for example by a member colluding with the
    insurer just before quorum, stalled every pending claim until the oracle timeout. The node now reads the
    governor's MemberLeft events and votes again on its voted claims that still wait."""
    photos = sorted((world["data"] / "images/vds2500/val/moderate").glob("*"))[:1]
    claim_id = submit_photos(world, photos, 3 * ETH)
    first, second = make_node(world, model, 0), make_node(world, model, 1)
    asyncio.run(first.run_once())
    assert first.store.job(first.chain_id, world["manager"].address, claim_id).state == DONE
    leaver = world["chain"].accounts[5]
    transact(world["chain"].w3, governor_of(world["manager"]).functions.leaveCommittee(world["product_id"]), leaver)
    asyncio.run(second.run_once())
    assert world["manager"].claim(claim_id)["status"] == SUBMITTED  # one vote counts: the first was voided
    assert first.revote_after_leaves() == 1
    asyncio.run(first.run_once())
    assert world["manager"].claim(claim_id)["status"] in (DECIDED, RESOLVED, REVIEW)
    assert first.revote_after_leaves() == 0  # read once: the same leave moves nothing again


def test_node__restart_after_assessment__votes_once(world, model):
    photos = sorted((world["data"] / "images/vds2500/val/minor").glob("*"))[:1]
    claim_id = submit_photos(world, photos, 2 * ETH)
    node = make_node(world, model, 0)
    node.submitter.submit_many = lambda *a, **k: (_ for _ in ()).throw(ConnectionError("killed before voting"))
    with pytest.raises(ConnectionError):
        asyncio.run(node.run_once())
    [job] = node.store.jobs(node.chain_id, world["manager"].address)
    assert job.state == ASSESSED  # assessed and written down, nothing sent
    restarted = make_node(world, model, 0)  # same database, fresh process state
    asyncio.run(restarted.run_once())
    asyncio.run(restarted.run_once())
    votes = [
        e for e in world["manager"].contract.events.ReportVoted().get_logs(from_block=0) if e.args.claimId == claim_id
    ]
    assert len(votes) == 1 and votes[0].args.oracle == restarted.signer.address


def test_committee_silent__past_timeout__claimant_escalates_to_arbitrator(world, model):

    photos = sorted((world["data"] / "images/vds2500/val/minor").glob("*"))[:1]
    claim_id = submit_photos(world, photos, 2 * ETH)
    asyncio.run(make_node(world, model, 0).run_once())  # one vote of the two needed; the others stay silent
    manager, w3 = world["manager"], world["chain"].w3
    assert manager.claim(claim_id)["status"] == 1
    w3.provider.make_request("evm_increaseTime", [DAY])
    w3.provider.make_request("evm_mine", [])
    desk = desk_of(manager)
    cost = desk.functions.disputeCost(claim_id).call() - manager.product(1)["disputeBond"]
    transact(w3, desk.functions.escalate(claim_id), world["holder"], value=cost)
    claim = manager.claim(claim_id)
    assert claim["status"] == 3 and claim["escalated"]


def test_node_process__sigkill_at_random_points__each_claim_voted_exactly_once(world, model, tmp_path):

    photo_dir = world["data"] / "images/vds2500/val/severe"
    claims = [submit_photos(world, [photo], 4 * ETH) for photo in sorted(photo_dir.glob("*"))[:4]]
    env = {
        **os.environ,
        "CLAIMS_ORACLE_RPC_URL": world["chain"].url,
        "CLAIMS_ORACLE_CONTRACT_ADDRESS": world["manager"].address,
        "CLAIMS_ORACLE_DB_URL": f"sqlite:///{tmp_path / 'killed.db'}",
        "CLAIMS_ORACLE_CONTENT_STORE_URL": f"file://{world['tmp'] / 'cas'}",
        "CLAIMS_ORACLE_STATE_DIR": str(tmp_path),
        "CLAIMS_ORACLE_CONFIRMATIONS": "0",
        "CLAIMS_ORACLE_POLL_INTERVAL_S": "0.1",
        "CLAIMS_ORACLE_MODEL_PATH": str(MODEL_PATH),
    }
    command = [sys.executable, "-m", "oracle.cli", "node", "--dev-account", "3"]
    member = Signer.from_dev_mnemonic(DEV_MNEMONIC, 3).address
    w3, manager = world["chain"].w3, world["manager"]

    def voted() -> list[int]:
        return [
            e.args.claimId
            for e in manager.contract.events.ReportVoted().get_logs(from_block=0)
            if e.args.oracle == member
        ]

    for delay in (1.5, 2.0, 2.5, 3.0, 4.0, 6.0, 10.0):
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        if sorted(voted()) == sorted(claims):
            break
    else:
        # a busy machine may not have let any run get far: the last run is left alone until it has voted (a
        # node that could not finish its work undisturbed would fail here, whatever the load)
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + UNDISTURBED_RUN_S
        while sorted(voted()) != sorted(claims) and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.5)
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert sorted(voted()) == sorted(claims)  # every claim got this member's vote, none twice
    assert w3.eth.get_transaction_count(member) == len(claims)  # no second, reverted vote was ever sent


def test_verify__replay_with_node_history__matches_and_without_it__mismatches(world, model, tmp_path):

    photos = sorted((world["data"] / "images/vds2500/val/severe").glob("*"))[:2]
    first = submit_photos(world, photos, 3 * ETH)
    reused = submit_photos(world, photos[:1], 3 * ETH)  # the same photo again: a fraud signal only history reveals
    nodes = [make_node(world, model, i) for i in range(2)]
    for node in nodes:
        asyncio.run(node.run_once())
    assert world["manager"].claim_decided(reused)["decision"] == 4  # REFER
    common = dict(
        rpc_url=world["chain"].url,
        contract_address=world["manager"].address,
        model_path=MODEL_PATH,
        content_store_url=f"file://{world['tmp'] / 'cas'}",
    )
    with_history = load_settings(db_url=f"sqlite:///{world['tmp'] / 'node0.db'}", **common)
    for claim_id in (first, reused):
        report = verify_claim(with_history, claim_id)
        assert report["match"], report
    without_history = load_settings(db_url=f"sqlite:///{tmp_path / 'empty.db'}", **common)
    report = verify_claim(without_history, reused)
    assert not report["match"]
    assert any(name.startswith("replay.") for name, (_, _, same) in report["fields"].items() if not same)


def test_node_run__rpc_outage__retries_and_then_votes(world, model, caplog):

    photos = sorted((world["data"] / "images/vds2500/val/minor").glob("*"))[:1]
    claim_id = submit_photos(world, photos, 2 * ETH)
    impatient = ClaimsManagerClient(
        Web3(Web3.HTTPProvider(world["chain"].url, request_kwargs={"timeout": 0.5})), world["manager"].address
    )
    store = NodeStore(f"sqlite:///{world['tmp'] / 'outage.db'}")
    node = OracleNode(
        impatient,
        store,
        ClaimAssessor(world["cas"], model, [], store, "test"),
        Signer.from_dev_mnemonic(DEV_MNEMONIC, 3),
        confirmations=0,
        poll_seconds=0.1,
    )
    anvil = world["chain"].process

    async def scenario():
        stop = asyncio.Event()
        os.kill(anvil.pid, signal.SIGSTOP)  # the RPC node stops answering
        task = asyncio.create_task(node.run(stop))
        await asyncio.sleep(2.0)
        os.kill(anvil.pid, signal.SIGCONT)
        for _ in range(200):
            job = store.job(node.chain_id, impatient.address, claim_id)
            if job is not None and job.state == DONE:
                break
            await asyncio.sleep(0.1)
        stop.set()
        await task

    try:
        asyncio.run(scenario())
    finally:
        os.kill(anvil.pid, signal.SIGCONT)
    assert "RPC unavailable" in caplog.text
    assert store.job(node.chain_id, impatient.address, claim_id).state == DONE
    voters = [e.args.oracle for e in world["manager"].contract.events.ReportVoted().get_logs(from_block=0)]
    assert voters == [node.signer.address]
