"""Content stores over IPFS: a local Helia peer's control API (`ipfs+http://`) and any trustless HTTP gateway
(`https://`, `http://`), each verifying every byte against its CID.

A peer store keeps its keccak256 -> cid index in a SQLite file of its own (the `index` query parameter). Given a
`gateway` (the claims gateway's base URL), it asks the gateway's `/cids/{keccak}` route for ids it does not know,
and trusts the answer only after the fetched bytes hash to that keccak256; and it announces what it stores to the
gateway's `/content/announce`, which fetches the content over IPFS from this store's peer, checks and pins it.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlparse

from eth_utils import keccak

from oracle.cas.cid import RAW_CODEC, InvalidCidError, parse_cid
from oracle.cas.peer import IpfsPeer, PeerError, api_request
from oracle.cas.store import (
    BlobTooLargeError,
    ContentIntegrityError,
    ContentNotFoundError,
    ContentStoreError,
    check_keccak,
    register_store_scheme,
    verify_content,
    within_limit,
)
from oracle.cas.unixfs import DagError, PbLink, block_matches, cid_for_bytes, file_children
from oracle.domain import DEFAULT_MAX_BLOB_BYTES, EVIDENCE_RETENTION_S
from oracle.settings import Settings

log = logging.getLogger(__name__)

FETCH_TIMEOUT_S = 20.0
"""How long a read waits for content to arrive from connected peers (or a gateway) before it is not found."""
GATEWAY_FETCH_TIMEOUT_S = 5.0
"""How long the claims gateway's store waits for content from other peers: anyone can ask it for any id, so an
unknown one must not hold a thread for long. Announced documents get FETCH_TIMEOUT_S: the announcer's peer holds
them, and on a busy machine bitswap took longer than 5 s, so the gateway refused an explanation it never got again."""
ANNOUNCE_TIMEOUT_S = 30.0
MAX_BLOCK_BYTES = 2 * 1024 * 1024
"""The largest block read from a trustless gateway (our chunks are 256 KiB; IPFS moves blocks up to 2 MiB)."""
MAX_BLOCKS_PER_FILE = 1024
MAX_PENDING_BACKGROUND = 256
"""Announcements and pins one store may have waiting; past it they are dropped with a warning."""
PEER_WORKERS = 4
"""Requests one store sends its peer side by side (reads of a claim's photos, adds of its heat maps)."""
RAW_BLOCK_TYPE = "application/vnd.ipld.raw"


def hold_prefix(chain_id: int, contract: str) -> str:
    """The start of the hold keys of one ClaimsManager's claims."""
    return f"{chain_id}:{contract.lower()}:"


def hold_key(chain_id: int, contract: str, claim_id: int) -> str:
    """The key a claim's evidence is held under: chain, contract and claim id."""
    return f"{hold_prefix(chain_id, contract)}{claim_id}"


class KeccakIndex:
    """A keccak256 -> cid index in a SQLite file (one writer lock, bounded by what the owner stores)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS keccak (h BLOB PRIMARY KEY, cid TEXT NOT NULL)")
        self._db.execute("CREATE TABLE IF NOT EXISTS pins (cid TEXT PRIMARY KEY, pinned_at REAL NOT NULL)")
        # a claim's evidence held until the claim is final plus its product's retention: release_at stays NULL
        # until the node sees the claim final
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS holds (claim TEXT NOT NULL, cid TEXT NOT NULL, retention_s REAL NOT NULL, "
            "release_at REAL, PRIMARY KEY (claim, cid))"
        )

    def add(self, data: bytes, cid: str) -> None:
        """Record that the content with these bytes has this cid."""
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO keccak (h, cid) VALUES (?, ?)", (keccak(data), cid))

    def get(self, h: bytes) -> str | None:
        """The recorded cid for a keccak256, if any."""
        with self._lock:
            row = self._db.execute("SELECT cid FROM keccak WHERE h = ?", (h,)).fetchone()
        return row[0] if row else None

    def pinned(self, cid: str, at: float) -> None:
        """Record that content was pinned at a time (seconds since the epoch); a later pin moves it on."""
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO pins (cid, pinned_at) VALUES (?, ?)", (cid, at))

    def pins_before(self, at: float, limit: int) -> list[str]:
        """Up to `limit` recorded pins older than a time that no claim holds."""
        with self._lock:
            rows = self._db.execute(
                "SELECT cid FROM pins WHERE pinned_at < ? AND cid NOT IN (SELECT cid FROM holds) LIMIT ?", (at, limit)
            ).fetchall()
        return [row[0] for row in rows]

    def hold(self, claim: str, cids: Sequence[str], retention_s: float) -> None:
        """Record that a claim's evidence stays pinned until the claim is final plus `retention_s`."""
        with self._lock:
            self._db.executemany(
                "INSERT OR IGNORE INTO holds (claim, cid, retention_s, release_at) VALUES (?, ?, ?, NULL)",
                [(claim, cid, retention_s) for cid in cids],
            )

    def claims_not_final(self, prefix: str, limit: int, after: str = "") -> list[str]:
        """Up to `limit` holding claims (keys starting with `prefix`) not yet seen final, in key order after `after`."""
        with self._lock:
            rows = self._db.execute(
                "SELECT DISTINCT claim FROM holds WHERE release_at IS NULL AND claim LIKE ? AND claim > ? "
                "ORDER BY claim LIMIT ?",
                (prefix.replace("%", "") + "%", after, limit),
            ).fetchall()
        return [row[0] for row in rows]

    def final(self, claim: str, at: float) -> None:
        """Record that a claim was seen final at a time: its evidence may go once its retention has passed."""
        with self._lock:
            self._db.execute(
                "UPDATE holds SET release_at = ? + retention_s WHERE claim = ? AND release_at IS NULL", (at, claim)
            )

    def released(self, at: float, limit: int) -> list[str]:
        """Up to `limit` pinned ids whose every holding claim's release time has come by `at`; their holds go."""
        with self._lock:
            rows = self._db.execute(
                "SELECT cid FROM holds GROUP BY cid HAVING COUNT(release_at) = COUNT(*) AND MAX(release_at) <= ? "
                "LIMIT ?",
                (at, limit),
            ).fetchall()
            cids = [row[0] for row in rows]
            self._db.executemany("DELETE FROM holds WHERE cid = ?", [(cid,) for cid in cids])
        return cids

    def unpinned(self, cid: str) -> None:
        """Forget a recorded pin."""
        with self._lock:
            self._db.execute("DELETE FROM pins WHERE cid = ?", (cid,))

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()


def _http_get(url: str, *, limit: int, timeout: float, accept: str | None = None) -> bytes | None:
    """GET a URL and return its body (None on 404), refusing bodies over `limit` bytes."""
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) URLs only
            body: bytes = response.read(limit + 1)
    except urllib.error.HTTPError as exc:
        if exc.code in (404, 410):
            return None
        raise ContentStoreError(f"{url[:200]} answered HTTP {exc.code}") from None
    except (OSError, ValueError) as exc:
        raise ContentStoreError(f"{url[:200]} could not be read: {exc}") from None
    if len(body) > limit:
        raise BlobTooLargeError(f"{url[:200]} sent more than {limit} bytes")
    return body


class IpfsContentStore:
    """Content on a local IPFS peer (its control API), verified by CID, with a keccak256 index of its own."""

    def __init__(
        self,
        api_url: str,
        index_path: Path | str,
        *,
        gateway_url: str | None = None,
        max_blob_bytes: int = DEFAULT_MAX_BLOB_BYTES,
        fetch_timeout_s: float = FETCH_TIMEOUT_S,
        pin_reads: bool = False,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.gateway_url = gateway_url.rstrip("/") if gateway_url else None
        self.max_blob_bytes = max_blob_bytes
        self.fetch_timeout_s = fetch_timeout_s
        self.index = KeccakIndex(Path(index_path))
        self.pin_reads = pin_reads
        self._pool: ThreadPoolExecutor | None = None
        self._announcer: ThreadPoolExecutor | None = None
        self._not_final_after: dict[str, str] = {}  # where the next check for final claims goes on, per prefix
        self._pending = 0
        self._pool_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"IpfsContentStore({self.api_url!r})"

    def put(self, data: bytes) -> str:
        """Add bytes to the peer (pinned) and return their content id, checked against the one computed here."""
        cid = self._add(data)
        self.announce([cid])
        return cid

    def _add(self, data: bytes) -> str:
        data = within_limit(bytes(data), self.max_blob_bytes)
        expected = cid_for_bytes(data)
        status, body = api_request(self.api_url, "POST", "/add", data)
        if status != 200:
            raise ContentStoreError(f"IPFS peer {self.api_url} refused to add {len(data)} bytes: {body[:300]!r}")
        cid = str(json.loads(body).get("cid"))
        if cid != expected:
            raise ContentIntegrityError(f"IPFS peer added the bytes as {cid}, but they are {expected}")
        self.index.add(data, cid)
        return cid

    def put_many(self, blobs: Sequence[bytes]) -> list[str]:
        """Add several blobs side by side and announce them in one request; return their ids in order."""
        cids = list(self._workers().map(self._add, blobs))
        self.announce(cids)
        return cids

    def get(self, cid: str) -> bytes:
        """Return the bytes for a content id, fetched over bitswap if the peer lacks them, and verified here (and
        pinned in the background when this store pins what it reads, as a committee member's does)."""
        data = self.fetch(cid, pin=False)
        if self.pin_reads:
            self._background(self._pin_read, cid)
        return data

    def _pin_read(self, cid: str) -> None:
        try:
            self.pin(cid)
            self.index.pinned(cid, time.time())
        except ContentStoreError as exc:
            log.warning("could not pin %s: %s", cid, exc)

    def pinned(self, cid: str) -> bool:
        """Say whether the peer has the content pinned."""
        parse_cid(cid)
        status, body = api_request(self.api_url, "GET", f"/pin/{cid}")
        return status == 200 and bool(json.loads(body).get("pinned"))

    def release_pins(self, older_than_s: float, limit: int = 1000) -> int:
        """Unpin content this store pinned on read more than `older_than_s` seconds ago; return how many."""
        released = 0
        for cid in self.index.pins_before(time.time() - older_than_s, limit):
            self.unpin(cid)
            self.index.unpinned(cid)
            released += 1
        return released

    def hold_evidence(self, claim: str, cids: Sequence[str], retention_s: float) -> None:
        """Keep a claim's evidence pinned until the claim is final plus `retention_s` (a member's store only)."""
        if self.pin_reads:
            self.index.hold(claim, cids, retention_s)

    def claims_not_final(self, prefix: str, limit: int) -> list[str]:
        """Claims (keys starting with `prefix`) whose evidence this store holds until they are final: each call the
        next `limit` in key order, round and round, so claims that never turn final cannot hide the others."""
        after = self._not_final_after.get(prefix, "")
        claims = self.index.claims_not_final(prefix, limit, after)
        if not claims and after:  # past the last one: start again from the first
            claims = self.index.claims_not_final(prefix, limit)
        self._not_final_after[prefix] = claims[-1] if len(claims) == limit else ""
        return claims

    def claim_final(self, claim: str, at: float) -> None:
        """Start a claim's retention period: it was seen final at `at`."""
        self.index.final(claim, at)

    def release_held(self, at: float, limit: int = 1000) -> int:
        """Unpin evidence whose claims are all final and past their retention at `at`; return how many ids."""
        cids = self.index.released(at, limit)
        for cid in cids:
            self.unpin(cid)
            self.index.unpinned(cid)
        return len(cids)

    def get_many(self, cids: Sequence[str]) -> list[bytes | ContentStoreError]:
        """Read several content ids side by side; each result is the bytes or the store error, in order."""

        def one(cid: str) -> bytes | ContentStoreError:
            try:
                return self.get(cid)
            except ContentStoreError as exc:
                return exc

        return list(self._workers().map(one, cids))

    def _workers(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=PEER_WORKERS, thread_name_prefix="ipfs")
            return self._pool

    def fetch(
        self,
        cid: str,
        *,
        pin: bool,
        index: bool = True,
        max_bytes: int | None = None,
        timeout_s: float | None = None,
    ) -> bytes:
        """Read a content id through the peer (pinning it there if asked), verify it and index its keccak256;
        `timeout_s` overrides the store's wait for content from other peers."""
        parse_cid(cid)
        limit = min(max_bytes or self.max_blob_bytes, self.max_blob_bytes)
        wait = timeout_s or self.fetch_timeout_s
        query = f"?timeout_ms={int(wait * 1000)}&max_bytes={limit}"
        status, body = api_request(
            self.api_url, "GET", f"/cat/{cid}{query}{'&pin=1' if pin else ''}", timeout=wait + 10
        )
        if status in (404, 504):
            raise ContentNotFoundError(f"content {cid} is not on {self!r} or its connected peers")
        if status == 413:
            raise BlobTooLargeError(f"content {cid} is over the limit of {limit} bytes")
        if status != 200:
            raise ContentStoreError(f"IPFS peer {self.api_url} could not read {cid}: HTTP {status} {body[:300]!r}")
        data = verify_content(cid, body)
        if index:
            self.index.add(data, cid)
        return data

    def has(self, cid: str) -> bool:
        """Say whether the peer holds the whole content locally."""
        try:
            parse_cid(cid)
        except InvalidCidError:
            return False
        status, body = api_request(self.api_url, "GET", f"/has/{cid}")
        return status == 200 and bool(json.loads(body).get("has"))

    def pin(self, cid: str) -> None:
        """Pin content on the peer (fetching what is missing), so it is kept and served to others."""
        self._pin("POST", cid)

    def unpin(self, cid: str) -> None:
        """Unpin content on the peer; it may then be garbage-collected."""
        self._pin("DELETE", cid)

    def _pin(self, method: str, cid: str) -> None:
        parse_cid(cid)
        status, body = api_request(self.api_url, method, f"/pin/{cid}", timeout=FETCH_TIMEOUT_S * 6)
        if status != 200:
            raise ContentStoreError(f"IPFS peer {self.api_url} could not {method} pin {cid}: {body[:300]!r}")

    def cid_for_keccak(self, h: bytes) -> str | None:
        """Return the content id of the content whose keccak256 is h: from the index, else from the gateway's
        index once the fetched bytes are checked to hash to h."""
        h = check_keccak(h)
        cid = self.index.get(h)
        if cid is not None or self.gateway_url is None:
            return cid
        answer = _http_get(f"{self.gateway_url}/cids/0x{h.hex()}", limit=4096, timeout=self.fetch_timeout_s)
        if answer is None:
            return None
        try:
            cid = str(json.loads(answer)["cid"])
            parse_cid(cid)
        except (ValueError, KeyError, TypeError, InvalidCidError):
            log.warning("gateway %s answered a malformed id for keccak %s", self.gateway_url, h.hex())
            return None
        try:
            data = self.fetch(cid, pin=True)
        except ContentNotFoundError:
            return None
        if keccak(data) != h:
            log.warning("gateway %s named %s for keccak %s, whose bytes hash otherwise", self.gateway_url, cid, h.hex())
            return None
        return cid

    def announce(self, cids: Sequence[str]) -> None:
        """Tell the gateway, in the background, about content this peer now holds, so it fetches, checks and pins it
        (best effort: a failure is logged)."""
        if self.gateway_url is not None and cids:
            self._background(self._announce_now, list(cids))

    def _background(self, job: Callable[[Any], None], arg: Any) -> None:
        """Run a job on this store's background thread; at most MAX_PENDING_BACKGROUND wait, more are dropped."""
        with self._pool_lock:
            if self._pending >= MAX_PENDING_BACKGROUND:
                log.warning("%d background jobs are waiting; dropping %s", self._pending, job.__name__)
                return
            self._pending += 1
            if self._announcer is None:
                self._announcer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ipfs-background")
            announcer = self._announcer

        def run() -> None:
            try:
                job(arg)
            finally:
                with self._pool_lock:
                    self._pending -= 1

        announcer.submit(run)

    def _announce_now(self, cids: list[str]) -> None:
        assert self.gateway_url is not None
        body = json.dumps({"cids": cids}).encode()
        request = urllib.request.Request(
            f"{self.gateway_url}/content/announce", data=body, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=ANNOUNCE_TIMEOUT_S) as response:  # noqa: S310
                answer = json.loads(response.read(64 * 1024))
            for refused in answer.get("refused", []):
                log.warning("the gateway refused announced content %s: %s", refused.get("cid"), refused.get("reason"))
        except (OSError, ValueError) as exc:
            log.warning("announcing %d content ids to %s failed: %s", len(cids), self.gateway_url, exc)

    def drain(self, timeout: float = ANNOUNCE_TIMEOUT_S) -> bool:
        """Wait until every background job (announcements, pins) queued so far is done; say whether in time."""
        deadline = time.monotonic() + timeout
        while self._pending and time.monotonic() < deadline:
            time.sleep(0.02)
        return not self._pending

    def close(self) -> None:
        """Release the index and the worker threads."""
        for pool in (self._announcer, self._pool):
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        self.index.close()


class GatewayContentStore:
    """Read-only content from an IPFS trustless HTTP gateway: raw blocks, each checked against its CID, reassembled
    from the UnixFS file's dag-pb nodes within a size bound."""

    def __init__(
        self, base_url: str, *, max_blob_bytes: int = DEFAULT_MAX_BLOB_BYTES, timeout_s: float = FETCH_TIMEOUT_S
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.max_blob_bytes = max_blob_bytes
        self.timeout_s = timeout_s
        self._index: dict[bytes, str] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"GatewayContentStore({self.base_url!r})"

    def _block(self, cid: str) -> bytes:
        url = f"{self.base_url}/ipfs/{quote(cid)}?format=raw"
        block = _http_get(url, limit=MAX_BLOCK_BYTES, timeout=self.timeout_s, accept=RAW_BLOCK_TYPE)
        if block is None:
            raise ContentNotFoundError(f"block {cid} is not on the gateway {self.base_url}")
        if not block_matches(cid, block):
            raise ContentIntegrityError(f"the gateway {self.base_url} sent a block that does not hash to {cid}")
        return block

    def get(self, cid: str) -> bytes:
        """Return the bytes for a content id, every block verified, the whole within max_blob_bytes."""
        codec, _ = parse_cid(cid)
        if codec == RAW_CODEC:
            data = within_limit(self._block(cid), self.max_blob_bytes)
        else:
            parts: list[bytes] = []
            self._collect(cid, parts, [0, 0])
            data = b"".join(parts)
        verify_content(cid, data)
        with self._lock:
            if len(self._index) < 4096:
                self._index[keccak(data)] = cid
        return data

    def _collect(self, cid: str, parts: list[bytes], totals: list[int]) -> None:
        """Append the file bytes under a block to parts, depth first; totals = [bytes, blocks] so far."""
        totals[1] += 1
        if totals[1] > MAX_BLOCKS_PER_FILE:
            raise BlobTooLargeError(f"content has more than {MAX_BLOCKS_PER_FILE} blocks")
        block = self._block(cid)
        if parse_cid(cid)[0] == RAW_CODEC:
            inline, links = block, list[PbLink]()
        else:
            try:
                inline, links = file_children(block, self.max_blob_bytes)
            except DagError as exc:
                raise ContentIntegrityError(
                    f"block {cid} from {self.base_url} is not a UnixFS file node: {exc}"
                ) from None
        totals[0] += len(inline)
        if totals[0] > self.max_blob_bytes:
            raise BlobTooLargeError(f"content is over the limit of {self.max_blob_bytes} bytes")
        parts.append(inline)
        for link in links:
            self._collect(link.cid, parts, totals)

    def put(self, data: bytes) -> str:
        """A trustless gateway is read-only: always raises."""
        raise ContentStoreError(f"{self!r} is read-only; add content through an IPFS peer")

    def has(self, cid: str) -> bool:
        """Say whether the gateway serves the content's root block."""
        try:
            self._block(cid)
        except (ContentStoreError, InvalidCidError):
            return False
        return True

    def cid_for_keccak(self, h: bytes) -> str | None:
        """Return the content id of content read through this store whose keccak256 is h (gateways index none)."""
        with self._lock:
            return self._index.get(check_keccak(h))


def _open_peer(url: str, **options: object) -> IpfsContentStore:
    """`ipfs+http://127.0.0.1:PORT/?index=/path/keccak.sqlite&gateway=http://127.0.0.1:8080`"""
    parsed = urlparse(url)
    query = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
    if parsed.hostname not in ("127.0.0.1", "localhost", "::1") or parsed.port is None:
        raise ValueError(
            f"an IPFS peer store URL names the peer's loopback API: ipfs+http://127.0.0.1:PORT, got {url!r}"
        )
    if "index" not in query:
        raise ValueError(f"an IPFS peer store URL needs ?index=/path/to/keccak-index.sqlite, got {url!r}")
    api = f"http://{parsed.hostname}:{parsed.port}"
    return IpfsContentStore(api, query["index"], gateway_url=query.get("gateway"), **options)  # type: ignore[arg-type]


def _open_gateway(url: str, **options: object) -> GatewayContentStore:
    return GatewayContentStore(url, **options)  # type: ignore[arg-type]


def peer_store_url(api_url: str, index_path: Path, gateway_url: str | None = None) -> str:
    """The `ipfs+http://` URL of a peer store (the inverse of what open_store parses)."""
    url = f"ipfs+{api_url.rstrip('/')}/?index={quote(str(index_path))}"
    return url + (f"&gateway={quote(gateway_url, safe=':/')}" if gateway_url else "")


def _start_peer(settings: Settings) -> IpfsPeer:
    """Start this process's own IPFS peer (state_dir/ipfs) and dial ipfs_peers."""
    peer = IpfsPeer(settings.state_dir / "ipfs", max_bytes=settings.max_blob_bytes).start()
    try:
        for addr in settings.ipfs_peers:
            peer.connect(addr)
    except PeerError:
        peer.stop()
        raise
    log.info("IPFS peer %s listening; others dial %s", peer.peer_id, peer.multiaddr)
    return peer


def start_peer_store(settings: Settings) -> tuple[IpfsContentStore, IpfsPeer]:
    """Start a committee member's own IPFS peer (state_dir/ipfs), dial ipfs_peers, release evidence pins past the
    retention period, and return its store (which pins the evidence it reads) and the peer."""
    peer = _start_peer(settings)
    store = IpfsContentStore(
        peer.api_url,
        settings.state_dir / "ipfs-index.sqlite",
        gateway_url=settings.ipfs_gateway_url,
        max_blob_bytes=settings.max_blob_bytes,
        pin_reads=True,
    )
    released = store.release_pins(EVIDENCE_RETENTION_S)
    if released:
        log.info("unpinned %d pieces of evidence read more than %d days ago", released, EVIDENCE_RETENTION_S // 86400)
    return store, peer


def start_gateway_peer_store(settings: Settings) -> tuple[IpfsContentStore, IpfsPeer]:
    """Start the gateway's own IPFS peer (state_dir/ipfs), which pins what claimants upload and serves it to the
    members' peers, and return its store (reads give up after GATEWAY_FETCH_TIMEOUT_S) and the peer."""
    peer = _start_peer(settings)
    store = IpfsContentStore(
        peer.api_url,
        settings.state_dir / "ipfs-index.sqlite",
        max_blob_bytes=settings.max_blob_bytes,
        fetch_timeout_s=GATEWAY_FETCH_TIMEOUT_S,
    )
    return store, peer


register_store_scheme("ipfs+http", _open_peer)
register_store_scheme("http", _open_gateway)
register_store_scheme("https", _open_gateway)

__all__ = ["GatewayContentStore", "IpfsContentStore", "KeccakIndex", "PeerError", "peer_store_url"]
