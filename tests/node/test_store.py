"""The node's database: cursor, idempotent jobs, guarded state moves, reorg orphaning and history order."""

import pytest

from oracle.node.store import ASSESSED, DISCOVERED, ORPHANED, SENDING, NodeStore
from oracle.sources.history import PriorClaim, PriorPhoto

CHAIN, CONTRACT = 31337, "0x" + "ab" * 20


@pytest.fixture
def store(tmp_path):
    """A fresh SQLite store on disk (a real database file)."""
    node_store = NodeStore(f"sqlite:///{tmp_path / 'node.db'}")
    yield node_store
    node_store.close()


def test_cursor__set_and_reopen__survives_restart(tmp_path):
    url = f"sqlite:///{tmp_path / 'node.db'}"
    first = NodeStore(url)
    assert first.cursor(CHAIN, CONTRACT) is None
    first.set_cursor(CHAIN, CONTRACT, 42, b"\x01" * 32)
    first.close()
    assert NodeStore(url).cursor(CHAIN, CONTRACT) == (42, b"\x01" * 32)


def test_add_job__same_claim_twice__recorded_once(store):
    assert store.add_job(CHAIN, CONTRACT, 4097, {"claimId": 4097}, 10, b"\x02" * 32)
    assert not store.add_job(CHAIN, CONTRACT, 4097, {"claimId": 4097, "other": 1}, 11, b"\x03" * 32)
    [job] = store.jobs(CHAIN, CONTRACT)
    assert job.event == {"claimId": 4097} and job.block_number == 10 and job.state == DISCOVERED


def test_update_job__expected_state_mismatch__changes_nothing(store):
    store.add_job(CHAIN, CONTRACT, 4097, {}, 10, b"\x02" * 32)
    assert store.update_job(CHAIN, CONTRACT, 4097, expect_state=DISCOVERED, state=ASSESSED, outcome={"payout": "5"})
    assert not store.update_job(CHAIN, CONTRACT, 4097, expect_state=DISCOVERED, state=SENDING)
    job = store.job(CHAIN, CONTRACT, 4097)
    assert job.state == ASSESSED and job.outcome == {"payout": "5"}


def test_orphan_jobs_after__reorged_blocks__only_unsent_later_jobs_orphaned(store):
    for claim_id, block in ((1, 10), (2, 12), (3, 13)):
        store.add_job(CHAIN, CONTRACT, claim_id, {}, block, b"\x00" * 32)
    store.update_job(CHAIN, CONTRACT, 3, state=SENDING)
    assert store.orphan_jobs_after(CHAIN, CONTRACT, 11) == [2]
    assert store.job(CHAIN, CONTRACT, 2).state == ORPHANED
    assert store.job(CHAIN, CONTRACT, 1).state == DISCOVERED and store.job(CHAIN, CONTRACT, 3).state == SENDING


def test_history__prior_claims_and_photos__strictly_before_in_time_then_id(store):
    store.add_claim(PriorClaim(8193, 2, "car", 90, 100))
    store.add_photo(PriorPhoto(8193, 100, "bafk1", "aa", 2**63 + 5, 7))
    store.add_claim(PriorClaim(4097, 1, "car", 95, 100))
    store.add_claim(PriorClaim(4098, 1, "car", 99, 200))
    store.add_claim(PriorClaim(4098, 1, "car", 99, 200))  # recorded twice: still one claim
    assert [c.claim_id for c in store.prior_claims("car", before=(100, 8193))] == [4097]
    assert [c.claim_id for c in store.prior_claims("car", before=(200, 4098))] == [4097, 8193]
    assert [c.claim_id for c in store.prior_claims("car", before=(201, 1))] == [4097, 8193, 4098]
    assert store.prior_claims("other", before=(10**9, 1)) == []
    [photo] = store.prior_photos(before=(150, 1))
    assert photo.phash == 2**63 + 5 and photo.cid == "bafk1"
    assert list(store.prior_photos(before=(100, 8193))) == []
