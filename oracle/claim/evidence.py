"""Put a claim's evidence and a product's terms into the content store, as the gateway and the dev tools do."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_utils import keccak

from oracle.cas.store import ContentStore
from oracle.explain.canonical import canonical_json
from oracle.explain.evidence import build_manifest
from oracle.privacy import PHOTO_PURPOSE, PLACE_PURPOSE, SEAL_SCHEME, key_commitment, new_content_key, seal, wrap_key


@dataclass(frozen=True)
class StoredEvidence:
    """A claim's stored evidence: the root the claim commits to, the URI it names, and the manifest's id."""

    root: bytes
    uri: str
    manifest_cid: str
    content_key: bytes | None = None


def store_terms(store: ContentStore, terms_bytes: bytes) -> bytes:
    """Store a terms document and return its keccak256 (the product's termsHash)."""
    store.put(terms_bytes)
    return keccak(terms_bytes)


def store_evidence(
    store: ContentStore,
    photos: Sequence[tuple[str, bytes]],
    *,
    county_fips: str | None = None,
    zone_fips: str | None = None,
    sealed_for: Sequence[tuple[str, bytes]] = (),
    place_e6: tuple[int, int] | None = None,
) -> StoredEvidence:
    """Store a claim's photos and manifest (with the claimant's optional county and zone; never a vehicle class, which
    is the policy's) and return its root and URI; with
    readers `sealed_for` ((address, X25519 public key) pairs), as the dApp does: only ciphertext is stored, the
    fresh content key is wrapped for each reader, and the precise place `place_e6` is sealed in the manifest."""
    content_key, sealed, place = None, None, None
    if place_e6 is not None and not sealed_for:
        raise ValueError("a precise place is kept only in sealed evidence; name its readers")
    if sealed_for:
        content_key = new_content_key()
        photos = [(f"photo-{i + 1}", seal(content_key, data, PHOTO_PURPOSE)) for i, (_, data) in enumerate(photos)]
        grants = [wrap_key(content_key, public_key, address) for address, public_key in sealed_for]
        sealed = {"scheme": SEAL_SCHEME, "keyCommitment": key_commitment(content_key), "grants": grants}
        if place_e6 is not None:
            lat_e6, lon_e6 = place_e6
            place = "0x" + seal(content_key, canonical_json({"latE6": lat_e6, "lonE6": lon_e6}), PLACE_PURPOSE).hex()
    claimant = {"countyFips": county_fips, "zoneFips": zone_fips}
    manifest = build_manifest(photos, claimant, sealed, place)
    for _, data in photos:
        store.put(data)
    cid = store.put(manifest.data)
    return StoredEvidence(root=manifest.root, uri=f"ipfs://{cid}", manifest_cid=cid, content_key=content_key)
