"""Content ids: CIDv1 with sha2-256 in base32 lower-case multibase, raw (0x55) or dag-pb (0x70), as IPFS makes."""

from __future__ import annotations

import base64
import hashlib

CID_VERSION = 1
RAW_CODEC = 0x55
DAG_PB_CODEC = 0x70
CODECS = {RAW_CODEC: "raw", DAG_PB_CODEC: "dag-pb"}
SHA2_256 = 0x12
SHA2_256_LEN = 32
MULTIBASE_BASE32 = "b"

# The binary prefix of every id we accept: version 1, a codec (both fit one varint byte), sha2-256, 32 bytes.
_PREFIX_LEN = 4
_CID_TEXT_LEN = 1 + len(base64.b32encode(bytes(_PREFIX_LEN + SHA2_256_LEN)).rstrip(b"="))


class InvalidCidError(ValueError):
    """A string is not a CIDv1 raw or dag-pb sha2-256 base32 content id."""


def varint(n: int) -> bytes:
    """Encode a non-negative integer as an unsigned LEB128 varint (multiformats and protobuf)."""
    if n < 0:
        raise ValueError(f"varint must be non-negative, got {n}")
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def cid_binary(digest: bytes, codec: int = RAW_CODEC) -> bytes:
    """Return the binary CIDv1 for a sha2-256 digest and codec (as dag-pb links carry it)."""
    if len(digest) != SHA2_256_LEN:
        raise InvalidCidError(f"sha2-256 digest must be 32 bytes, got {len(digest)}")
    if codec not in CODECS:
        raise InvalidCidError(f"codec {codec:#x} is not one of {sorted(CODECS.values())}")
    return varint(CID_VERSION) + varint(codec) + varint(SHA2_256) + varint(SHA2_256_LEN) + digest


def cid_text(binary: bytes) -> str:
    """Return the base32 text form of a binary CIDv1, checked to be a kind this store accepts."""
    text = MULTIBASE_BASE32 + base64.b32encode(binary).decode("ascii").rstrip("=").lower()
    parse_cid(text)
    return text


def cid_from_digest(digest: bytes, codec: int = RAW_CODEC) -> str:
    """Return the content id for a sha2-256 digest (of one raw block by default)."""
    return cid_text(cid_binary(digest, codec))


def raw_cid(data: bytes) -> str:
    """Return the CID of bytes as one raw block (CIDv1, raw codec, sha2-256)."""
    return cid_from_digest(hashlib.sha256(data).digest())


def parse_cid(cid: str) -> tuple[int, bytes]:
    """Return (codec, sha2-256 digest) of a content id, or raise InvalidCidError naming the problem."""
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
    version, codec, hash_code, length = raw[:_PREFIX_LEN]
    if (
        version != CID_VERSION
        or codec not in CODECS
        or hash_code != SHA2_256
        or length != SHA2_256_LEN
        or len(raw) != _PREFIX_LEN + SHA2_256_LEN
    ):
        raise InvalidCidError(
            f"content id {cid!r} is not CIDv1 raw (0x55) or dag-pb (0x70) with sha2-256; only those are stored here"
        )
    return codec, raw[_PREFIX_LEN:]


def digest_from_cid(cid: str) -> bytes:
    """Return the sha2-256 digest inside a content id (of the bytes for raw, of the root node for dag-pb)."""
    return parse_cid(cid)[1]


def codec_of(cid: str) -> int:
    """Return the codec of a content id (RAW_CODEC or DAG_PB_CODEC)."""
    return parse_cid(cid)[0]


def is_cid(value: object) -> bool:
    """Say whether a value is a content id of a kind this store accepts."""
    try:
        parse_cid(value)  # type: ignore[arg-type]
    except InvalidCidError:
        return False
    return True
