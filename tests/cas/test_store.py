"""Tests for content ids and the content-addressed stores."""

from __future__ import annotations

import hashlib
import multiprocessing
import threading

import pytest
from eth_utils import keccak

from oracle.cas import (
    BlobTooLargeError,
    ContentIntegrityError,
    ContentNotFoundError,
    ContentStore,
    InvalidCidError,
    LocalContentStore,
    MemoryContentStore,
    cid_for_bytes,
    digest_from_cid,
    is_cid,
    open_store,
)

HELLO_WORLD_CID = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
EMPTY_CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"


def test_cid_for_bytes__hello_world__matches_ipfs_raw_leaves_cid():
    assert cid_for_bytes(b"hello world") == HELLO_WORLD_CID


def test_cid_for_bytes__empty__matches_ipfs_empty_raw_cid():
    assert cid_for_bytes(b"") == EMPTY_CID


def test_cid_for_bytes__agrees_with_py_cid_library():
    cid_lib = pytest.importorskip("cid")
    data = b"claims oracle"
    multihash = bytes([0x12, 0x20]) + hashlib.sha256(data).digest()
    expected = cid_lib.make_cid(1, "raw", multihash).encode("base32").decode()
    assert cid_for_bytes(data) == expected


def test_digest_from_cid__valid__returns_sha256():
    assert digest_from_cid(HELLO_WORLD_CID) == hashlib.sha256(b"hello world").digest()


def test_is_cid__dag_pb_sha256_cidv1__accepted():
    assert is_cid("bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi")


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "../../etc/passwd",
        HELLO_WORLD_CID.upper(),
        "z" + HELLO_WORLD_CID[1:],
        HELLO_WORLD_CID[:-1],
        "bafyreigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",  # dag-cbor CIDv1, neither raw nor dag-pb
    ],
)
def test_digest_from_cid__not_a_raw_or_dag_pb_sha256_cid__raises(bad):
    with pytest.raises(InvalidCidError):
        digest_from_cid(bad)
    assert not is_cid(bad)


@pytest.fixture(params=["local", "memory"])
def store(request, tmp_path) -> ContentStore:
    if request.param == "local":
        return LocalContentStore(tmp_path / "cas", max_blob_bytes=1024)
    return MemoryContentStore(max_blob_bytes=1024)


def test_put__then_get__returns_same_bytes_and_indexes_keccak(store):
    cid = store.put(b"hello world")
    assert cid == HELLO_WORLD_CID
    assert store.has(cid)
    assert store.get(cid) == b"hello world"
    assert store.cid_for_keccak(keccak(b"hello world")) == cid
    assert store.cid_for_keccak("0x" + keccak(b"hello world").hex()) == cid


def test_put__same_bytes_twice__is_idempotent(store):
    assert store.put(b"abc") == store.put(b"abc")
    assert store.get(store.put(b"abc")) == b"abc"


def test_get__missing__raises_not_found_naming_cid(store):
    with pytest.raises(ContentNotFoundError, match=EMPTY_CID):
        store.get(EMPTY_CID)
    assert not store.has(EMPTY_CID)
    assert store.cid_for_keccak(keccak(b"nothing")) is None


def test_put__oversized__raises_with_sizes(store):
    store.put(b"x" * 1024)
    with pytest.raises(BlobTooLargeError, match="1025 bytes"):
        store.put(b"x" * 1025)


def test_get__invalid_cid__raises_invalid_cid(store):
    with pytest.raises(InvalidCidError):
        store.get("../secret")


def test_cid_for_keccak__wrong_length__raises(store):
    with pytest.raises(ValueError, match="32 bytes"):
        store.cid_for_keccak(b"\x00" * 31)


def test_local_get__tampered_file__raises_integrity_error(tmp_path):
    store = LocalContentStore(tmp_path)
    cid = store.put(b"original")
    path = tmp_path / "blobs" / cid[-2:] / cid
    path.chmod(0o644)
    path.write_bytes(b"tampered")
    with pytest.raises(ContentIntegrityError, match=cid):
        store.get(cid)


def test_local_put__leaves_no_temp_files(tmp_path):
    store = LocalContentStore(tmp_path)
    for i in range(5):
        store.put(bytes([i]) * 10)
    leftovers = [p for p in tmp_path.rglob("*") if p.name.startswith(".tmp-")]
    assert leftovers == []


def test_local_put__concurrent_writers__all_succeed_with_one_copy(tmp_path):
    store = LocalContentStore(tmp_path)
    payloads = [bytes([i % 3]) * 5000 for i in range(24)]
    results: list[str] = []
    errors: list[BaseException] = []

    def writer(data: bytes) -> None:
        try:
            results.append(LocalContentStore(tmp_path).put(data))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(p,)) for p in payloads]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert set(results) == {cid_for_bytes(bytes([i]) * 5000) for i in range(3)}
    assert len(list((tmp_path / "blobs").rglob("b*"))) == 3
    for i in range(3):
        assert store.get(cid_for_bytes(bytes([i]) * 5000)) == bytes([i]) * 5000


def test_open_store__file_url__gives_local_store_at_path(tmp_path):
    store = open_store(f"file://{tmp_path}/cas", max_blob_bytes=10)
    assert isinstance(store, LocalContentStore)
    assert store.root == tmp_path / "cas"
    assert store.max_blob_bytes == 10


def test_open_store__memory_url__gives_memory_store():
    assert isinstance(open_store("memory://"), MemoryContentStore)


@pytest.mark.parametrize("url", ["ipfs://localhost:5001", "/no/scheme", "file://host/path"])
def test_open_store__unknown_scheme_or_bad_url__raises_naming_url(url):
    with pytest.raises(ValueError, match="scheme|file store URL"):
        open_store(url)


def test_local_put__over_a_tampered_copy__repairs_it(tmp_path):
    store = LocalContentStore(tmp_path)
    cid = store.put(b"original")
    path = tmp_path / "blobs" / cid[-2:] / cid
    path.write_bytes(b"tampered")
    assert store.put(b"original") == cid
    assert store.get(cid) == b"original"


def _put_many(root: str, seed: int) -> list[str]:
    store = LocalContentStore(root)
    return [store.put(bytes([i % 5]) * (1000 + i % 5)) for i in range(seed, seed + 40)]


def test_local_put__concurrent_processes__same_ids_and_intact_blobs(tmp_path):

    with multiprocessing.get_context("fork").Pool(2) as pool:
        results = pool.starmap(_put_many, [(str(tmp_path), 0), (str(tmp_path), 3)])
    store = LocalContentStore(tmp_path)
    cids = set(results[0]) | set(results[1])
    assert len(cids) == 5
    for i in range(5):
        assert store.get(cid_for_bytes(bytes([i]) * (1000 + i))) == bytes([i]) * (1000 + i)
    assert not [p for p in tmp_path.rglob(".tmp-*")]
