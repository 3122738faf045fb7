"""Put a claim's evidence and a product's terms into the content store, as the gateway and the dev tools do."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_utils import keccak

from oracle.cas.store import ContentStore
from oracle.explain.evidence import build_manifest
from oracle.sources.terms import Terms


@dataclass(frozen=True)
class StoredEvidence:
    """A claim's stored evidence: the root the claim commits to, the URI it names, and the manifest's id."""

    root: bytes
    uri: str
    manifest_cid: str


def store_terms(store: ContentStore, terms_bytes: bytes) -> bytes:
    """Store a terms document and return its keccak256 (the product's termsHash)."""
    store.put(terms_bytes)
    return keccak(terms_bytes)


def store_evidence(
    store: ContentStore,
    photos: Sequence[tuple[str, bytes]],
    *,
    vehicle_class: str | None = None,
    county_fips: str | None = None,
    zone_fips: str | None = None,
    terms: Terms | None = None,
) -> StoredEvidence:
    """Store a claim's photos and manifest (with optional claimant metadata) and return its root and URI."""
    if terms is not None and vehicle_class is not None and vehicle_class not in terms.cost_schedule:
        known = ", ".join(terms.cost_schedule)
        raise ValueError(f"vehicle class {vehicle_class!r} is not in the terms' cost schedule ({known})")
    manifest = build_manifest(photos, {"vehicleClass": vehicle_class, "countyFips": county_fips, "zoneFips": zone_fips})
    for _, data in photos:
        store.put(data)
    cid = store.put(manifest.data)
    return StoredEvidence(root=manifest.root, uri=f"ipfs://{cid}", manifest_cid=cid)
