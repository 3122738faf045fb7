"""Exactly-once vote submission on a real anvil node, including crashes at each point of the send."""

import json

import pytest
from eth_account import Account
from eth_utils import keccak

from oracle.chain.deploy import ETH, submit_claim
from oracle.chain.report import Decision, Report, report_deadline
from oracle.db import ASSESSED, DONE, SENDING, NodeStore
from oracle.dev.devchain import DEV_MNEMONIC
from oracle.node.signer import Signer
from oracle.node.submitter import VoteSubmitter
from tests.chain_fixtures import MODEL_HASH, TERMS_HASH, submit_agreed_claim

DECIDED = 2


@pytest.fixture
def store(db_url):
    """A node database: an SQLite file, then PostgreSQL."""
    node_store = NodeStore(db_url)
    yield node_store
    node_store.close()


@pytest.fixture
def claim(deployed):
    """A submitted claim and the report the committee agrees on."""
    claim_id, report = submit_agreed_claim(deployed)
    return claim_id, report


def _assessed_job(store, deployed, claim_id):
    chain_id = deployed.chain.w3.eth.chain_id
    store.add_job(chain_id, deployed.manager.address, claim_id, {}, 1, b"\x00" * 32)
    store.update_job(chain_id, deployed.manager.address, claim_id, state=ASSESSED)
    return store.job(chain_id, deployed.manager.address, claim_id)


def _signer(index):
    return Signer.from_dev_mnemonic(DEV_MNEMONIC, index)  # oracles are anvil accounts 3, 4 and 5


def _write_ahead(deployed, store, submitter, signer, claim_id, report):
    """Write down a signed vote exactly as `submit` does before broadcasting, as if the process died then."""
    raw, tx_hash = submitter.sign_transaction(deployed.manager.vote_report_tx(report, signer.address))
    store.update_job(submitter.chain_id, deployed.manager.address, claim_id, state=SENDING, raw_tx=raw, tx_hash=tx_hash)
    return raw, tx_hash


def _votes_mined(deployed, claim_id):
    events = deployed.manager.contract.events.ReportVoted().get_logs(from_block=0)
    return [e.args.oracle for e in events if e.args.claimId == claim_id]


def test_submit__assessed_job__one_vote_mined_and_job_done(deployed, store, claim):
    claim_id, report = claim
    submitter = VoteSubmitter(deployed.manager, store, _signer(3))
    assert submitter.submit(_assessed_job(store, deployed, claim_id), report) == DONE
    assert _votes_mined(deployed, claim_id) == [_signer(3).address]


def test_submit__two_members__quorum_records_decision(deployed, tmp_path, claim):
    claim_id, report = claim
    for index in (3, 4):
        member_store = NodeStore(f"sqlite:///{tmp_path / f'node{index}.db'}")
        VoteSubmitter(deployed.manager, member_store, _signer(index)).submit(
            _assessed_job(member_store, deployed, claim_id), report
        )
    decided = deployed.manager.claim(claim_id)
    assert decided["status"] == DECIDED and decided["payout"] == 2 * ETH
    late_store = NodeStore(f"sqlite:///{tmp_path / 'node5.db'}")
    assert (
        VoteSubmitter(deployed.manager, late_store, _signer(5)).submit(
            _assessed_job(late_store, deployed, claim_id), report
        )
        == DONE
    )
    assert len(_votes_mined(deployed, claim_id)) == 2  # the third member sent nothing


def test_submit__crash_after_write_ahead_before_broadcast__resumes_with_same_bytes(deployed, store, claim):
    claim_id, report = claim
    signer = _signer(3)
    submitter = VoteSubmitter(deployed.manager, store, signer)
    _assessed_job(store, deployed, claim_id)
    raw, tx_hash = _write_ahead(deployed, store, submitter, signer, claim_id, report)
    restarted = VoteSubmitter(deployed.manager, store, signer)
    assert restarted.submit(store.job(submitter.chain_id, deployed.manager.address, claim_id), report) == DONE
    assert deployed.chain.w3.eth.get_transaction_receipt(tx_hash).status == 1
    assert _votes_mined(deployed, claim_id) == [signer.address]


def test_submit__crash_after_broadcast__recognises_mined_vote(deployed, store, claim):
    claim_id, report = claim
    signer = _signer(3)
    submitter = VoteSubmitter(deployed.manager, store, signer)
    _assessed_job(store, deployed, claim_id)
    raw, _ = _write_ahead(deployed, store, submitter, signer, claim_id, report)
    deployed.chain.w3.eth.send_raw_transaction(raw)  # it went out; the process died before recording DONE
    deployed.chain.w3.provider.make_request("evm_mine", [])
    job = store.job(submitter.chain_id, deployed.manager.address, claim_id)
    assert VoteSubmitter(deployed.manager, store, signer).submit(job, report) == DONE
    assert _votes_mined(deployed, claim_id) == [signer.address]


def test_signer__repr__never_shows_the_key():
    signer = _signer(3)
    assert repr(signer) == f"Signer({signer.address})"
    assert signer._account.key.hex() not in repr(signer)


def test_signer__keystore__decrypts_and_rejects_wrong_password(tmp_path):
    account = Account.create()
    path = tmp_path / "key.json"
    path.write_text(json.dumps(Account.encrypt(account.key, "correct horse")))
    assert Signer.from_keystore(path, "correct horse").address == account.address
    with pytest.raises(ValueError, match="wrong password"):
        Signer.from_keystore(path, "wrong")


def _claims(deployed, count):
    """`count` submitted claims on one policy, each with the report the committee agrees on."""
    w3, reports = deployed.chain.w3, []
    for n in range(count):
        root = keccak(b"manifest-%d" % n)
        claim_id = submit_claim(
            deployed.manager,
            deployed.holder,
            deployed.policy_id,
            root,
            f"ipfs://m{n}",
            w3.eth.get_block("latest").timestamp,
            1,
            0,
            0,
            3 * ETH,
        )
        reports.append(
            Report(
                claim_id,
                int(Decision.PARTIAL),
                2 * ETH,
                8000,
                keccak(b"explanation-%d" % n),
                MODEL_HASH,
                root,
                TERMS_HASH,
                1,
                report_deadline(w3.eth.get_block("latest").timestamp),
            )
        )
    return reports


def test_submit_many__several_assessed_jobs__one_vote_each_at_consecutive_nonces(deployed, store):
    reports = _claims(deployed, 3)
    signer = _signer(3)
    items = [(_assessed_job(store, deployed, report.claimId), report) for report in reports]
    states = VoteSubmitter(deployed.manager, store, signer).submit_many(items)
    assert states == {report.claimId: DONE for report in reports}
    for report in reports:
        assert _votes_mined(deployed, report.claimId) == [signer.address]
    assert deployed.chain.w3.eth.get_transaction_count(signer.address) == 3


def test_submit_many__crash_during_broadcast__restart_sends_the_written_bytes_once(deployed, store):
    reports = _claims(deployed, 2)
    signer = _signer(3)
    submitter = VoteSubmitter(deployed.manager, store, signer)
    items = [(_assessed_job(store, deployed, report.claimId), report) for report in reports]
    sent = []

    def dies_after_first(raw):
        if sent:
            raise ConnectionError("killed while broadcasting")
        sent.append(raw)
        deployed.manager.rpc("eth_sendRawTransaction", ["0x" + raw.hex()])

    submitter.client.send_raw = dies_after_first
    with pytest.raises(ConnectionError):
        submitter.submit_many(items)
    del submitter.client.send_raw
    jobs = [store.job(submitter.chain_id, deployed.manager.address, report.claimId) for report in reports]
    assert [job.state for job in jobs] == [SENDING, SENDING]  # both written down before either went out

    restarted = VoteSubmitter(deployed.manager, store, signer)
    assert restarted.submit_many(list(zip(jobs, reports, strict=True))) == {report.claimId: DONE for report in reports}
    for report, job in zip(reports, jobs, strict=True):
        assert _votes_mined(deployed, report.claimId) == [signer.address]
        assert deployed.chain.w3.eth.get_transaction_receipt(job.tx_hash).status == 1  # the written-down bytes
    assert deployed.chain.w3.eth.get_transaction_count(signer.address) == 2  # those two transactions, no more
