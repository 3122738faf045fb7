// Sealed evidence in the browser: the same construction as oracle/privacy.py, in WebCrypto. Photos are encrypted
// with a fresh AES-256-GCM content key per claim before they leave the page; the key is wrapped for each reader's
// X25519 key (published in the KeyDirectory) with an ephemeral X25519 exchange and HKDF-SHA256.
const subtle = crypto.subtle;
const text = new TextEncoder();

export const SEAL_SCHEME = "x25519-hkdf-sha256-aes256gcm/v1";
const PHOTO_PURPOSE = text.encode("claims-oracle/photo/v1");
const PRIVATE_PURPOSE = text.encode("claims-oracle/private/v1");
const PLACE_PURPOSE = text.encode("claims-oracle/place/v1");
const WRAP_INFO = text.encode("claims-oracle/key-wrap/v1");
const IDENTITY_INFO = text.encode("claims-oracle/x25519-identity/v1");
const INSURED_SALT_INFO = text.encode("claims-oracle/insured-object-salt/v1");
const COMMITMENT_PREFIX = text.encode("claims-oracle/key-commitment/v1");
const NONCE_BYTES = 12;
// PKCS #8 wrapping of a raw X25519 private key (RFC 8410): WebCrypto imports private keys only in this form
const X25519_PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20]);

const concat = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) { out.set(part, at); at += part.length; }
  return out;
};
export const toHex = (bytes) => "0x" + [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
export const fromHex = (hex) => Uint8Array.from(hex.replace(/^0x/, "").match(/../g) || [], (b) => parseInt(b, 16));

async function hkdf(secret, info, length = 32) {
  const base = await subtle.importKey("raw", secret, "HKDF", false, ["deriveBits"]);
  return new Uint8Array(await subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info }, base, length * 8));
}

async function aesKey(raw) {
  return subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
}

/** The text an account signs to derive its evidence key (oracle.privacy.encryption_key_message). */
export function keyMessage(chainId, directory, account) {
  return `claims-oracle encryption key v1\nchain ${chainId}\ndirectory ${directory.toLowerCase()}\naccount ${account.toLowerCase()}`;
}

/** An identity ({address, privateKey, publicKey, salt}) from the account's 65-byte signature over keyMessage; the
 * salt commits the account's vehicle ids. */
export async function identityFromSignature(address, signatureHex) {
  const seed = await hkdf(fromHex(signatureHex), IDENTITY_INFO);
  const salt = await hkdf(fromHex(signatureHex), INSURED_SALT_INFO);
  const privateKey = await subtle.importKey("pkcs8", concat(X25519_PKCS8_PREFIX, seed), { name: "X25519" }, true, ["deriveBits"]);
  const jwk = await subtle.exportKey("jwk", privateKey);
  const publicKey = Uint8Array.from(atob(jwk.x.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
  return { address: address.toLowerCase(), privateKey, publicKey, salt };
}

/** A fresh random content key for one claim. */
export function newContentKey() {
  return crypto.getRandomValues(new Uint8Array(32));
}

/** The public commitment to a content key that the manifest carries. */
export async function keyCommitment(key) {
  return toHex(new Uint8Array(await subtle.digest("SHA-256", concat(COMMITMENT_PREFIX, key))));
}

async function sealWith(key, plaintext, purpose) {
  const nonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
  const body = await subtle.encrypt({ name: "AES-GCM", iv: nonce, additionalData: purpose }, await aesKey(key), plaintext);
  return concat(nonce, new Uint8Array(body));
}

async function openWith(key, sealed, purpose) {
  try {
    const body = await subtle.decrypt({ name: "AES-GCM", iv: sealed.slice(0, NONCE_BYTES), additionalData: purpose },
      await aesKey(key), sealed.slice(NONCE_BYTES));
    return new Uint8Array(body);
  } catch {
    throw new Error("the sealed bytes do not open with this claim's key");
  }
}

/** Encrypt a photo's bytes under the claim's content key: nonce || ciphertext || tag. */
export const sealPhoto = (key, bytes) => sealWith(key, bytes, PHOTO_PURPOSE);
/** Decrypt a sealed photo. */
export const openPhoto = (key, sealed) => openWith(key, sealed, PHOTO_PURPOSE);
/** Seal the claim's precise place (micro-degrees) for the manifest: the chain only gets its 0.1-degree area. */
export async function sealPlace(key, latE6, lonE6) {
  return toHex(await sealWith(key, text.encode(JSON.stringify({ latE6, lonE6 })), PLACE_PURPOSE));
}
/** Decrypt what an explanation keeps private (heat maps, EXIF facts). */
export const openPrivate = (key, sealed) => openWith(key, sealed, PRIVATE_PURPOSE);

async function wrappingKey(shared, epk, recipientPub, to) {
  return aesKey(await hkdf(shared, concat(WRAP_INFO, epk, recipientPub, text.encode(to))));
}

/** Wrap a content key for one reader (address and 32-byte X25519 public key): a grant as the manifest lists it. */
export async function wrapKey(contentKey, recipientPub, recipient) {
  const to = recipient.toLowerCase();
  const ephemeral = await subtle.generateKey({ name: "X25519" }, true, ["deriveBits"]);
  const epk = new Uint8Array(await subtle.exportKey("raw", ephemeral.publicKey));
  const peer = await subtle.importKey("raw", recipientPub, { name: "X25519" }, false, []);
  const shared = new Uint8Array(await subtle.deriveBits({ name: "X25519", public: peer }, ephemeral.privateKey, 256));
  const nonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
  const wrapped = await subtle.encrypt({ name: "AES-GCM", iv: nonce, additionalData: text.encode(to) },
    await wrappingKey(shared, epk, recipientPub, to), contentKey);
  return { to, epk: toHex(epk), nonce: toHex(nonce), key: toHex(new Uint8Array(wrapped)) };
}

/** Open a grant with one's identity and check the key against the manifest's commitment. */
export async function unwrapKey(grant, identity, commitment) {
  const epk = fromHex(grant.epk);
  const peer = await subtle.importKey("raw", epk, { name: "X25519" }, false, []);
  const shared = new Uint8Array(await subtle.deriveBits({ name: "X25519", public: peer }, identity.privateKey, 256));
  let key;
  try {
    key = new Uint8Array(await subtle.decrypt({ name: "AES-GCM", iv: fromHex(grant.nonce), additionalData: text.encode(grant.to) },
      await wrappingKey(shared, epk, identity.publicKey, grant.to), fromHex(grant.key)));
  } catch {
    throw new Error(`the key grant for ${grant.to} does not open with this account's key`);
  }
  if ((await keyCommitment(key)) !== commitment) throw new Error(`the key in the grant for ${grant.to} is not the claim's key`);
  return key;
}

/** The content key of a sealed manifest for this identity, or null when the manifest holds no grant for it. */
export async function contentKeyFor(manifest, identity) {
  const grant = manifest.sealed?.grants.find((g) => g.to === identity.address);
  return grant ? unwrapKey(grant, identity, manifest.sealed.keyCommitment) : null;
}
