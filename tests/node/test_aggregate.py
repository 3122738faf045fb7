"""The aggregated report path on anvil: signatures swapped through a real relay, one `submitSignedReport` per claim."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import pytest
from eth_account import Account

from oracle.adapter.signatures import SignedReport
from oracle.chain.deploy import ETH
from oracle.chain.report import SECP256K1_HALF_N, Decision, Report, sign_report
from oracle.db import ASSESSED, DONE, SENDING, NodeStore
from oracle.dev.devchain import DEV_MNEMONIC
from oracle.node.aggregate import AggregateSubmitter, SignatureRelayClient
from oracle.node.command import build_node
from oracle.node.signer import Signer
from oracle.settings import load_settings
from tests.chain_fixtures import (
    MODEL_PATH,
    make_node,
    needs_model,
    submit_agreed_claim,
    submit_photos,
)

SUBMITTED, DECIDED = 1, 2
OUTSIDER = Account.from_key(b"\x42" * 32)


@pytest.fixture
def claim(deployed):
    """A submitted claim, the report the committee agrees on, and the members in turn order for it."""
    claim_id, report = submit_agreed_claim(deployed)
    first = claim_id % 3
    in_turn = [3 + (first + rank) % 3 for rank in range(3)]  # dev account indices: designated, fallback 1, 2
    return claim_id, report, in_turn


def _member(deployed, tmp_path, relay_client, index, **options):
    """An aggregate submitter for dev account `index` with its own database."""
    store = NodeStore(f"sqlite:///{tmp_path / f'member{index}.db'}")
    return AggregateSubmitter(
        deployed.manager, store, Signer.from_dev_mnemonic(DEV_MNEMONIC, index), relay_client, **options
    )


def _job(submitter, claim_id, product_id):
    """The member's job for the claim, assessed (created on first use)."""
    store, address = submitter.store, submitter.client.address
    if store.add_job(submitter.chain_id, address, claim_id, {"context": {"product_id": product_id}}, 1, b"\0" * 32):
        store.update_job(submitter.chain_id, address, claim_id, state=ASSESSED)
    return store.job(submitter.chain_id, address, claim_id)


def _sent(w3, index):
    """How many transactions dev account `index` has sent."""
    return w3.eth.get_transaction_count(Signer.from_dev_mnemonic(DEV_MNEMONIC, index).address)


def _signed_report_txs(manager, claim_id):
    """The mined `submitSignedReport` transactions that decided the claim."""
    w3 = manager.w3
    decided = [e for e in manager.contract.events.ClaimDecided().get_logs(from_block=0) if e.args.claimId == claim_id]
    transactions = [w3.eth.get_transaction(e.transactionHash) for e in decided]
    assert all(
        manager.contract.decode_function_input(tx.input)[0].fn_name == "submitSignedReport" for tx in transactions
    )
    return [w3.eth.get_transaction_receipt(e.transactionHash) for e in decided]


class TamperingRelay(SignatureRelayClient):
    """A relay that also serves junk: what a malicious relay operator could hand out."""

    def __init__(self, url, junk):
        super().__init__(url)
        self.junk = junk

    def fetch(self, domain, claim_id):
        return self.junk + super().fetch(domain, claim_id)


def test_aggregate__forged_and_wrong_digest_signatures__ignored_until_a_real_quorum(deployed, relay, claim, tmp_path):
    claim_id, report, (designated, other, _) = claim
    domain, w3 = deployed.manager.domain(), deployed.chain.w3
    other_signer = Signer.from_dev_mnemonic(DEV_MNEMONIC, other)
    other_key = other_signer._account.key
    wrong_report = Report(claim_id, int(Decision.APPROVE), 3 * ETH, 9000, *list(vars(report).values())[4:])
    outsider = SignedReport.build(domain, report, OUTSIDER.address, sign_report(report, domain, OUTSIDER.key))
    wrong_digest = SignedReport.build(
        domain, wrong_report, other_signer.address, sign_report(wrong_report, domain, other_key)
    )
    honest = SignatureRelayClient(relay.url)
    honest.publish(outsider)  # a valid signature, but not a member's: the relay cannot know, the node must
    honest.publish(wrong_digest)  # a member's signature over another report
    v, r, s = sign_report(report, domain, other_key)
    forged = {**outsider.wire(), "signer": other_signer.address}  # names a member, signed by the outsider
    high_s = {
        **SignedReport.build(domain, report, other_signer.address, (v, r, s)).wire(),
        "signature": {
            "v": 55 - v,
            "r": "0x" + r.hex(),
            "s": "0x%064x" % (2 * SECP256K1_HALF_N + 1 - int.from_bytes(s, "big")),
        },
    }
    junk = ["not an object", {"claimId": claim_id}, forged, high_s, {**forged, "signature": {"v": 27}}]
    leader = _member(deployed, tmp_path, TamperingRelay(relay.url, junk), designated)
    job = _job(leader, claim_id, deployed.product_id)

    assert leader.submit(job, report) == ASSESSED  # only its own valid signature among the junk: no quorum
    assert _sent(w3, designated) == 0
    follower = _member(deployed, tmp_path, honest, other, fallback_seconds=3600)
    assert follower.submit(_job(follower, claim_id, deployed.product_id), report) == ASSESSED  # not its turn
    assert leader.submit(leader.store.job(leader.chain_id, deployed.manager.address, claim_id), report) == DONE

    [receipt] = _signed_report_txs(deployed.manager, claim_id)
    assert receipt.status == 1 and receipt["from"] == leader.signer.address
    decided = deployed.manager.claim(claim_id)
    assert decided["status"] == DECIDED and decided["payout"] == report.payout
    assert follower.submit(follower.store.job(follower.chain_id, deployed.manager.address, claim_id), report) == DONE
    assert (_sent(w3, designated), _sent(w3, other)) == (1, 0)
    print(f"\ngas of submitSignedReport with 2 of 3 signatures (PARTIAL, through the window): {receipt.gasUsed}")


def test_aggregate__designated_member_silent__next_in_turn_sends_after_the_fallback_delay(
    deployed, relay, claim, tmp_path
):
    claim_id, report, (designated, first_fallback, second_fallback) = claim
    now = [1000.0]
    members = [
        _member(deployed, tmp_path, SignatureRelayClient(relay.url), index, fallback_seconds=10, clock=lambda: now[0])
        for index in (second_fallback, first_fallback)
    ]
    jobs = {m: _job(m, claim_id, deployed.product_id) for m in members}
    for member in members:  # both publish and see the quorum at t = 1000; the designated member never shows up
        assert member.submit(jobs[member], report) == ASSESSED
    now[0] += 10
    assert members[0].submit(jobs[members[0]], report) == ASSESSED  # second in line waits 20 s
    assert members[1].submit(jobs[members[1]], report) == DONE  # first in line waited its 10 s and sent
    assert members[0].submit(jobs[members[0]], report) == DONE  # and the claim is decided for the other
    assert len(_signed_report_txs(deployed.manager, claim_id)) == 1
    w3 = deployed.chain.w3
    assert [_sent(w3, i) for i in (designated, first_fallback, second_fallback)] == [0, 1, 0]


def test_aggregate__crash_between_write_ahead_and_broadcast__restart_sends_the_same_bytes_once(
    deployed, relay, claim, tmp_path
):
    claim_id, report, (designated, other, _) = claim
    follower = _member(deployed, tmp_path, SignatureRelayClient(relay.url), other, fallback_seconds=3600)
    follower.submit(_job(follower, claim_id, deployed.product_id), report)
    leader = _member(deployed, tmp_path, SignatureRelayClient(relay.url), designated)

    def killed(*_):
        raise ConnectionError("killed before the broadcast")

    leader._broadcast_and_wait = killed
    with pytest.raises(ConnectionError):
        leader.submit(_job(leader, claim_id, deployed.product_id), report)
    job = leader.store.job(leader.chain_id, deployed.manager.address, claim_id)
    assert job.state == SENDING and job.raw_tx
    restarted = _member(deployed, tmp_path, SignatureRelayClient(relay.url), designated)
    assert restarted.submit(job, report) == DONE
    [receipt] = _signed_report_txs(deployed.manager, claim_id)
    assert receipt.transactionHash == job.tx_hash
    assert _sent(deployed.chain.w3, designated) == 1


@needs_model
def test_committee_aggregate__three_nodes__one_report_transaction_decides_the_claim(world, model, relay):
    photos = sorted((world["data"] / "images/vds2500/val/moderate").glob("*"))[:2]
    claim_id = submit_photos(world, photos, 3 * ETH)
    nodes = [
        make_node(
            world, model, i, report_mode="aggregate", relay=SignatureRelayClient(relay.url), fallback_seconds=3600
        )
        for i in range(3)
    ]
    manager, w3 = world["manager"], world["chain"].w3
    for _ in range(3):
        for node in nodes:
            asyncio.run(node.run_once())
    assert manager.claim(claim_id)["status"] in (2, 4, 6)  # decided, resolved, or a REFER in the insurer's review
    [receipt] = _signed_report_txs(manager, claim_id)
    assert receipt["from"] == nodes[claim_id % 3].signer.address  # the designated member sent it
    assert sum(w3.eth.get_transaction_count(node.signer.address) for node in nodes) == 1
    assert manager.contract.events.ReportVoted().get_logs(from_block=0) == []
    [decided] = manager.contract.events.ClaimDecided().get_logs(from_block=0)
    for node in nodes:
        job = node.store.job(node.chain_id, manager.address, claim_id)
        assert job.state == DONE
        assert job.outcome["explanation_hash"] == bytes(decided.args.explanationHash).hex()
    print(f"\ngas of the committee's one submitSignedReport: {receipt.gasUsed}")


@needs_model
def test_node_process_aggregate__killed_after_publishing__restarted_sends_once(world, relay, tmp_path):

    claim_id = submit_photos(world, sorted((world["data"] / "images/vds2500/val/severe").glob("*"))[:1], 4 * ETH)
    designated, other = 3 + claim_id % 3, 3 + (claim_id + 1) % 3
    common = {
        "rpc_url": world["chain"].url,
        "contract_address": world["manager"].address,
        "content_store_url": f"file://{world['tmp'] / 'cas'}",
        "confirmations": 0,
        "poll_interval_s": 0.1,
        "model_path": MODEL_PATH,
        "report_mode": "aggregate",
        "signature_relay_url": relay.url,
        "aggregate_fallback_s": 3600,
    }
    env = {
        **os.environ,
        **{f"CLAIMS_ORACLE_{k.upper()}": str(v) for k, v in common.items()},
        "CLAIMS_ORACLE_DB_URL": f"sqlite:///{tmp_path / 'killed.db'}",
        "CLAIMS_ORACLE_STATE_DIR": str(tmp_path),
    }
    del env["CLAIMS_ORACLE_REPORT_MODE"]  # given on the command line instead
    command = [
        sys.executable,
        "-m",
        "oracle.cli",
        "node",
        "--dev-account",
        str(designated),
        "--report-mode",
        "aggregate",
    ]
    leader = Signer.from_dev_mnemonic(DEV_MNEMONIC, designated).address
    manager, w3 = world["manager"], world["chain"].w3
    domain = manager.domain()

    def published() -> bool:
        return any(e["signer"] == leader for e in SignatureRelayClient(relay.url).fetch(domain, claim_id))

    def wait_for(condition, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.1)
        return False

    log_path = tmp_path / "node.log"

    def start() -> subprocess.Popen:
        with log_path.open("ab") as log:
            return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)

    process = start()
    try:
        assert wait_for(published, 120), f"no signature published; node log:\n{log_path.read_text()[-3000:]}"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert manager.claim(claim_id)["status"] == SUBMITTED and w3.eth.get_transaction_count(leader) == 0
    follower_settings = load_settings(**common, db_url=f"sqlite:///{tmp_path / 'follower.db'}", state_dir=tmp_path)
    follower = build_node(follower_settings, Signer.from_dev_mnemonic(DEV_MNEMONIC, other))
    asyncio.run(follower.run_once())  # publishes the second signature; not its turn to send
    assert manager.claim(claim_id)["status"] == SUBMITTED
    process = start()
    try:
        assert wait_for(lambda: manager.claim(claim_id)["status"] != SUBMITTED, 120), (
            f"the restarted node never sent; node log:\n{log_path.read_text()[-3000:]}"
        )
        time.sleep(1.0)  # a second transaction, if any, would go out in the next polls
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    asyncio.run(follower.run_once())
    assert w3.eth.get_transaction_count(leader) == 1
    assert w3.eth.get_transaction_count(follower.signer.address) == 0
    assert len(_signed_report_txs(manager, claim_id)) == 1
    assert follower.store.job(follower.chain_id, manager.address, claim_id).state == DONE
