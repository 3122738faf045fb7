"""IPFS content: UnixFS ids equal to Helia's, two real peers exchanging big files, a hostile trustless gateway."""

from __future__ import annotations

import json
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.request import Request, urlopen

import pytest
from eth_utils import keccak

from oracle.adapter.app import create_app
from oracle.cas import (
    ContentIntegrityError,
    ContentNotFoundError,
    GatewayContentStore,
    IpfsContentStore,
    IpfsPeer,
    cid_for_bytes,
    open_store,
)
from oracle.cas.cid import DAG_PB_CODEC, RAW_CODEC, codec_of, raw_cid
from oracle.cas.ipfs import KeccakIndex, peer_store_url
from oracle.cas.peer import api_request
from oracle.cas.unixfs import CHUNK_BYTES, DagError, build_file, decode_node, file_children
from oracle.claim.wiring import build_assessor
from oracle.db import NodeStore
from oracle.explain.canonical import canonical_json
from oracle.settings import load_settings

MB = 1024 * 1024


def blob(size: int, seed: int) -> bytes:
    """Deterministic incompressible bytes."""
    return random.Random(seed).randbytes(size)


@pytest.fixture(scope="module")
def peers(tmp_path_factory):
    """Two Helia peers on loopback with separate repositories, the second dialled to the first."""
    root = tmp_path_factory.mktemp("ipfs")
    first, second = IpfsPeer(root / "a"), IpfsPeer(root / "b")
    with first, second:
        second.connect(first.multiaddr)
        yield first, second, root


def helia_cid(peer: IpfsPeer, data: bytes) -> str:
    status, body = api_request(peer.api_url, "POST", "/add", data)
    assert status == 200, body
    return json.loads(body)["cid"]


SIZES = [0, 1, CHUNK_BYTES, CHUNK_BYTES + 1, 5 * MB, 10 * MB]


@pytest.mark.parametrize("size", SIZES)
def test_cid_for_bytes__size__equals_the_cid_helia_gives(peers, size):
    first, _, _ = peers
    data = blob(size, size)
    assert cid_for_bytes(data) == helia_cid(first, data)


def test_cid_for_bytes__one_chunk_or_less__is_the_raw_sha256_cid():
    for size in (0, 1, CHUNK_BYTES):
        data = blob(size, 7)
        assert cid_for_bytes(data) == raw_cid(data)
        assert codec_of(cid_for_bytes(data)) == RAW_CODEC
    assert codec_of(cid_for_bytes(blob(CHUNK_BYTES + 1, 7))) == DAG_PB_CODEC


def test_build_file__more_than_174_chunks__makes_a_second_level_that_decodes_back():
    data = blob(175 * CHUNK_BYTES + 3, 11)
    blocks: dict[str, bytes] = {}
    root = build_file(data, lambda cid, block: blocks.__setitem__(cid, block))
    inline, links = file_children(blocks[root], len(data))
    assert inline == b"" and len(links) == 2
    assert [len(decode_node(blocks[link.cid]).links) for link in links] == [174, 2]


def test_decode_node__garbage__raises_dag_error():
    with pytest.raises(DagError):
        file_children(b"\x0a\xff\xff\xff\xff\x0f", 10)


@pytest.mark.parametrize("size", [5 * MB, 10 * MB])
def test_two_peers__big_file__moves_over_bitswap_by_unixfs_cid(peers, size):
    first, second, root = peers
    sender = IpfsContentStore(first.api_url, root / f"index-a-{size}.sqlite", max_blob_bytes=16 * MB)
    receiver = open_store(peer_store_url(second.api_url, root / f"index-b-{size}.sqlite"), max_blob_bytes=16 * MB)
    data = blob(size, size + 1)
    cid = sender.put(data)
    assert not receiver.has(cid)
    assert receiver.get(cid) == data
    assert receiver.has(cid)
    assert receiver.cid_for_keccak(keccak(data)) == cid


def test_peer_store__unknown_cid__not_found_after_the_timeout(peers):
    _, second, root = peers
    store = IpfsContentStore(second.api_url, root / "index-missing.sqlite", fetch_timeout_s=0.5)
    with pytest.raises(ContentNotFoundError):
        store.get(cid_for_bytes(b"nobody has this"))


def test_peer_api__foreign_host_header__refused(peers):
    first, _, _ = peers
    request = Request(f"{first.api_url}/id", headers={"Host": "attacker.example"})
    with pytest.raises(Exception, match="403"):
        urlopen(request, timeout=5)


def test_gateway_store__helia_raw_block_endpoint__reassembles_a_big_file(peers):
    first, _, _ = peers
    data = blob(3 * MB + 5, 99)
    cid = helia_cid(first, data)
    store = GatewayContentStore(first.api_url, max_blob_bytes=16 * MB)
    assert store.get(cid) == data
    assert store.cid_for_keccak(keccak(data)) == cid


class _HostileGateway(BaseHTTPRequestHandler):
    """Serves a real peer's blocks, but flips one byte in every leaf block it sends."""

    upstream = ""

    def do_GET(self):  # noqa: N802 - the http.server name
        with urlopen(Request(self.upstream + self.path, headers={"Accept": "application/vnd.ipld.raw"})) as answer:
            block = bytearray(answer.read())
        if self.path.startswith("/ipfs/bafk") and block:
            block[len(block) // 2] ^= 0xFF
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.ipld.raw")
        self.send_header("Content-Length", str(len(block)))
        self.end_headers()
        self.wfile.write(bytes(block))

    def log_message(self, *args):
        pass


def test_hostile_gateway_substituted_block_is_refused(peers):
    first, _, _ = peers
    data = blob(CHUNK_BYTES * 2 + 10, 5)
    cid = helia_cid(first, data)
    _HostileGateway.upstream = first.api_url
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HostileGateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        store = GatewayContentStore(f"http://127.0.0.1:{server.server_port}", max_blob_bytes=16 * MB)
        with pytest.raises(ContentIntegrityError):
            store.get(cid)
        with pytest.raises(ContentIntegrityError):
            store.get(helia_cid(first, b"x" * 10))  # one raw block, also flipped
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.asyncio
async def test_announce__bad_bodies__400_and_a_non_document__refused(peers, tmp_path, aiohttp_client):
    first, second, _ = peers
    gateway_store = IpfsContentStore(first.api_url, tmp_path / "gateway.sqlite")
    settings = load_settings(state_dir=tmp_path, db_url=f"sqlite:///{tmp_path / 'g.db'}")
    history = NodeStore(settings.db_url)
    assessor = build_assessor(settings, history, None, sources=[], store=gateway_store)
    client = await aiohttp_client(create_app(settings, assessor, gateway_store))
    for body in ({}, {"cids": []}, {"cids": ["nope"]}, {"cids": [cid_for_bytes(b"x")] * 33}, [1]):
        assert (await client.post("/content/announce", json=body)).status == 400
    node = IpfsContentStore(second.api_url, tmp_path / "node.sqlite")
    document, garbage = b'{"decision":1}', b"\x00not a document"
    cids = [node._add(document), node._add(garbage)]
    answer = await (await client.post("/content/announce", json={"cids": cids})).json()
    assert answer["accepted"] == [cids[0]] and [r["cid"] for r in answer["refused"]] == [cids[1]]
    assert gateway_store.cid_for_keccak(keccak(document)) == cids[0]
    assert gateway_store.cid_for_keccak(keccak(garbage)) is None
    # a sealed heat map is ciphertext: taken when an explanation announced with it names it, and only then
    sealed_map, stray = b"\x9a sealed heat map", b"\x9b another ciphertext"
    map_cid, stray_cid = node._add(sealed_map), node._add(stray)
    explanation = canonical_json({"findings": [{"heatmapCid": map_cid, "index": 0}]})
    answer = await (
        await client.post("/content/announce", json={"cids": [map_cid, node._add(explanation), stray_cid]})
    ).json()
    assert map_cid in answer["accepted"] and [r["cid"] for r in answer["refused"]] == [stray_cid]
    assert gateway_store.cid_for_keccak(keccak(sealed_map)) == map_cid
    assessor.close()
    history.close()


def test_holds__shared_photo__kept_until_every_claim_holding_it_is_final_and_past_retention(tmp_path):
    index = KeccakIndex(tmp_path / "index.sqlite")
    index.pinned("manifest-a", 0.0)
    index.pinned("photo", 0.0)
    index.pinned("loose", 0.0)
    index.hold("1:0xabc:4097", ["manifest-a", "photo"], 100.0)
    index.hold("1:0xabc:8193", ["photo"], 500.0)  # the same photo, claimed again
    index.hold("1:0xdef:4097", ["other"], 100.0)
    assert index.pins_before(1_000.0, 10) == ["loose"]  # age alone releases only what no claim holds
    assert sorted(index.claims_not_final("1:0xabc:", 10)) == ["1:0xabc:4097", "1:0xabc:8193"]
    index.final("1:0xabc:4097", 1_000.0)
    assert index.claims_not_final("1:0xabc:", 10) == ["1:0xabc:8193"]
    assert index.released(1_099.0, 10) == []
    assert index.released(1_100.0, 10) == ["manifest-a"]  # the photo waits for the second claim
    index.final("1:0xabc:8193", 2_000.0)
    assert index.released(2_499.0, 10) == []
    assert index.released(2_500.0, 10) == ["photo"]
    assert index.released(10_000.0, 10) == []  # released once; the other contract's hold is untouched
    assert index.claims_not_final("1:0xdef:", 10) == ["1:0xdef:4097"]
    index.close()


def test_holds__claims_never_final_first_in_order__do_not_starve_the_finality_check_of_later_claims(
    tmp_path, monkeypatch
):
    """Claims nobody finalizes (a REJECT nobody calls finalize on, a silent claim nobody closes) stay not final for
    good. Whoever files more of them than one round checks (a claimant with cheap policies, an insurer naming the
    member on its own product) must not stop the node from ever seeing later claims final, or their evidence would stay
    pinned for ever, against the terms' retention."""
    from types import SimpleNamespace

    from oracle.cas.ipfs import IpfsContentStore, hold_key, hold_prefix
    from oracle.domain import ClaimStatus
    from oracle.node.service import FINALITY_CHECKS_PER_ROUND, OracleNode

    store = IpfsContentStore("http://127.0.0.1:9", tmp_path / "index.sqlite", pin_reads=True)
    unpinned: list[str] = []
    monkeypatch.setattr(store, "unpin", unpinned.append)
    chain_id, contract = 31337, "0x" + "ab" * 20
    stuck = range(1000, 1000 + FINALITY_CHECKS_PER_ROUND + 1)  # their keys sort before the honest claim's
    for claim_id in stuck:
        store.hold_evidence(hold_key(chain_id, contract, claim_id), [f"junk-{claim_id}"], 86_400.0)
    store.hold_evidence(hold_key(chain_id, contract, 9999), ["manifest", "photo"], 86_400.0)
    statuses = {claim_id: ClaimStatus.DECIDED for claim_id in stuck} | {9999: ClaimStatus.RESOLVED}
    client = SimpleNamespace(address=contract, claim=lambda claim_id: {"status": statuses[claim_id]})
    node = SimpleNamespace(assessor=SimpleNamespace(store=store), chain_id=chain_id, client=client)
    assert hold_prefix(chain_id, contract) == f"{chain_id}:{contract}:"
    for round_ in range(3):  # a few rounds of the node's check, 10 minutes apart
        OracleNode.release_final_evidence(node, now=1_000.0 + 600 * round_)
    assert OracleNode.release_final_evidence(node, now=1_000.0 + 86_400 + 1_200 + 1) == 2
    assert sorted(unpinned) == ["manifest", "photo"]
    store.close()


@pytest.mark.asyncio
async def test_announce_flood_of_unknown_cids__does_not_tie_up_the_rest_of_the_gateway(
    tmp_path, aiohttp_client, monkeypatch
):
    """Anyone may announce, and each unknown id holds a thread while the gateway's peer looks for it (up to
    FETCH_TIMEOUT_S, 20 s). Two announcements of 32 unknown ids at a time must not take the threads every other
    request needs (content, explanations, claims read for the bridge, uploads), or one client stalls the gateway."""
    import asyncio
    import time

    from oracle.cas.store import ContentNotFoundError

    gateway_store = IpfsContentStore("http://127.0.0.1:9", tmp_path / "gateway.sqlite")
    stored = b'{"decision":1}'
    stored_cid = cid_for_bytes(stored)

    def slow_fetch(cid, **_):  # what the peer does for an id nobody has: wait, then not found
        time.sleep(1.0)
        raise ContentNotFoundError(f"content {cid} is not on the peer")

    monkeypatch.setattr(gateway_store, "fetch", slow_fetch)
    monkeypatch.setattr(gateway_store, "get", lambda cid: stored if cid == stored_cid else slow_fetch(cid))
    settings = load_settings(state_dir=tmp_path, db_url=f"sqlite:///{tmp_path / 'g.db'}")
    history = NodeStore(settings.db_url)
    assessor = build_assessor(settings, history, None, sources=[], store=gateway_store)
    client = await aiohttp_client(create_app(settings, assessor, gateway_store))
    unknown = [cid_for_bytes(random.randbytes(16)) for _ in range(4 * 32)]
    flood = [
        asyncio.create_task(client.post("/content/announce", json={"cids": unknown[i : i + 32]}))
        for i in range(0, len(unknown), 32)
    ]
    await asyncio.sleep(0.3)  # the first two announcements are fetching
    started = time.monotonic()
    response = await client.get(f"/content/{stored_cid}")
    elapsed = time.monotonic() - started
    assert response.status == 200 and await response.read() == stored
    assert elapsed < 0.9, f"a content read waited {elapsed:.1f} s behind the announcements"
    for task in flood:
        task.cancel()
    await asyncio.gather(*flood, return_exceptions=True)
    assessor.close()
    history.close()
