"""Sealed evidence: the content key, the key grants and the sealed manifest a node opens and the gateway cannot."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from oracle.cas.store import MemoryContentStore
from oracle.claim.evidence import store_evidence
from oracle.explain.evidence import EvidenceError, load_manifest, verify_evidence
from oracle.privacy import (
    KEY_GRANTS_TYPE,
    PHOTO_PURPOSE,
    PRIVATE_PURPOSE,
    SealError,
    granted_readers,
    key_commitment,
    key_grants_document,
    new_content_key,
    open_sealed,
    public_bytes,
    seal,
    seal_deterministic,
    unwrap_key,
    wrap_key,
)
from tests.factories import IMAGE_MAGIC, make_jpeg, reader_for


def test_seal_round_trip_and_purpose_binding():
    key = new_content_key()
    sealed = seal(key, b"photo bytes", PHOTO_PURPOSE)
    assert open_sealed(key, sealed, PHOTO_PURPOSE) == b"photo bytes"
    assert seal(key, b"photo bytes", PHOTO_PURPOSE) != sealed  # a fresh nonce each time
    with pytest.raises(SealError, match="do not open"):
        open_sealed(key, sealed, PRIVATE_PURPOSE)
    with pytest.raises(SealError, match="do not open"):
        open_sealed(new_content_key(), sealed, PHOTO_PURPOSE)


def test_tampered_ciphertext_is_refused():
    key = new_content_key()
    sealed = bytearray(seal(key, b"x" * 100, PHOTO_PURPOSE))
    sealed[20] ^= 1
    with pytest.raises(SealError):
        open_sealed(key, bytes(sealed), PHOTO_PURPOSE)
    with pytest.raises(SealError, match="shorter"):
        open_sealed(key, b"short", PHOTO_PURPOSE)


def test_deterministic_seal_agrees_between_members_and_opens():
    key = new_content_key()
    one = seal_deterministic(key, b"heat map", PRIVATE_PURPOSE)
    assert one == seal_deterministic(key, b"heat map", PRIVATE_PURPOSE)
    assert one != seal_deterministic(key, b"other map", PRIVATE_PURPOSE)
    assert open_sealed(key, one, PRIVATE_PURPOSE) == b"heat map"


def test_identity_is_deterministic_per_account():
    assert reader_for(1).public_key == reader_for(1).public_key
    assert reader_for(1).public_key != reader_for(2).public_key
    assert "identity" not in repr(reader_for(1)) and repr(reader_for(1)).startswith("Reader(0x")


def test_wrapped_key_opens_only_for_its_recipient():
    key = new_content_key()
    alice, bob = reader_for(1), reader_for(2)
    grant = wrap_key(key, alice.public_key, alice.address)
    assert unwrap_key(grant, alice.identity, key_commitment(key)) == key
    with pytest.raises(SealError, match="does not open"):
        unwrap_key(grant, bob.identity, key_commitment(key))


def test_forged_key_grant_is_refused():
    """A grant that opens but carries another key than the manifest committed to (a hostile claimant or relay)."""
    key, forged = new_content_key(), new_content_key()
    alice = reader_for(1)
    grant = wrap_key(forged, alice.public_key, alice.address)
    with pytest.raises(SealError, match="commitment"):
        unwrap_key(grant, alice.identity, key_commitment(key))


def test_grant_redirected_to_another_address_is_refused():
    """Relabelling a grant's recipient changes the wrapping key's context, so it no longer opens."""
    key = new_content_key()
    alice = reader_for(1)
    grant = wrap_key(key, alice.public_key, alice.address)
    grant["to"] = reader_for(2).address.lower()
    with pytest.raises(SealError, match="does not open"):
        unwrap_key(grant, alice.identity, key_commitment(key))


def test_sealed_manifest_opens_for_committee_and_stays_ciphertext_for_everyone_else():
    store = MemoryContentStore()
    member, insurer, outsider = reader_for(1), reader_for(2), reader_for(3)
    photos = [("IMG_0001.jpg", make_jpeg(1, (160, 120))), ("IMG_0002.jpg", make_jpeg(2, (160, 120)))]
    readers = [(r.address, r.public_key) for r in (member, insurer)]
    evidence = store_evidence(store, photos, sealed_for=readers)
    manifest = load_manifest(evidence.root, store)
    assert b"IMG_0001" not in manifest  # file names can name plates or people
    opened = verify_evidence(manifest, evidence.root, store, reader=member)
    assert [p.data for p in opened] == [data for _, data in photos]
    for photo in opened:
        stored = store.get(photo.cid)
        assert not stored.startswith(IMAGE_MAGIC) and b"Exif" not in stored
    # the gateway (no key) checks the ciphertext against the manifest but can decode nothing
    assert len(verify_evidence(manifest, evidence.root, store, decode_images=False)) == 2
    with pytest.raises(EvidenceError, match="no key"):
        verify_evidence(manifest, evidence.root, store)
    with pytest.raises(EvidenceError, match="no key grant"):
        verify_evidence(manifest, evidence.root, store, reader=outsider)


def test_granted_readers__counts_the_manifest_and_key_grants_documents_of_the_same_root_only():
    key, root = new_content_key(), "0x" + "ab" * 32
    alice, bob, carol = (X25519PrivateKey.generate() for _ in range(3))
    sealed = {"grants": [wrap_key(key, public_bytes(alice), "0x" + "01" * 20)]}
    shared = key_grants_document(
        7, root.upper().replace("0X", "0x"), [wrap_key(key, public_bytes(bob), "0x" + "02" * 20)], "n"
    )
    other = key_grants_document(7, "0x" + "cd" * 32, [wrap_key(key, public_bytes(carol), "0x" + "03" * 20)], "n")
    assert shared["type"] == KEY_GRANTS_TYPE and shared["claimId"] == "7" and shared["evidenceRoot"] == root
    assert granted_readers(sealed, root, [shared, other, None, {"type": "statement"}]) == {
        "0x" + "01" * 20,
        "0x" + "02" * 20,
    }
