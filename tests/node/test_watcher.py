"""The claim watcher on a real anvil node: confirmations, restart, idempotence and reorgs."""

import pytest
from eth_utils import keccak

from oracle.chain.deploy import ETH, submit_claim
from oracle.db import DISCOVERED, ORPHANED, NodeStore
from oracle.node.watcher import ClaimWatcher


@pytest.fixture
def store(db_url):
    """A node database: an SQLite file, then PostgreSQL."""
    node_store = NodeStore(db_url)
    yield node_store
    node_store.close()


def _claim(deployed, n: int) -> int:
    w3 = deployed.chain.w3
    now = w3.eth.get_block("latest").timestamp
    return submit_claim(
        deployed.manager,
        deployed.holder,
        deployed.policy_id,
        keccak(b"manifest-%d" % n),
        f"ipfs://manifest-{n}",
        now,
        1,
        41_600_000,
        -93_600_000,
        2 * ETH,
    )


def _mine(w3, blocks: int) -> None:
    for _ in range(blocks):
        w3.provider.make_request("evm_mine", [])


def test_poll__claim_below_confirmation_depth__waits_then_records_once(deployed, store):
    watcher = ClaimWatcher(deployed.manager, store, confirmations=2)
    claim_id = _claim(deployed, 1)
    assert watcher.poll() == []  # mined but not yet 2 blocks deep
    _mine(deployed.chain.w3, 2)
    assert watcher.poll() == [claim_id]
    assert watcher.poll() == []
    [job] = store.jobs(watcher.chain_id, deployed.manager.address)
    assert job.claim_id == claim_id and job.state == DISCOVERED
    assert job.event["evidence_root"] == "0x" + keccak(b"manifest-1").hex()
    assert job.event["claimed_amount"] == 2 * ETH


def test_poll__restarted_watcher__resumes_from_cursor_without_duplicates(deployed, store, db_url):
    first = ClaimWatcher(deployed.manager, store, confirmations=0)
    claim_a = _claim(deployed, 1)
    assert first.poll() == [claim_a]
    claim_b = _claim(deployed, 2)
    reopened = NodeStore(db_url)
    restarted = ClaimWatcher(deployed.manager, reopened, confirmations=0)
    assert restarted.poll() == [claim_b]
    reopened.close()
    assert [job.claim_id for job in store.jobs(first.chain_id, deployed.manager.address)] == [claim_a, claim_b]


def test_poll__reorg_removes_claim__job_orphaned_and_replacement_recorded(deployed, store):
    w3 = deployed.chain.w3
    watcher = ClaimWatcher(deployed.manager, store, confirmations=1, reorg_depth=8)
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]
    doomed = _claim(deployed, 1)
    _mine(w3, 1)
    assert watcher.poll() == [doomed]
    w3.provider.make_request("evm_revert", [snapshot])  # the claim's block leaves the chain
    replacement = _claim(deployed, 2)  # same policy: the same claim id, other evidence
    _mine(w3, 3)
    assert replacement == doomed
    assert watcher.poll() == [replacement]
    job = store.job(watcher.chain_id, deployed.manager.address, replacement)
    assert job.state == DISCOVERED and job.event["evidence_root"] == "0x" + keccak(b"manifest-2").hex()


def test_poll__reorg_without_replacement__job_stays_orphaned(deployed, store):
    w3 = deployed.chain.w3
    watcher = ClaimWatcher(deployed.manager, store, confirmations=1, reorg_depth=8)
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]
    doomed = _claim(deployed, 1)
    _mine(w3, 1)
    watcher.poll()
    w3.provider.make_request("evm_revert", [snapshot])
    _mine(w3, 4)
    assert watcher.poll() == []
    assert store.job(watcher.chain_id, deployed.manager.address, doomed).state == ORPHANED
