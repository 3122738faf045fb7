"""UnixFS files as IPFS adds them: content ids for bytes of any size, dag-pb and UnixFS decoding, reassembly.

`cid_for_bytes` gives the CID that `ipfs add --cid-version 1 --raw-leaves` (and our Helia peer, ipfs/peer.mjs)
gives: 262144-byte fixed chunks as raw leaves, a balanced tree of at most 174 links per node, each node a dag-pb
block whose Data is a UnixFS File. Bytes of one chunk or less are that one raw block, so their CID is the raw
sha2-256 CID of the whole content.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from oracle.cas.cid import (
    DAG_PB_CODEC,
    RAW_CODEC,
    InvalidCidError,
    cid_binary,
    cid_text,
    parse_cid,
    raw_cid,
    varint,
)

CHUNK_BYTES = 262144
MAX_LINKS = 174
UNIXFS_FILE = 2
UNIXFS_RAW = 0
MAX_NODE_BYTES = 1024 * 1024
"""The largest dag-pb node decoded (a full node of 174 links is under 10 KB)."""


class DagError(ValueError):
    """A block is not a well-formed dag-pb node or UnixFS file of the kind we read."""


@dataclass(frozen=True)
class _Part:
    """A built subtree: its binary CID, its Tsize (bytes of every block under it) and its file size."""

    cid: bytes
    tsize: int
    file_size: int


@dataclass(frozen=True)
class PbLink:
    """A dag-pb link: the child's content id and its Tsize."""

    cid: str
    tsize: int | None


@dataclass(frozen=True)
class PbNode:
    """A decoded dag-pb node: its links in order and its Data field."""

    links: list[PbLink]
    data: bytes | None


@dataclass(frozen=True)
class UnixfsData:
    """The UnixFS Data of a node: type, inline data, file size and the file sizes of its children."""

    type: int
    data: bytes
    file_size: int | None
    block_sizes: list[int]


def _field(number: int, wire: int) -> bytes:
    return varint(number << 3 | wire)


def _bytes_field(number: int, value: bytes) -> bytes:
    return _field(number, 2) + varint(len(value)) + value


def encode_file_node(children: list[tuple[bytes, int, int]]) -> bytes:
    """Return the dag-pb block of a UnixFS File node over (binary cid, tsize, file size) children."""
    unixfs = _field(1, 0) + varint(UNIXFS_FILE) + _field(3, 0) + varint(sum(size for _, _, size in children))
    for _, _, size in children:
        unixfs += _field(4, 0) + varint(size)
    links = b"".join(
        _bytes_field(2, _bytes_field(1, cid) + _bytes_field(2, b"") + _field(3, 0) + varint(tsize))
        for cid, tsize, _ in children
    )
    return links + _bytes_field(1, unixfs)


def build_file(data: bytes, sink: Callable[[str, bytes], None] | None = None) -> str:
    """Return the UnixFS CID of `data`, handing each block (cid, bytes) to `sink` if given."""
    if len(data) <= CHUNK_BYTES:
        cid = raw_cid(data)
        if sink is not None:
            sink(cid, data)
        return cid
    view = memoryview(data)
    level: list[_Part] = []
    for start in range(0, len(data), CHUNK_BYTES):
        chunk = view[start : start + CHUNK_BYTES]
        digest = hashlib.sha256(chunk).digest()
        if sink is not None:
            sink(cid_text(cid_binary(digest)), bytes(chunk))
        level.append(_Part(cid_binary(digest), len(chunk), len(chunk)))
    while True:
        parents = []
        for start in range(0, len(level), MAX_LINKS):
            group = level[start : start + MAX_LINKS]
            block = encode_file_node([(p.cid, p.tsize, p.file_size) for p in group])
            binary = cid_binary(hashlib.sha256(block).digest(), DAG_PB_CODEC)
            if sink is not None:
                sink(cid_text(binary), block)
            parents.append(_Part(binary, len(block) + sum(p.tsize for p in group), sum(p.file_size for p in group)))
        if len(parents) == 1:
            return cid_text(parents[0].cid)
        level = parents


def cid_for_bytes(data: bytes) -> str:
    """Return the content id IPFS gives these bytes as a UnixFS file (CIDv1, raw leaves, 256 KiB chunks)."""
    return build_file(bytes(data))


def matches(cid: str, data: bytes) -> bool:
    """Say whether bytes are the content a CID names: sha2-256 for a raw block, the whole UnixFS tree for dag-pb."""
    codec, digest = parse_cid(cid)
    if codec == RAW_CODEC:
        return hashlib.sha256(data).digest() == digest
    return len(data) > CHUNK_BYTES and cid_for_bytes(data) == cid


def block_matches(cid: str, block: bytes) -> bool:
    """Say whether one block hashes to the digest its CID names (whatever its codec)."""
    return hashlib.sha256(block).digest() == parse_cid(cid)[1]


def _read_varint(buf: bytes, i: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if i >= len(buf) or shift > 63:
            raise DagError("truncated or over-long varint")
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, i
        shift += 7


def _fields(buf: bytes) -> list[tuple[int, int, int | bytes]]:
    """Split a protobuf message into (field number, wire type, value) with varint and length-delimited values."""
    out: list[tuple[int, int, int | bytes]] = []
    i = 0
    while i < len(buf):
        key, i = _read_varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _read_varint(buf, i)
            out.append((number, wire, value))
        elif wire == 2:
            length, i = _read_varint(buf, i)
            if i + length > len(buf):
                raise DagError(f"field {number} claims {length} bytes past the end of the message")
            out.append((number, wire, buf[i : i + length]))
            i += length
        else:
            raise DagError(f"field {number} has wire type {wire}, which dag-pb and UnixFS do not use")
    return out


def decode_node(block: bytes) -> PbNode:
    """Decode a dag-pb block into its links and Data, refusing anything malformed."""
    if len(block) > MAX_NODE_BYTES:
        raise DagError(f"dag-pb node of {len(block)} bytes is over the limit of {MAX_NODE_BYTES}")
    links: list[PbLink] = []
    data: bytes | None = None
    for number, wire, value in _fields(block):
        if number == 2 and wire == 2 and isinstance(value, bytes):
            cid, tsize = None, None
            for n, w, v in _fields(value):
                if n == 1 and w == 2 and isinstance(v, bytes):
                    try:
                        cid = cid_text(v)
                    except InvalidCidError as exc:
                        raise DagError(f"link {len(links)}: {exc}") from None
                elif n == 3 and w == 0 and isinstance(v, int):
                    tsize = v
                elif not (n == 2 and w == 2):
                    raise DagError(f"link {len(links)} has an unexpected field {n}")
            if cid is None:
                raise DagError(f"link {len(links)} has no Hash")
            links.append(PbLink(cid, tsize))
        elif number == 1 and wire == 2 and isinstance(value, bytes) and data is None:
            data = value
        else:
            raise DagError(f"dag-pb node has an unexpected field {number}")
    return PbNode(links, data)


def decode_unixfs(data: bytes) -> UnixfsData:
    """Decode a UnixFS Data message (type, data, filesize, blocksizes; other fields refused)."""
    kind, inline, size, sizes = None, b"", None, []
    for number, wire, value in _fields(data):
        if number == 1 and wire == 0 and isinstance(value, int):
            kind = value
        elif number == 2 and wire == 2 and isinstance(value, bytes):
            inline = value
        elif number == 3 and wire == 0 and isinstance(value, int):
            size = value
        elif number == 4 and wire == 0 and isinstance(value, int):
            sizes.append(value)
        elif number == 4 and wire == 2 and isinstance(value, bytes):  # packed repeated, as some writers use
            i = 0
            while i < len(value):
                item, i = _read_varint(value, i)
                sizes.append(item)
        else:
            raise DagError(f"UnixFS data has an unsupported field {number}")
    if kind is None:
        raise DagError("UnixFS data has no type")
    return UnixfsData(kind, inline, size, sizes)


def file_children(block: bytes, max_bytes: int) -> tuple[bytes, list[PbLink]]:
    """Return a UnixFS file node's inline bytes and child links, checking its declared size is within max_bytes."""
    node = decode_node(block)
    if node.data is None:
        raise DagError("dag-pb node has no UnixFS data")
    unixfs = decode_unixfs(node.data)
    if unixfs.type not in (UNIXFS_FILE, UNIXFS_RAW):
        raise DagError(f"UnixFS node of type {unixfs.type} is not a file")
    if len(unixfs.block_sizes) != len(node.links):
        raise DagError(f"UnixFS node lists {len(unixfs.block_sizes)} block sizes for {len(node.links)} links")
    declared = len(unixfs.data) + sum(unixfs.block_sizes)
    if unixfs.file_size is not None and unixfs.file_size != declared:
        raise DagError(f"UnixFS node says {unixfs.file_size} bytes, its parts add up to {declared}")
    if declared > max_bytes:
        raise DagError(f"file of {declared} bytes is over the limit of {max_bytes}")
    return unixfs.data, node.links
