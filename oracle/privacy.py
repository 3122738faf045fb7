"""Sealed evidence: a content key per claim, AES-256-GCM for the bytes, and the key wrapped for each reader with
X25519 and HKDF-SHA256 (the same construction the dApp runs in WebCrypto; see dapp/seal.js)."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from eth_utils import keccak

SEAL_SCHEME = "x25519-hkdf-sha256-aes256gcm/v1"
"""The name a manifest gives this construction, so a reader knows how to open it."""
CONTENT_KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
X25519_KEY_BYTES = 32
PHOTO_PURPOSE = b"claims-oracle/photo/v1"
"""Associated data of a sealed claim photo: a photo's ciphertext cannot be passed off as another kind of blob."""
PRIVATE_PURPOSE = b"claims-oracle/private/v1"
"""Associated data of what an explanation keeps private (heat maps, EXIF facts)."""
PLACE_PURPOSE = b"claims-oracle/place/v1"
"""Associated data of the claim's precise place, sealed in the manifest (the chain holds only a 0.1-degree area)."""
_WRAP_INFO = b"claims-oracle/key-wrap/v1"
_IDENTITY_INFO = b"claims-oracle/x25519-identity/v1"
_INSURED_SALT_INFO = b"claims-oracle/insured-object-salt/v1"
_COMMITMENT_PREFIX = b"claims-oracle/key-commitment/v1"
_SIV_PREFIX = b"claims-oracle/synthetic-nonce/v1"
ENCRYPTION_KEY_MESSAGE = "claims-oracle encryption key v1\nchain {chain_id}\ndirectory {directory}\naccount {account}"
"""What an account signs (EIP-191) to derive its X25519 key; only the dApp and the node ever ask for it."""
_GRANT_KEYS = frozenset({"to", "epk", "nonce", "key"})
_ADDRESS = re.compile(r"^0x[0-9a-f]{40}$")
_HEX = re.compile(r"^0x[0-9a-f]*$")


class SealError(ValueError):
    """Sealed bytes or a key grant cannot be opened; the message says which and why."""


def new_content_key() -> bytes:
    """A fresh random content key for one claim."""
    return os.urandom(CONTENT_KEY_BYTES)


def _aead(key: bytes) -> AESGCM:
    if len(key) != CONTENT_KEY_BYTES:
        raise SealError(f"a content key is {CONTENT_KEY_BYTES} bytes, got {len(key)}")
    return AESGCM(key)


def seal(key: bytes, plaintext: bytes, purpose: bytes) -> bytes:
    """Encrypt bytes under a content key with a random nonce: nonce || ciphertext || tag."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + _aead(key).encrypt(nonce, plaintext, purpose)


def seal_deterministic(key: bytes, plaintext: bytes, purpose: bytes) -> bytes:
    """Encrypt bytes with a nonce derived from the key and the bytes, so every committee member that computes the
    same plaintext stores the same ciphertext (it reveals only whether two plaintexts under one key are equal)."""
    nonce = hmac.new(key, _SIV_PREFIX + purpose + plaintext, hashlib.sha256).digest()[:NONCE_BYTES]
    return nonce + _aead(key).encrypt(nonce, plaintext, purpose)


def open_sealed(key: bytes, sealed: bytes, purpose: bytes) -> bytes:
    """Decrypt and authenticate what `seal` made, or raise SealError."""
    if len(sealed) < NONCE_BYTES + TAG_BYTES:
        raise SealError(f"sealed bytes are {len(sealed)} bytes, shorter than a nonce and a tag")
    try:
        return _aead(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], purpose)
    except InvalidTag:
        raise SealError("sealed bytes do not open with this key (wrong key, wrong purpose or tampered)") from None


def key_commitment(key: bytes) -> str:
    """A public commitment to a content key (0x-hex sha256), so a reader can tell a right key from a forged one."""
    return "0x" + hashlib.sha256(_COMMITMENT_PREFIX + key).hexdigest()


def encryption_key_message(chain_id: int, directory: str, account: str) -> str:
    """The text an account signs to derive its encryption key, bound to the chain, the key directory and itself."""
    return ENCRYPTION_KEY_MESSAGE.format(chain_id=chain_id, directory=directory.lower(), account=account.lower())


def identity_from_signature(signature: bytes) -> X25519PrivateKey:
    """The X25519 key an account derives from its signature over `encryption_key_message` (HKDF-SHA256)."""
    if len(signature) != 65:
        raise SealError(f"an EIP-191 signature is 65 bytes, got {len(signature)}")
    seed = HKDF(algorithm=hashes.SHA256(), length=X25519_KEY_BYTES, salt=None, info=_IDENTITY_INFO).derive(signature)
    return X25519PrivateKey.from_private_bytes(seed)


def insured_object_salt(signature: bytes) -> bytes:
    """The salt an account commits to its vehicles' ids with, derived from the same signature as its key, so the
    claimant can always re-derive it and nobody else can brute-force a plate or VIN from the chain."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INSURED_SALT_INFO).derive(signature)


def insured_object_commitment(salt: bytes, vehicle_id: str) -> bytes:
    """The on-chain insured object: keccak256(salt || normalised vehicle id), normalised as upper case, no spaces."""
    normalised = "".join(vehicle_id.split()).upper()
    if not normalised:
        raise ValueError("a vehicle id (VIN or plate) is needed")
    return keccak(salt + normalised.encode("utf-8"))


def public_bytes(identity: X25519PrivateKey) -> bytes:
    """The 32-byte public key of an identity, as the key directory stores it."""
    return identity.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def _wrapping_key(shared: bytes, epk: bytes, recipient_pub: bytes, to: str) -> bytes:
    info = _WRAP_INFO + epk + recipient_pub + to.encode("ascii")
    return HKDF(algorithm=hashes.SHA256(), length=CONTENT_KEY_BYTES, salt=None, info=info).derive(shared)


def _address(value: object, what: str) -> str:
    if not isinstance(value, str) or not _ADDRESS.match(value.lower()):
        raise SealError(f"{what} must be a 0x-prefixed 20-byte address, got {value!r}")
    return value.lower()


def wrap_key(content_key: bytes, recipient_pub: bytes, recipient: str) -> dict[str, str]:
    """Wrap a content key for one reader's public key: a grant only the holder of the matching private key opens."""
    if len(recipient_pub) != X25519_KEY_BYTES:
        raise SealError(f"an X25519 public key is {X25519_KEY_BYTES} bytes, got {len(recipient_pub)}")
    to = _address(recipient, "grant recipient")
    ephemeral = X25519PrivateKey.generate()
    epk = public_bytes(ephemeral)
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient_pub))
    nonce = os.urandom(NONCE_BYTES)
    wrapped = AESGCM(_wrapping_key(shared, epk, recipient_pub, to)).encrypt(nonce, content_key, to.encode("ascii"))
    return {"to": to, "epk": "0x" + epk.hex(), "nonce": "0x" + nonce.hex(), "key": "0x" + wrapped.hex()}


def _hex_field(grant: Mapping[str, Any], name: str, size: int) -> bytes:
    value = grant[name]
    if not isinstance(value, str) or not _HEX.match(value) or len(value) != 2 + 2 * size:
        raise SealError(f"grant {name} must be 0x + {2 * size} lower-case hex digits, got {value!r}")
    return bytes.fromhex(value[2:])


def check_grant(grant: object) -> dict[str, str]:
    """Return a key grant's fields after checking their shape, or raise SealError naming the problem."""
    if not isinstance(grant, Mapping) or set(grant) != _GRANT_KEYS:
        keys = sorted(grant) if isinstance(grant, Mapping) else type(grant).__name__
        raise SealError(f"a key grant has exactly the keys {sorted(_GRANT_KEYS)}, got {keys}")
    _address(grant["to"], "grant recipient")
    _hex_field(grant, "epk", X25519_KEY_BYTES)
    _hex_field(grant, "nonce", NONCE_BYTES)
    _hex_field(grant, "key", CONTENT_KEY_BYTES + TAG_BYTES)
    return dict(grant)


def unwrap_key(grant: Mapping[str, Any], identity: X25519PrivateKey, commitment: str) -> bytes:
    """Open a grant with one's private key and check the content key against the manifest's public commitment."""
    check_grant(grant)
    epk = _hex_field(grant, "epk", X25519_KEY_BYTES)
    own_pub = public_bytes(identity)
    shared = identity.exchange(X25519PublicKey.from_public_bytes(epk))
    to = str(grant["to"])
    try:
        wrapped = _hex_field(grant, "key", CONTENT_KEY_BYTES + TAG_BYTES)
        nonce = _hex_field(grant, "nonce", NONCE_BYTES)
        key = AESGCM(_wrapping_key(shared, epk, own_pub, to)).decrypt(nonce, wrapped, to.encode())
    except InvalidTag:
        raise SealError(f"the key grant for {to} does not open with this identity") from None
    if not hmac.compare_digest(key_commitment(key), commitment):
        raise SealError(f"the key in the grant for {to} does not match the manifest's key commitment")
    return key


KEY_GRANTS_TYPE = "claims-oracle/key-grants"
"""The `type` of an ERC-1497 evidence document that wraps a claim's content key for more readers (dapp/keys.js)."""


def key_grants_document(claim_id: int, evidence_root: str, grants: list[dict[str, str]], name: str) -> dict[str, Any]:
    """The evidence document sharing a claim's content key through `grants`, as the dApp's `shareClaimKey` builds it."""
    return {
        "type": KEY_GRANTS_TYPE,
        "name": name,
        "description": f"The claim's content key, wrapped for {len(grants)} reader(s).",
        "claimId": str(claim_id),
        "evidenceRoot": evidence_root.lower(),
        "grants": grants,
    }


def granted_readers(sealed: Mapping[str, Any], evidence_root: str, documents: list[Any]) -> set[str]:
    """The addresses a sealed manifest's own grants and the claim's key-grants documents for its root name."""
    shared = [
        doc
        for doc in documents
        if isinstance(doc, Mapping)
        and doc.get("type") == KEY_GRANTS_TYPE
        and str(doc.get("evidenceRoot", "")).lower() == evidence_root.lower()
    ]
    grants = [*sealed.get("grants", []), *(g for doc in shared for g in doc.get("grants") or [])]
    return {str(g["to"]).lower() for g in grants if isinstance(g, Mapping) and "to" in g}


@dataclass(frozen=True)
class Reader:
    """One party that can open sealed evidence: its address and the X25519 identity it published for it."""

    address: str
    identity: X25519PrivateKey

    @property
    def public_key(self) -> bytes:
        """The public key this reader publishes in the key directory."""
        return public_bytes(self.identity)

    def content_key(self, sealed: Mapping[str, Any]) -> bytes:
        """Find this reader's grant in a manifest's `sealed` section and open it."""
        me = self.address.lower()
        for grant in sealed["grants"]:
            if grant["to"] == me:
                return unwrap_key(grant, self.identity, sealed["keyCommitment"])
        raise SealError(f"the evidence is sealed and holds no key grant for {self.address}")

    def __repr__(self) -> str:
        """Show the address only: the private key never appears in reprs, logs or tracebacks."""
        return f"Reader({self.address})"


@dataclass(frozen=True)
class KnownKey:
    """A claim's content key held directly (disclosed by the claimant, or unwrapped by an arbitrator's browser)."""

    key: bytes

    def content_key(self, sealed: Mapping[str, Any]) -> bytes:
        """Return the key if it is the one the manifest committed to."""
        if not hmac.compare_digest(key_commitment(self.key), sealed["keyCommitment"]):
            raise SealError("the given content key is not the key this claim's evidence is sealed with")
        return self.key

    def __repr__(self) -> str:
        """Never show the key."""
        return "KnownKey(...)"


EvidenceOpener = Reader | KnownKey
"""Whatever can open a sealed manifest: a reader with a key grant, or the content key itself."""


def parse_content_key(text: str) -> KnownKey:
    """A content key given as 0x + 64 hex digits, or SealError saying what is wrong."""
    if not isinstance(text, str) or not _HEX.match(text.lower()) or len(text) != 2 + 2 * CONTENT_KEY_BYTES:
        raise SealError(f"a content key is 0x + {2 * CONTENT_KEY_BYTES} hex digits")
    return KnownKey(bytes.fromhex(text[2:]))
