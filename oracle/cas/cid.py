"""Content ids: CIDv1, raw codec, sha2-256 multihash, base32 lower-case multibase (IPFS-compatible)."""

from __future__ import annotations

import base64
import hashlib

CID_VERSION = 1
RAW_CODEC = 0x55
SHA2_256 = 0x12
SHA2_256_LEN = 32
MULTIBASE_BASE32 = "b"

# The fixed binary prefix of every id we make: version 1, raw codec, sha2-256, 32-byte digest.
_PREFIX = bytes([CID_VERSION, RAW_CODEC, SHA2_256, SHA2_256_LEN])
_CID_TEXT_LEN = 1 + len(base64.b32encode(_PREFIX + bytes(32)).rstrip(b"="))


class InvalidCidError(ValueError):
    """A string is not a CIDv1 raw sha2-256 base32 content id."""


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def cid_from_digest(digest: bytes) -> str:
    """Return the content id for a sha2-256 digest."""
    if len(digest) != SHA2_256_LEN:
        raise InvalidCidError(f"sha2-256 digest must be 32 bytes, got {len(digest)}")
    raw = _varint(CID_VERSION) + _varint(RAW_CODEC) + _varint(SHA2_256) + _varint(SHA2_256_LEN) + digest
    return MULTIBASE_BASE32 + base64.b32encode(raw).decode("ascii").rstrip("=").lower()


def cid_for_bytes(data: bytes) -> str:
    """Return the content id IPFS gives these bytes with `ipfs add --cid-version 1 --raw-leaves` (one block)."""
    return cid_from_digest(hashlib.sha256(data).digest())


def digest_from_cid(cid: str) -> bytes:
    """Return the sha2-256 digest inside a content id, or raise InvalidCidError naming the problem."""
    if not isinstance(cid, str):
        raise InvalidCidError(f"content id must be a string, got {type(cid).__name__}")
    if len(cid) != _CID_TEXT_LEN or not cid.startswith(MULTIBASE_BASE32):
        raise InvalidCidError(f"content id {cid!r} is not a base32 CIDv1 ('b' prefix, {_CID_TEXT_LEN} characters)")
    body = cid[1:]
    if body != body.lower():
        raise InvalidCidError(f"content id {cid!r} must be lower-case base32")
    try:
        raw = base64.b32decode(body.upper() + "=" * (-len(body) % 8))
    except ValueError as exc:
        raise InvalidCidError(f"content id {cid!r} is not valid base32: {exc}") from None
    if raw[: len(_PREFIX)] != _PREFIX or len(raw) != len(_PREFIX) + SHA2_256_LEN:
        raise InvalidCidError(f"content id {cid!r} is not CIDv1 raw (0x55) sha2-256; only that kind is stored here")
    return raw[len(_PREFIX) :]


def is_cid(value: object) -> bool:
    """Say whether a value is a content id of the kind this store makes."""
    try:
        digest_from_cid(value)  # type: ignore[arg-type]
    except InvalidCidError:
        return False
    return True
