"""The evidence manifest: its canonical form, its root hash, and verification of a claim's photos against it."""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from eth_utils import keccak
from PIL import Image

from oracle.cas.cid import RAW_CODEC, InvalidCidError, is_cid, parse_cid
from oracle.cas.store import (
    ContentIntegrityError,
    ContentNotFoundError,
    ContentStore,
    ContentStoreError,
    get_all,
)
from oracle.cas.unixfs import cid_for_bytes
from oracle.domain import DEFAULT_MAX_PHOTO_BYTES, DEFAULT_MAX_PHOTOS, MAX_PIXELS
from oracle.encoding import bytes32
from oracle.explain.canonical import (
    CanonicalJSONError,
    canonical_json,
    hex0x,
    parse_canonical,
)
from oracle.privacy import (
    NONCE_BYTES,
    PHOTO_PURPOSE,
    PLACE_PURPOSE,
    SEAL_SCHEME,
    TAG_BYTES,
    EvidenceOpener,
    SealError,
    check_grant,
    open_sealed,
)

MANIFEST_VERSION = 1
MAX_NAME_LENGTH = 255
ALLOWED_IMAGE_FORMATS = frozenset({"JPEG", "PNG", "WEBP"})
_PHOTO_KEYS = {"cid", "sha256", "bytes", "name"}
CLAIMANT_KEYS = ("countyFips", "zoneFips")
"""Optional claimant metadata a new manifest may carry, bound to the claim by the evidence root."""
IGNORED_CLAIMANT_KEYS = ("vehicleClass",)
"""Claimant metadata older clients wrote and nodes read past: the vehicle class is the policy's, declared when it was
bought (`ClaimsManager.policy(id).vehicleClass`), never the claim's."""
SEALED_KEYS = frozenset({"scheme", "keyCommitment", "grants"})
"""A sealed manifest's `sealed` section: how the photos are encrypted, a commitment to the key, the key grants."""
MAX_GRANTS = 32
"""Key grants a manifest may carry: the committee, the insurer and the claimant, with room to spare."""
SEAL_OVERHEAD = NONCE_BYTES + TAG_BYTES
_COMMITMENT = re.compile(r"^0x[0-9a-f]{64}$")
MAX_SEALED_PLACE_BYTES = 128
_SEALED_PLACE = re.compile(rf"^0x(?:[0-9a-f]{{2}}){{1,{MAX_SEALED_PLACE_BYTES}}}$")
_FIPS = re.compile(r"^[0-9]{5}$")
IPFS_URI_PREFIX = "ipfs://"


class EvidenceError(ValueError):
    """The evidence of a claim does not check out; the message says which part and why."""


@dataclass(frozen=True)
class Photo:
    """One verified photo of a claim: where it sits in the manifest, its ids, and its bytes."""

    index: int
    name: str
    cid: str
    sha256: str
    data: bytes

    @property
    def size(self) -> int:
        """Number of bytes in the photo."""
        return len(self.data)


@dataclass(frozen=True)
class Manifest:
    """An evidence manifest: the document, its canonical bytes and its root (keccak256 of those bytes)."""

    doc: dict[str, Any]
    data: bytes
    root: bytes

    @property
    def root_hex(self) -> str:
        """The evidence root as 0x-hex, as the contract stores it."""
        return hex0x(self.root)


def photo_entry(name: str, data: bytes) -> dict[str, Any]:
    """Return the manifest entry for one photo's bytes."""
    return {
        "cid": cid_for_bytes(data),
        "sha256": hex0x(hashlib.sha256(data).digest()),
        "bytes": len(data),
        "name": name,
    }


def build_manifest(
    photos: Iterable[tuple[str, bytes]],
    claimant: Mapping[str, str | None] | None = None,
    sealed: Mapping[str, Any] | None = None,
    place: str | None = None,
) -> Manifest:
    """Build the canonical evidence manifest for (name, bytes) photos in order, with optional claimant metadata
    (keys whose value is None are left out) and, for sealed photos (ciphertext), the `sealed` section and the
    precise place sealed with the same key (0x-hex)."""
    entries = [photo_entry(name, data) for name, data in photos]
    doc: dict[str, Any] = {"version": MANIFEST_VERSION, "photos": entries}
    claimant = {key: value for key, value in (claimant or {}).items() if value is not None}
    if claimant:
        doc["claimant"] = claimant
    if sealed is not None:
        doc["sealed"] = dict(sealed)
    if place is not None:
        doc["place"] = place
    _check_manifest_doc(doc, max_photos=None, max_photo_bytes=None)
    data = canonical_json(doc)
    return Manifest(doc=doc, data=data, root=keccak(data))


def _as_root(expected_root: bytes | str) -> bytes:
    """The expected evidence root as 32 bytes (hex accepted), or an EvidenceError saying what is wrong."""
    try:
        return bytes32(expected_root, "evidence root")
    except ValueError as exc:
        raise EvidenceError(str(exc)) from None


def _check_claimant(claimant: object) -> dict[str, str]:
    if not isinstance(claimant, dict) or not claimant:
        raise EvidenceError(f"manifest claimant must be a non-empty object, got {claimant!r}")
    unknown = sorted(set(claimant) - set(CLAIMANT_KEYS) - set(IGNORED_CLAIMANT_KEYS))
    if unknown:
        raise EvidenceError(f"manifest claimant has unknown keys {unknown}; allowed: {list(CLAIMANT_KEYS)}")
    for key in ("countyFips", "zoneFips"):
        value = claimant.get(key)
        if value is not None and (not isinstance(value, str) or not _FIPS.match(value)):
            raise EvidenceError(f"manifest claimant.{key} must be five digits (2 state + 3 county/zone), got {value!r}")
    return dict(claimant)


def _check_sealed(sealed: object) -> dict[str, Any]:
    if not isinstance(sealed, dict) or set(sealed) != SEALED_KEYS:
        keys = sorted(sealed) if isinstance(sealed, dict) else type(sealed).__name__
        raise EvidenceError(f"manifest sealed must have exactly the keys {sorted(SEALED_KEYS)}, got {keys}")
    if sealed["scheme"] != SEAL_SCHEME:
        raise EvidenceError(f"manifest sealed.scheme {sealed['scheme']!r} is not supported (expected {SEAL_SCHEME!r})")
    if not isinstance(sealed["keyCommitment"], str) or not _COMMITMENT.match(sealed["keyCommitment"]):
        commitment = sealed["keyCommitment"]
        raise EvidenceError(f"manifest sealed.keyCommitment must be 0x + 64 hex digits, got {commitment!r}")
    grants = sealed["grants"]
    if not isinstance(grants, list) or not 1 <= len(grants) <= MAX_GRANTS:
        raise EvidenceError(f"manifest sealed.grants must list 1..{MAX_GRANTS} key grants")
    recipients: set[str] = set()
    for i, grant in enumerate(grants):
        try:
            to = check_grant(grant)["to"]
        except SealError as exc:
            raise EvidenceError(f"manifest sealed.grants[{i}]: {exc}") from None
        if to in recipients:
            raise EvidenceError(f"manifest sealed.grants[{i}]: a second grant for {to}")
        recipients.add(to)
    return sealed


def manifest_is_sealed(doc: Mapping[str, Any]) -> bool:
    """Say whether a manifest's photos are ciphertext (it has a `sealed` section)."""
    return "sealed" in doc


def _check_manifest_doc(doc: object, *, max_photos: int | None, max_photo_bytes: int | None) -> list[dict[str, Any]]:
    if not isinstance(doc, dict):
        raise EvidenceError(f"manifest must be a JSON object, got {type(doc).__name__}")
    if set(doc) - {"claimant", "sealed", "place"} != {"version", "photos"}:
        raise EvidenceError(
            "manifest must have exactly the keys version and photos (and optionally claimant, sealed and place), "
            f"got {sorted(doc)}"
        )
    if "place" in doc:
        place = doc["place"]
        if "sealed" not in doc:
            raise EvidenceError("manifest place is sealed with the claim's key, so it needs a sealed section")
        if not isinstance(place, str) or not _SEALED_PLACE.match(place):
            raise EvidenceError(f"manifest place must be 0x + up to {2 * MAX_SEALED_PLACE_BYTES} hex digits")
    if "claimant" in doc:
        _check_claimant(doc["claimant"])
    if "sealed" in doc:
        _check_sealed(doc["sealed"])
        if max_photo_bytes is not None:
            max_photo_bytes += SEAL_OVERHEAD  # the limit is on the photo; its ciphertext adds a nonce and a tag
    if doc["version"] != MANIFEST_VERSION:
        raise EvidenceError(f"manifest version {doc['version']!r} is not supported (expected {MANIFEST_VERSION})")
    photos = doc["photos"]
    if not isinstance(photos, list) or not photos:
        raise EvidenceError("manifest lists no photos; a claim needs at least one")
    if max_photos is not None and len(photos) > max_photos:
        raise EvidenceError(f"manifest lists {len(photos)} photos, more than the limit of {max_photos}")
    seen: dict[str, int] = {}
    for i, entry in enumerate(photos, start=1):  # photos are numbered from 1, as people count them
        where = f"photo {i}"
        if not isinstance(entry, dict) or set(entry) != _PHOTO_KEYS:
            keys = sorted(entry) if isinstance(entry, dict) else type(entry).__name__
            raise EvidenceError(f"{where}: entry must have exactly the keys {sorted(_PHOTO_KEYS)}, got {keys}")
        name, size, cid, sha = entry["name"], entry["bytes"], entry["cid"], entry["sha256"]
        if not isinstance(name, str) or not name or len(name) > MAX_NAME_LENGTH:
            raise EvidenceError(f"{where}: name must be a string of 1..{MAX_NAME_LENGTH} characters, got {name!r}")
        where = f"photo {i} ({name!r})"
        if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
            raise EvidenceError(f"{where}: bytes must be a positive integer, got {size!r}")
        if max_photo_bytes is not None and size > max_photo_bytes:
            raise EvidenceError(f"{where}: {size} bytes is over the per-photo limit of {max_photo_bytes} bytes")
        try:
            codec, digest = parse_cid(cid)
        except InvalidCidError as exc:
            raise EvidenceError(f"{where}: {exc}") from None
        # a raw cid is the sha256 itself; a UnixFS (dag-pb) cid is checked against the bytes once they are read
        if codec == RAW_CODEC and sha != hex0x(digest):
            raise EvidenceError(f"{where}: sha256 {sha!r} does not match the digest in its cid {cid}")
        if not isinstance(sha, str) or len(sha) != 66 or not sha.startswith("0x"):
            raise EvidenceError(f"{where}: sha256 must be 0x followed by 64 hex digits, got {sha!r}")
        if cid in seen:
            raise EvidenceError(f"{where}: the same photo ({cid}) is already listed as photo {seen[cid]}")
        seen[cid] = i
    return photos


def _check_image(where: str, data: bytes, max_pixels: int) -> None:

    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt = image.format
            width, height = image.size
            if fmt not in ALLOWED_IMAGE_FORMATS:
                raise EvidenceError(f"{where}: image format {fmt} is not one of {sorted(ALLOWED_IMAGE_FORMATS)}")
            if width * height > max_pixels:
                raise EvidenceError(f"{where}: {width}x{height} pixels is over the limit of {max_pixels} pixels")
            image.load()
    except EvidenceError:
        raise
    except Exception:  # Pillow raises many types for broken files; its messages name internals, not the problem
        raise EvidenceError(
            f"{where}: the bytes do not decode as an image (a JPEG, PNG or WebP photo is expected)"
        ) from None


def verify_evidence(
    manifest_bytes: bytes,
    expected_root: bytes | str,
    store: ContentStore,
    *,
    max_photos: int = DEFAULT_MAX_PHOTOS,
    max_photo_bytes: int = DEFAULT_MAX_PHOTO_BYTES,
    decode_images: bool = True,
    max_pixels: int = MAX_PIXELS,
    reader: EvidenceOpener | None = None,
) -> list[Photo]:
    """Check a manifest against the claim's evidence root, fetch and verify every photo, and return them; sealed
    photos are opened with the reader's key grant (without a reader they are checked as ciphertext only, which
    is all the gateway can do, and then cannot be decoded)."""
    root = _as_root(expected_root)
    actual = keccak(manifest_bytes)
    if actual != root:
        raise EvidenceError(f"manifest hashes to {hex0x(actual)}, not the claim's evidence root {hex0x(root)}")
    try:
        doc = parse_canonical(manifest_bytes)
    except CanonicalJSONError as exc:
        raise EvidenceError(f"manifest is not canonical JSON: {exc}") from None
    entries = _check_manifest_doc(doc, max_photos=max_photos, max_photo_bytes=max_photo_bytes)
    content_key = _sealed_key(doc, reader)
    if content_key is None and manifest_is_sealed(doc) and decode_images:
        raise EvidenceError("the evidence is sealed and this reader holds no key to open it")
    photos = []
    for i, (entry, data) in enumerate(zip(entries, get_all(store, [e["cid"] for e in entries]), strict=True)):
        where = f"photo {i + 1} ({entry['name']!r}, {entry['cid']})"  # numbered from 1 for people; index stays 0-based
        if isinstance(data, ContentNotFoundError):
            raise EvidenceError(f"{where}: not found in the content store")
        if isinstance(data, ContentIntegrityError):
            raise EvidenceError(f"{where}: the stored copy is corrupt: {data}")
        if isinstance(data, ContentStoreError):
            raise EvidenceError(f"{where}: cannot be read from the content store: {data}")
        if len(data) != entry["bytes"]:
            raise EvidenceError(f"{where}: has {len(data)} bytes, the manifest says {entry['bytes']}")
        sha = hex0x(hashlib.sha256(data).digest())
        if sha != entry["sha256"]:
            raise EvidenceError(f"{where}: bytes hash to sha256 {sha}, the manifest says {entry['sha256']}")
        if content_key is not None:
            try:
                data = open_sealed(content_key, data, PHOTO_PURPOSE)
            except SealError as exc:
                raise EvidenceError(f"{where}: {exc}") from None
        if decode_images:
            _check_image(where, data, max_pixels)
        photos.append(Photo(index=i, name=entry["name"], cid=entry["cid"], sha256=sha, data=data))
    return photos


def _sealed_key(doc: Mapping[str, Any], opener: EvidenceOpener | None) -> bytes | None:
    """The content key of a checked manifest document, or None when it is not sealed or there is no opener."""
    if not manifest_is_sealed(doc) or opener is None:
        return None
    try:
        return opener.content_key(doc["sealed"])
    except SealError as exc:
        raise EvidenceError(str(exc)) from None


def evidence_key(manifest_bytes: bytes, opener: EvidenceOpener | None) -> bytes | None:
    """The content key sealed manifest bytes open with for this opener (None when the photos are not sealed)."""
    try:
        doc = parse_canonical(manifest_bytes)
    except CanonicalJSONError as exc:
        raise EvidenceError(f"manifest is not canonical JSON: {exc}") from None
    _check_manifest_doc(doc, max_photos=None, max_photo_bytes=None)
    return _sealed_key(doc, opener)


def sealed_place(manifest_bytes: bytes, key: bytes) -> tuple[int, int] | None:
    """The claim's precise place (micro-degrees) sealed in its manifest, or None when it carries none."""
    doc = parse_canonical(manifest_bytes)
    if not isinstance(doc, dict) or "place" not in doc:
        return None
    try:
        place = json.loads(open_sealed(key, bytes.fromhex(doc["place"][2:]), PLACE_PURPOSE))
    except (SealError, ValueError) as exc:
        raise EvidenceError(f"manifest place does not open: {exc}") from None
    lat, lon = (place.get(k) if isinstance(place, dict) else None for k in ("latE6", "lonE6"))
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (lat, lon)):
        raise EvidenceError(f"manifest place must hold integer latE6 and lonE6, got {place!r}")
    if not (-90_000_000 <= lat <= 90_000_000 and -180_000_000 <= lon <= 180_000_000):  # type: ignore[operator]
        raise EvidenceError(f"manifest place ({lat}, {lon}) micro-degrees is out of range")
    return lat, lon  # type: ignore[return-value]


def manifest_claimant(manifest_bytes: bytes) -> dict[str, str]:
    """Return the claimant metadata of canonical manifest bytes ({} when it has none); verify the root first."""
    try:
        doc = parse_canonical(manifest_bytes)
    except CanonicalJSONError as exc:
        raise EvidenceError(f"manifest is not canonical JSON: {exc}") from None
    _check_manifest_doc(doc, max_photos=None, max_photo_bytes=None)
    return dict(doc.get("claimant", {}))


def load_manifest(expected_root: bytes | str, store: ContentStore, uri: str | None = None) -> bytes:
    """Fetch a claim's manifest bytes by its evidence root: by the content id in the claim's `ipfs://` URI when it
    names one whose bytes hash to the root, else through the store's keccak256 index."""
    root = _as_root(expected_root)
    named = uri.removeprefix(IPFS_URI_PREFIX) if uri and uri.startswith(IPFS_URI_PREFIX) else None
    if named is not None and is_cid(named):
        try:
            data = store.get(named)
        except ContentStoreError:
            data = b""
        if data and keccak(data) == root:
            return data
    cid = store.cid_for_keccak(root)
    if cid is None:
        raise EvidenceError(f"no manifest with keccak256 {hex0x(root)} is in the content store")
    try:
        return store.get(cid)
    except ContentStoreError as exc:
        raise EvidenceError(f"manifest {cid} for evidence root {hex0x(root)} cannot be read: {exc}") from None
