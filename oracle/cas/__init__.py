"""The content-addressed store: IPFS-compatible content ids, verified reads and a keccak256 index."""

from oracle.cas.cid import InvalidCidError, cid_from_digest, digest_from_cid, is_cid
from oracle.cas.ipfs import GatewayContentStore, IpfsContentStore
from oracle.cas.peer import IpfsPeer, PeerError
from oracle.cas.store import (
    BlobTooLargeError,
    ContentIntegrityError,
    ContentNotFoundError,
    ContentStore,
    ContentStoreError,
    LocalContentStore,
    MemoryContentStore,
    open_store,
    register_store_scheme,
)
from oracle.cas.unixfs import cid_for_bytes

__all__ = [
    "BlobTooLargeError",
    "ContentIntegrityError",
    "ContentNotFoundError",
    "ContentStore",
    "ContentStoreError",
    "GatewayContentStore",
    "IpfsContentStore",
    "IpfsPeer",
    "InvalidCidError",
    "LocalContentStore",
    "MemoryContentStore",
    "PeerError",
    "cid_for_bytes",
    "cid_from_digest",
    "digest_from_cid",
    "is_cid",
    "open_store",
    "register_store_scheme",
]
