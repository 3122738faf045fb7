"""Tests for the evidence manifest and verification of a claim's photos."""

from __future__ import annotations

import json

import pytest
from eth_utils import keccak

from oracle.cas import LocalContentStore, MemoryContentStore, cid_for_bytes
from oracle.explain import EvidenceError, build_manifest, canonical_json, load_manifest, verify_evidence
from tests.factories import make_jpeg


@pytest.fixture
def store(tmp_path):
    return LocalContentStore(tmp_path / "cas")


@pytest.fixture
def photos():
    return [("front.jpg", make_jpeg(1)), ("side.jpg", make_jpeg(2))]


def _put_all(store, photos, manifest):
    for _, data in photos:
        store.put(data)
    store.put(manifest.data)


def test_build_manifest__two_photos__canonical_with_root_keccak(photos):
    manifest = build_manifest(photos)
    assert manifest.data == canonical_json(manifest.doc)
    assert manifest.root == keccak(manifest.data)
    doc = json.loads(manifest.data)
    assert doc["version"] == 1
    assert [p["name"] for p in doc["photos"]] == ["front.jpg", "side.jpg"]
    assert doc["photos"][0]["cid"] == cid_for_bytes(photos[0][1])
    assert doc["photos"][1]["bytes"] == len(photos[1][1])


def test_build_manifest__duplicate_photo__raises(photos):
    with pytest.raises(EvidenceError, match="already listed as photo 1"):
        build_manifest([photos[0], ("again.jpg", photos[0][1])])


def test_verify_evidence__intact__returns_photos_in_order(store, photos):
    manifest = build_manifest(photos)
    _put_all(store, photos, manifest)
    verified = verify_evidence(manifest.data, manifest.root_hex, store)
    expected = [(0, "front.jpg", photos[0][1]), (1, "side.jpg", photos[1][1])]
    assert [(p.index, p.name, p.data) for p in verified] == expected
    assert load_manifest(manifest.root, store) == manifest.data


def test_verify_evidence__wrong_root__raises_naming_both_hashes(store, photos):
    manifest = build_manifest(photos)
    _put_all(store, photos, manifest)
    with pytest.raises(EvidenceError, match="not the claim's evidence root 0x" + "ab" * 32):
        verify_evidence(manifest.data, b"\xab" * 32, store)


def test_verify_evidence__photo_missing_from_store__raises_naming_photo(store, photos):
    manifest = build_manifest(photos)
    store.put(photos[0][1])
    with pytest.raises(EvidenceError, match=r"photo 2 \('side.jpg'.*not found"):
        verify_evidence(manifest.data, manifest.root, store)


def test_verify_evidence__corrupt_stored_photo__raises(tmp_path, photos):
    store = LocalContentStore(tmp_path)
    manifest = build_manifest(photos)
    _put_all(store, photos, manifest)
    cid = cid_for_bytes(photos[1][1])
    (tmp_path / "blobs" / cid[-2:] / cid).write_bytes(b"not the photo")
    with pytest.raises(EvidenceError, match="corrupt"):
        verify_evidence(manifest.data, manifest.root, store)


def test_verify_evidence__too_many_photos__raises_with_limit():
    store = MemoryContentStore()
    many = [(f"{i}.jpg", make_jpeg(100 + i, size=(16, 16))) for i in range(4)]
    manifest = build_manifest(many)
    _put_all(store, many, manifest)
    assert len(verify_evidence(manifest.data, manifest.root, store, max_photos=4)) == 4
    with pytest.raises(EvidenceError, match="4 photos, more than the limit of 3"):
        verify_evidence(manifest.data, manifest.root, store, max_photos=3)


def test_verify_evidence__oversized_photo__raises_with_limit(store, photos):
    manifest = build_manifest(photos)
    _put_all(store, photos, manifest)
    limit = len(photos[0][1]) - 1
    with pytest.raises(EvidenceError, match=f"over the per-photo limit of {limit}"):
        verify_evidence(manifest.data, manifest.root, store, max_photo_bytes=limit)


def test_verify_evidence__manifest_size_field_lies__raises(store, photos):
    manifest = build_manifest(photos)
    doc = json.loads(manifest.data)
    doc["photos"][0]["bytes"] += 1
    data = canonical_json(doc)
    _put_all(store, photos, manifest)
    with pytest.raises(EvidenceError, match="the manifest says"):
        verify_evidence(data, keccak(data), store)


def test_verify_evidence__not_an_image__raises_decode_error(store):
    items = [("notes.jpg", b"these are not pixels")]
    manifest = build_manifest(items)
    _put_all(store, items, manifest)
    with pytest.raises(EvidenceError, match="do not decode as an image"):
        verify_evidence(manifest.data, manifest.root, store)
    assert verify_evidence(manifest.data, manifest.root, store, decode_images=False)[0].data == items[0][1]


def test_verify_evidence__non_canonical_manifest__raises(store, photos):
    manifest = build_manifest(photos)
    pretty = json.dumps(manifest.doc, indent=1).encode()
    with pytest.raises(EvidenceError, match="not canonical"):
        verify_evidence(pretty, keccak(pretty), store)


@pytest.mark.parametrize(
    "doc, message",
    [
        ({"version": 2, "photos": []}, "version 2"),
        ({"version": 1, "photos": []}, "no photos"),
        ({"version": 1, "photos": [{"cid": "x"}]}, "exactly the keys"),
        ({"version": 1}, "exactly the keys version and photos"),
    ],
)
def test_verify_evidence__malformed_manifest__raises_clear_message(store, doc, message):
    data = canonical_json(doc)
    with pytest.raises(EvidenceError, match=message):
        verify_evidence(data, keccak(data), store)


def test_load_manifest__unknown_root__raises(store):
    with pytest.raises(EvidenceError, match="no manifest with keccak256"):
        load_manifest(b"\x01" * 32, store)
