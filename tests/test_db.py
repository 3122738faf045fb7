"""The node's database on SQLite and PostgreSQL: cursor, idempotent jobs, guarded moves, reorgs, policies, history."""

import random
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import create_engine, text

from oracle.db import ASSESSED, DISCOVERED, ORPHANED, SENDING, NodeStore
from oracle.sources.history import PriorClaim, PriorPhoto

CHAIN, CONTRACT = 31337, "0x" + "ab" * 20


@pytest.fixture
def store(db_url):
    """A fresh store on a real database: an SQLite file, then PostgreSQL."""
    node_store = NodeStore(db_url)
    yield node_store
    node_store.close()


def test_cursor__set_and_reopen__survives_restart(db_url):
    first = NodeStore(db_url)
    assert first.cursor(CHAIN, CONTRACT) is None
    first.set_cursor(CHAIN, CONTRACT, 42, b"\x01" * 32)
    first.set_cursor(CHAIN, CONTRACT, 43, b"\x02" * 32)
    first.close()
    reopened = NodeStore(db_url)
    assert reopened.cursor(CHAIN, CONTRACT) == (43, b"\x02" * 32)
    reopened.close()


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


def test_add_history__claim_and_photos_at_once_twice__recorded_once_in_time_id_cid_order(store):
    claim = PriorClaim(4097, 1, "car", 95, 100, decision=2, payout=7)
    photos = [PriorPhoto(4097, 100, cid, "aa", 2**63 + 1, 3) for cid in ("bafk2", "bafk1")]
    store.add_history([PriorClaim(8193, 2, "car", 90, 90)], [PriorPhoto(8193, 90, "bafk9", "bb", 1, 2)])
    store.add_history([claim], photos)
    store.add_history([claim], photos)  # a retried batch: still one claim and two photos
    assert store.prior_claims("car", before=(101, 1)) == [
        PriorClaim(8193, 2, "car", 90, 90),
        PriorClaim(4097, 1, "car", 95, 100, 2, 7),
    ]
    assert [p.cid for p in store.prior_photos(before=(101, 1))] == ["bafk9", "bafk1", "bafk2"]


def test_job_bytes__raw_transaction_and_hashes__round_trip_exactly(store):
    raw = bytes(range(256)) * 40  # a signed transaction of ~10 kB with every byte value
    store.add_job(CHAIN, CONTRACT, 2**44 + 4095, {"claimId": 2**44 + 4095}, 2**40, b"\xff" * 32)
    store.update_job(CHAIN, CONTRACT, 2**44 + 4095, state=SENDING, raw_tx=raw, tx_hash=b"\x00" * 31 + b"\x01")
    job = store.job(CHAIN, CONTRACT, 2**44 + 4095)
    assert (job.raw_tx, job.tx_hash, job.block_hash, job.block_number) == (
        raw,
        b"\x00" * 31 + b"\x01",
        b"\xff" * 32,
        2**40,
    )
    assert type(job.raw_tx) is bytes and type(job.block_hash) is bytes


def test_insured_object__set_twice__remembered_per_contract(store):
    assert store.insured_object(CHAIN, CONTRACT, 7) is None
    store.set_insured_object(CHAIN, CONTRACT, 7, b"\x07" * 32)
    store.set_insured_object(CHAIN, CONTRACT, 7, b"\x07" * 32)
    assert store.insured_object(CHAIN, CONTRACT, 7) == b"\x07" * 32
    assert store.insured_object(CHAIN, "0x" + "cd" * 20, 7) is None


def test_two_stores_on_one_database__racing_add_and_move__exactly_one_wins(db_url):
    stores = [NodeStore(db_url) for _ in range(4)]
    barrier = threading.Barrier(len(stores))

    def add(node_store):
        barrier.wait()
        return node_store.add_job(CHAIN, CONTRACT, 4097, {}, 10, b"\x02" * 32)

    def move(node_store):
        barrier.wait()
        return node_store.update_job(CHAIN, CONTRACT, 4097, expect_state=DISCOVERED, state=ASSESSED)

    with ThreadPoolExecutor(len(stores)) as pool:
        assert sorted(pool.map(add, stores)) == [False, False, False, True]
        assert sorted(pool.map(move, stores)) == [False, False, False, True]
    for node_store in stores:
        node_store.close()


def test_stores_opened_at_once_on_a_new_database__all_open_with_one_schema(db_url):
    """A node's workers start together: they create and upgrade the tables one at a time, none fails."""
    if not db_url.startswith("postgresql"):
        pytest.skip("one process serves an SQLite database; several workers share only PostgreSQL")
    barrier = threading.Barrier(4)

    def open_store(_):
        barrier.wait()
        return NodeStore(db_url)

    with ThreadPoolExecutor(4) as pool:
        stores = list(pool.map(open_store, range(4)))
    stores[0].set_cursor(CHAIN, CONTRACT, 7, b"\x01" * 32)
    assert [node_store.cursor(CHAIN, CONTRACT) for node_store in stores] == [(7, b"\x01" * 32)] * 4
    for node_store in stores:
        node_store.close()


def _flip(value: int, bits: int, start: int = 0) -> int:
    """`value` with `bits` bits flipped, spread across its 8 bytes from bit `start` on."""
    for k in range(bits):
        value ^= 1 << ((start + 9 * k) % 64)
    return value


def test_prior_photos__phash_index__returns_exactly_the_full_scan_photos_that_can_match(store):

    rng = random.Random(7)
    target = rng.getrandbits(64)
    near = [_flip(target, bits, start) for bits, start in ((1, 0), (4, 3), (6, 5), (7, 1))]  # 7 bits: every byte
    photos = [
        PriorPhoto(4096 * (i + 1), 100 + i, f"bafk{i}", f"{i:064x}", phash, 0)
        for i, phash in enumerate(near + [rng.getrandbits(64) for _ in range(60)])
    ]
    photos.append(PriorPhoto(4096 * 99, 50, "bafkcopy", "ab" * 32, rng.getrandbits(64), 0))  # same bytes, other hash
    store.add_history([], photos)
    like = [("ab" * 32, target)]
    everything = list(store.prior_photos(before=(10**9, 0)))
    for max_distance in range(8):
        indexed = list(store.prior_photos(before=(10**9, 0), like=like, max_distance=max_distance))
        wanted = [p for p in everything if p.sha256 == "ab" * 32 or bin(p.phash ^ target).count("1") <= max_distance]
        assert set(wanted) <= set(indexed) and len(indexed) < len(everything)
        assert indexed == [p for p in everything if p in set(indexed)]  # the full scan's order
    assert list(store.prior_photos(before=(10**9, 0), like=like, max_distance=8)) == everything  # no index: all
    assert list(store.prior_photos(before=(10**9, 0), like=[], max_distance=6)) == []


def test_prior_photos__photo_stored_again_with_another_hash__index_follows_the_new_hash(store):
    store.add_photo(PriorPhoto(4097, 100, "bafk1", "aa" * 32, 0, 0))
    store.add_photo(PriorPhoto(4097, 100, "bafk1", "aa" * 32, 2**64 - 1, 0))
    assert list(store.prior_photos(before=(200, 0), like=[("bb" * 32, 0)], max_distance=3)) == []
    [photo] = store.prior_photos(before=(200, 0), like=[("bb" * 32, 2**64 - 1)], max_distance=3)
    assert photo.phash == 2**64 - 1


def test_node_store__database_from_before_the_phash_index__indexed_when_opened(tmp_path):

    url = f"sqlite:///{tmp_path / 'old.db'}"
    NodeStore(url).add_photo(PriorPhoto(4097, 100, "bafk1", "aa" * 32, 12345, 0))
    engine = create_engine(url)
    with engine.begin() as connection:  # what an older release left behind: photos without index rows
        connection.execute(text("DROP TABLE history_photo_bands"))
        connection.execute(text("DROP INDEX ix_history_photos_sha256"))
    engine.dispose()
    reopened = NodeStore(url)
    [photo] = reopened.prior_photos(before=(200, 0), like=[("bb" * 32, 12345 ^ 0b101)], max_distance=2)
    assert photo.cid == "bafk1"
    reopened.close()
