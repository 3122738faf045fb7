"""Content-addressed stores: the protocol, a local directory store, an in-memory store and a URL factory."""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol, runtime_checkable
from urllib.parse import unquote, urlparse

from eth_utils import keccak

from oracle.cas.cid import InvalidCidError, parse_cid
from oracle.cas.unixfs import cid_for_bytes, matches
from oracle.domain import DEFAULT_MAX_BLOB_BYTES
from oracle.encoding import bytes32


class ContentStoreError(Exception):
    """Base class of content store errors."""


class ContentNotFoundError(ContentStoreError, KeyError):
    """No content with this id is in the store."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else "content not found"


class ContentIntegrityError(ContentStoreError):
    """Stored bytes do not hash to the id they are stored under."""


class BlobTooLargeError(ContentStoreError, ValueError):
    """A blob is larger than the store accepts."""


@runtime_checkable
class ContentStore(Protocol):
    """What the oracle needs from a content-addressed store."""

    def put(self, data: bytes) -> str:
        """Store bytes and return their content id; storing the same bytes twice is a no-op."""
        ...

    def get(self, cid: str) -> bytes:
        """Return the bytes for a content id, verified against it."""
        ...

    def has(self, cid: str) -> bool:
        """Say whether the store holds this content id."""
        ...

    def cid_for_keccak(self, h: bytes) -> str | None:
        """Return the content id of the content whose keccak256 is h, if stored."""
        ...


def check_keccak(h: bytes | str) -> bytes:
    """A keccak256 lookup key as 32 bytes (hex accepted)."""
    return bytes32(h, "keccak256 hash")


def verify_content(cid: str, data: bytes) -> bytes:
    """Return `data` if it is the content `cid` names (recomputed from every byte), else raise ContentIntegrityError."""
    if not matches(cid, data):
        raise ContentIntegrityError(
            f"content {cid} is corrupt: its {len(data)} bytes have the content id {cid_for_bytes(data)}"
        )
    return data


def _intact(cid: str, path: Path) -> bool:
    try:
        return matches(cid, path.read_bytes())
    except OSError:
        return False


class LocalContentStore:
    """A content-addressed directory: blobs/<xx>/<cid> plus a keccak256 -> cid index in keccak/<xx>/<hex>."""

    def __init__(self, root: Path | str, *, max_blob_bytes: int = DEFAULT_MAX_BLOB_BYTES) -> None:
        if max_blob_bytes <= 0:
            raise ValueError(f"max_blob_bytes must be positive, got {max_blob_bytes}")
        self.root = Path(root)
        self.max_blob_bytes = max_blob_bytes
        (self.root / "blobs").mkdir(parents=True, exist_ok=True)
        (self.root / "keccak").mkdir(parents=True, exist_ok=True)
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LocalContentStore({str(self.root)!r})"

    def _blob_path(self, cid: str) -> Path:
        parse_cid(cid)  # validates the id, so it is safe as a file name
        return self.root / "blobs" / cid[-2:] / cid

    def _index_path(self, h: bytes) -> Path:
        hexed = h.hex()
        return self.root / "keccak" / hexed[:2] / hexed

    def _write_atomic(self, path: Path, data: bytes, *, intact: Callable[[Path], bool] | None = None) -> None:
        if path.exists() and (intact is None or intact(path)):
            return  # idempotent: the same id always names the same bytes
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)  # atomic on POSIX; concurrent writers of the same id write the same bytes
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        try:  # make the rename itself durable
            dir_fd = os.open(path.parent, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(dir_fd)
        except OSError:
            pass
        finally:
            os.close(dir_fd)

    def put(self, data: bytes) -> str:
        """Store bytes and return their content id; storing the same bytes twice is a no-op."""
        data = within_limit(bytes(data), self.max_blob_bytes)
        cid = cid_for_bytes(data)
        # an existing blob that no longer matches its id (disk damage, tampering) is replaced, not trusted
        self._write_atomic(self._blob_path(cid), data, intact=lambda p: _intact(cid, p))
        self._write_atomic(self._index_path(keccak(data)), cid.encode("ascii"))
        return cid

    def put_many(self, blobs: Sequence[bytes]) -> list[str]:
        """Store several blobs at once and return their content ids in order; each is as durable as after put().

        Every put waits for its fsyncs; running them side by side lets the file system commit them together,
        which matters when a claim stores its explanation and a heat map per photo."""
        if len(blobs) < 2:
            return [self.put(data) for data in blobs]
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="cas-put")
        return list(self._pool.map(self.put, blobs))

    def get(self, cid: str) -> bytes:
        """Return the bytes for a content id, verified against it."""
        path = self._blob_path(cid)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise ContentNotFoundError(f"content {cid} is not in {self!r}") from None
        if size > self.max_blob_bytes:
            raise BlobTooLargeError(f"content {cid} is {size} bytes, over the limit of {self.max_blob_bytes}")
        return verify_content(cid, path.read_bytes())

    def has(self, cid: str) -> bool:
        """Say whether the store holds this content id."""
        try:
            return self._blob_path(cid).is_file()
        except InvalidCidError:
            return False

    def delete(self, cid: str) -> bool:
        """Remove a blob and its keccak256 index entry (the gateway's sweeper of expired uploads); False if absent."""
        path = self._blob_path(cid)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return False
        index = self._index_path(keccak(data))
        with contextlib.suppress(FileNotFoundError):
            if index.read_text("ascii").strip() == cid:
                index.unlink()
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return True

    def cid_for_keccak(self, h: bytes) -> str | None:
        """Return the content id of the content whose keccak256 is h, if stored."""
        path = self._index_path(check_keccak(h))
        try:
            cid = path.read_text("ascii").strip()
        except FileNotFoundError:
            return None
        return cid if self.has(cid) else None


class MemoryContentStore:
    """An in-process content store with the same checks as the local one, for tests and demos."""

    def __init__(self, *, max_blob_bytes: int = DEFAULT_MAX_BLOB_BYTES) -> None:
        self.max_blob_bytes = max_blob_bytes
        self._blobs: dict[str, bytes] = {}
        self._index: dict[bytes, str] = {}
        self._lock = threading.Lock()

    def put(self, data: bytes) -> str:
        """Store bytes and return their content id; storing the same bytes twice is a no-op."""
        data = within_limit(bytes(data), self.max_blob_bytes)
        cid = cid_for_bytes(data)
        with self._lock:
            self._blobs.setdefault(cid, data)
            self._index.setdefault(keccak(data), cid)
        return cid

    def get(self, cid: str) -> bytes:
        """Return the bytes for a content id, verified against it."""
        parse_cid(cid)
        try:
            data = self._blobs[cid]
        except KeyError:
            raise ContentNotFoundError(f"content {cid} is not in the memory store") from None
        return verify_content(cid, data)

    def has(self, cid: str) -> bool:
        """Say whether the store holds this content id."""
        return cid in self._blobs

    def delete(self, cid: str) -> bool:
        """Remove a blob and its keccak256 index entry; False if absent."""
        with self._lock:
            data = self._blobs.pop(cid, None)
            if data is not None and self._index.get(keccak(data)) == cid:
                del self._index[keccak(data)]
        return data is not None

    def cid_for_keccak(self, h: bytes) -> str | None:
        """Return the content id of the content whose keccak256 is h, if stored."""
        return self._index.get(check_keccak(h))


def put_all(store: ContentStore, blobs: Sequence[bytes]) -> list[str]:
    """Store several blobs and return their ids in order, at once where the store can (`put_many`)."""
    put_many = getattr(store, "put_many", None)
    return list(put_many(blobs)) if put_many is not None else [store.put(data) for data in blobs]


def get_all(store: ContentStore, cids: Sequence[str]) -> list[bytes | ContentStoreError]:
    """Read several content ids, side by side where the store can (`get_many`); each result is the bytes or the
    store error for that id, in order."""
    get_many = getattr(store, "get_many", None)
    if get_many is not None:
        return list(get_many(cids))
    out: list[bytes | ContentStoreError] = []
    for cid in cids:
        try:
            out.append(store.get(cid))
        except ContentStoreError as exc:
            out.append(exc)
    return out


StoreFactory = Callable[..., ContentStore]

_FACTORIES: dict[str, StoreFactory] = {}


def register_store_scheme(scheme: str, factory: StoreFactory) -> None:
    """Make open_store build stores for URLs of this scheme (for IPFS, S3-style or other back ends)."""
    _FACTORIES[scheme.lower()] = factory


def _open_file(url: str, **options: object) -> ContentStore:
    parsed = urlparse(url)
    if parsed.netloc not in ("", "localhost"):
        raise ValueError(f"file store URL must be file:///absolute/path, got {url!r}")
    path = unquote(parsed.path)
    if not path:
        raise ValueError(f"file store URL has no path: {url!r}")
    return LocalContentStore(Path(path), **options)  # type: ignore[arg-type]


def _open_memory(url: str, **options: object) -> ContentStore:
    return MemoryContentStore(**options)  # type: ignore[arg-type]


register_store_scheme("file", _open_file)
register_store_scheme("memory", _open_memory)


def within_limit(data: bytes, limit: int) -> bytes:
    """Return `data`, or raise BlobTooLargeError when it is over a store's size limit."""
    if len(data) > limit:
        raise BlobTooLargeError(f"blob of {len(data)} bytes exceeds this store's limit of {limit} bytes")
    return data


def open_store(url: str, **options: object) -> ContentStore:
    """Open the content store a URL names: file:///path (default) or memory://, or a registered scheme."""
    scheme = urlparse(url).scheme.lower()
    if not scheme:
        raise ValueError(f"content store URL needs a scheme such as file:///path, got {url!r}")
    try:
        factory = _FACTORIES[scheme]
    except KeyError:
        known = ", ".join(sorted(_FACTORIES))
        raise ValueError(f"no content store for scheme {scheme!r} in {url!r}; known schemes: {known}") from None
    return factory(url, **options)
