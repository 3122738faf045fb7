"""A stuck vote is replaced at its nonce with higher fees (written down first), up to a cap, across restarts."""

import logging

import pytest
from eth_account.typed_transactions import TypedTransaction
from hexbytes import HexBytes

from oracle.db import ASSESSED, DONE, SENDING, NodeStore
from oracle.node.submitter import VoteSubmitter
from tests.chain_fixtures import submit_agreed_claim
from tests.node.test_submitter import _assessed_job, _signer, _votes_mined


@pytest.fixture
def store(tmp_path):
    """A node database in an SQLite file."""
    node_store = NodeStore(f"sqlite:///{tmp_path / 'node.db'}")
    yield node_store
    node_store.close()


def _fields(raw: bytes) -> dict:
    return TypedTransaction.from_bytes(HexBytes(raw)).as_dict()


def _rpc(deployed, method, *params):
    return deployed.chain.w3.provider.make_request(method, list(params))


def _stuck_vote(deployed, store, submitter, base_fee_rises=True):
    """A vote sent while blocks are mined on request only; if `base_fee_rises`, the next block's base fee rises
    above its maxFeePerGas and the block leaves it out (anvil then drops it from its pool)."""
    claim_id, report = submit_agreed_claim(deployed)
    _rpc(deployed, "evm_setAutomine", False)
    assert submitter.submit_many([(_assessed_job(store, deployed, claim_id), report)]) == {claim_id: SENDING}
    job = store.job(submitter.chain_id, deployed.manager.address, claim_id)
    if base_fee_rises:
        _rpc(deployed, "anvil_setNextBlockBaseFeePerGas", hex(_fields(job.raw_tx)["maxFeePerGas"] * 4))
        _rpc(deployed, "evm_mine")
    assert deployed.manager.receipt(job.tx_hash) is None  # not mined
    return claim_id, report, job


def test_replace__base_fee_rose__same_nonce_higher_fees_logged_then_mined(deployed, store, caplog):
    signer = _signer(3)
    submitter = VoteSubmitter(deployed.manager, store, signer)
    claim_id, report, stuck = _stuck_vote(deployed, store, submitter)
    submitter.replace_after = 0.0  # the vote is overdue now (no clock in the test)
    with caplog.at_level(logging.INFO, logger="oracle.node.submitter"):
        assert submitter.submit_many([(stuck, report)]) == {claim_id: SENDING}
    replaced = store.job(submitter.chain_id, deployed.manager.address, claim_id)
    old, new = _fields(stuck.raw_tx), _fields(replaced.raw_tx)
    assert replaced.state == SENDING and replaced.tx_hash != stuck.tx_hash  # written down before it was sent
    assert new["nonce"] == old["nonce"]
    assert new["maxFeePerGas"] * 10 >= old["maxFeePerGas"] * 11
    assert new["maxPriorityFeePerGas"] * 10 >= old["maxPriorityFeePerGas"] * 11
    base = int(deployed.chain.w3.eth.get_block("latest")["baseFeePerGas"])
    assert new["maxFeePerGas"] >= 2 * base  # enough for the block that left the first one out
    assert f"replaced by {replaced.tx_hash.hex()}" in caplog.text
    _rpc(deployed, "evm_mine")
    assert submitter.submit_many([(replaced, report)]) == {claim_id: DONE}
    assert deployed.manager.receipt(replaced.tx_hash)["status"] == 1
    assert deployed.manager.receipt(stuck.tx_hash) is None
    assert _votes_mined(deployed, claim_id) == [signer.address]


def test_replace__fees_at_the_cap__sends_the_same_bytes_and_says_so(deployed, store, caplog):
    submitter = VoteSubmitter(deployed.manager, store, _signer(3))
    claim_id, report, stuck = _stuck_vote(deployed, store, submitter)
    submitter.replace_after, submitter.max_fee_cap = 0.0, _fields(stuck.raw_tx)["maxFeePerGas"]
    with caplog.at_level(logging.INFO, logger="oracle.node.submitter"):
        assert submitter.submit_many([(stuck, report)]) == {claim_id: SENDING}
    assert store.job(submitter.chain_id, deployed.manager.address, claim_id).tx_hash == stuck.tx_hash
    assert "fees are at the cap" in caplog.text


def test_replace__restart_after_writing_the_replacement_while_the_old_vote_was_mined__one_vote_job_done(
    deployed, store
):
    signer = _signer(3)
    submitter = VoteSubmitter(deployed.manager, store, signer)
    claim_id, report, stuck = _stuck_vote(deployed, store, submitter, base_fee_rises=False)
    # the process writes the replacement down and dies before sending it; meanwhile the old vote is mined
    raw, tx_hash = submitter.replacement(stuck.raw_tx)
    store.update_job(submitter.chain_id, deployed.manager.address, claim_id, raw_tx=raw, tx_hash=tx_hash)
    _rpc(deployed, "evm_mine")
    assert deployed.manager.receipt(stuck.tx_hash)["status"] == 1
    _rpc(deployed, "evm_setAutomine", True)

    restarted = VoteSubmitter(deployed.manager, store, signer)
    job = store.job(submitter.chain_id, deployed.manager.address, claim_id)
    assert restarted.submit_many([(job, report)]) == {claim_id: ASSESSED}  # another version took the nonce
    job = store.job(submitter.chain_id, deployed.manager.address, claim_id)
    assert restarted.submit_many([(job, report)]) == {claim_id: DONE}  # building it again: "already voted"
    assert _votes_mined(deployed, claim_id) == [signer.address]
    assert deployed.chain.w3.eth.get_transaction_count(signer.address) == 1


def test_replace__restart_after_writing_the_replacement__sends_the_written_replacement(deployed, store):
    signer = _signer(3)
    submitter = VoteSubmitter(deployed.manager, store, signer)
    claim_id, report, stuck = _stuck_vote(deployed, store, submitter)
    raw, tx_hash = submitter.replacement(stuck.raw_tx)
    store.update_job(submitter.chain_id, deployed.manager.address, claim_id, raw_tx=raw, tx_hash=tx_hash)

    restarted = VoteSubmitter(deployed.manager, store, signer)
    job = store.job(submitter.chain_id, deployed.manager.address, claim_id)
    assert restarted.submit_many([(job, report)]) == {claim_id: SENDING}  # the written-down replacement went out
    _rpc(deployed, "evm_mine")
    assert restarted.submit_many([(job, report)]) == {claim_id: DONE}
    assert deployed.manager.receipt(tx_hash)["status"] == 1
    assert _votes_mined(deployed, claim_id) == [signer.address]
