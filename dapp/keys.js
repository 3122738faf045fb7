// Evidence keys in the dApp: the account's own X25519 identity (derived from one signature per session, kept in
// memory only), publishing it in the KeyDirectory, and the readers a claim's evidence is sealed for.
import { contracts, describeError, ethers, send, state, uploadPermit } from "./chain.js";
import { fetchManifest } from "./explain.js";
import { h, mount, notice } from "./ui.js";
import { SEAL_SCHEME, contentKeyFor, fromHex, identityFromSignature, keyCommitment, keyMessage, newContentKey, sealPhoto, sealPlace, toHex, unwrapKey, wrapKey } from "./seal.js";

const identities = new Map(); // address -> identity, for this page's life only

/** The connected account's evidence identity; the wallet signs the key message once per session. */
export async function myIdentity() {
  const { address, signer } = state.wallet;
  const known = identities.get(address.toLowerCase());
  if (known) return known;
  const { keys } = contracts();
  if (!keys) throw new Error("this gateway names no key directory, so evidence cannot be sealed");
  const signature = await signer.signMessage(keyMessage(state.config.chainId, await keys.getAddress(), address));
  const identity = await identityFromSignature(address, signature);
  identities.set(address.toLowerCase(), identity);
  return identity;
}

/** The public key an account published, or null. */
export async function publishedKey(account) {
  const key = await contracts().keys.keyOf(account);
  return BigInt(key) === 0n ? null : fromHex(key);
}

/** Publish the connected account's evidence key unless it is already the published one; true if it sent. */
export async function publishMyKey() {
  const identity = await myIdentity();
  const current = await publishedKey(state.wallet.address);
  if (current && toHex(current) === toHex(identity.publicKey)) return false;
  await send("Publish your evidence key", ({ keys }) => keys.publish(toHex(identity.publicKey)));
  return true;
}

/** Who a claim on this product is sealed for (the committee of the rules epoch in force, which a claim filed now
 * records, and the insurer), with their published keys. */
export async function productReaders(productId, product) {
  const { manager, governor } = contracts();
  const members = [...(await governor.committee(productId, await manager.committeeEpoch(productId)))];
  const accounts = [...members, product.insurer];
  const keys = await Promise.all(accounts.map(publishedKey));
  const missing = accounts.filter((_, i) => !keys[i]);
  if (missing.length) {
    throw new Error(`${missing.map((a) => ethers.getAddress(a)).join(", ")} published no evidence key, so the photos ` +
      "could not be sealed for them; the claim was not filed");
  }
  return accounts.map((address, i) => ({ address, key: keys[i] }));
}

/** Seal a claim's photo bytes and precise place for its readers and the claimant: {sealedPhotos, sealed, place} for
 * /api/evidence. */
export async function sealForReaders(photoBytes, readers, place) {
  const contentKey = newContentKey();
  const me = await myIdentity();
  const sealedPhotos = await Promise.all(photoBytes.map((bytes) => sealPhoto(contentKey, bytes)));
  const everyone = [...readers, { address: me.address, key: me.publicKey }];
  const unique = [...new Map(everyone.map((r) => [r.address.toLowerCase(), r])).values()];
  const grants = await Promise.all(unique.map((r) => wrapKey(contentKey, r.key, r.address)));
  return { sealedPhotos, sealed: { scheme: SEAL_SCHEME, keyCommitment: await keyCommitment(contentKey), grants },
    place: await sealPlace(contentKey, place.latE6, place.lonE6) };
}

/** The content key of a claim's manifest for the connected account, or null if it holds no grant for it. */
export async function myContentKey(manifest) {
  return contentKeyFor(manifest, await myIdentity());
}

export const KEY_GRANTS_TYPE = "claims-oracle/key-grants";

/** The arbitration panel's members with their published keys (members without one are left out). */
async function panelReaders(panel) {
  const members = [];
  for (let i = 0; ; i += 1) {
    try { members.push(await panel.panel(i)); } catch { break; }
  }
  const keys = await Promise.all(members.map(publishedKey));
  return members.map((address, i) => ({ address, key: keys[i] })).filter((r) => r.key);
}

/** Who can read sealed evidence for a product's arbitrator: this deployment's panel's members with published keys,
 * else the arbitrator's own published key; none for an arbitrator that publishes no key (an ERC-792 court such as
 * Kleros). */
export async function arbitratorReaders(arbitrator) {
  const { panel } = contracts();
  if (panel && (await panel.getAddress()).toLowerCase() === String(arbitrator).toLowerCase()) return panelReaders(panel);
  const key = await publishedKey(arbitrator);
  return key ? [{ address: arbitrator, key }] : [];
}

const evidenceDocs = new Map(); // evidence URI -> promise of its ERC-1497 document (null if it cannot be read)

/** An ERC-1497 evidence document by its ipfs:// URI, read once per page (null if unreadable; asked again later). */
export function evidenceDoc(uri) {
  if (!uri.startsWith("ipfs://")) return Promise.resolve(null);
  if (!evidenceDocs.has(uri)) {
    evidenceDocs.set(uri, fetch(`/content/${uri.slice("ipfs://".length)}`)
      .then((response) => (response.ok ? response.json() : null))
      .catch(() => null)
      .then((doc) => {
        if (doc === null) evidenceDocs.delete(uri); // asked again on the next block
        return doc;
      }));
  }
  return evidenceDocs.get(uri);
}

/** The grants for a sealed manifest's key: its own, then those of the key-grants evidence documents naming it. */
function grantsOf(manifest, evidenceDocs) {
  const shared = evidenceDocs.filter((doc) => doc?.type === KEY_GRANTS_TYPE && doc.evidenceRoot?.toLowerCase() === manifest.root);
  return [...manifest.sealed.grants, ...shared.flatMap((doc) => doc.grants || [])];
}

/** The content key of a claim for the connected account: from its grant in the manifest, else from a key-grants
 * evidence document addressed to it; null when it holds none. */
export async function claimKey(manifest, evidenceDocs = []) {
  const me = await myIdentity();
  let problem = null;
  for (const grant of grantsOf(manifest, evidenceDocs).filter((g) => g.to === me.address)) {
    try {
      return await unwrapKey(grant, me, manifest.sealed.keyCommitment);
    } catch (error) {
      problem = error; // a grant that does not open (anyone on the claim may publish one): try the next
    }
  }
  if (problem) throw problem;
  return null;
}

/** What a claim's arbitrator can read of its photos, from the manifest and the claim's evidence at a snapshot:
 * {sealed, readers: the arbitrator's key holders, missing: those no grant names yet}. */
export async function arbitratorAccess(snap, claimId, evidenceRoot, arbitrator) {
  const manifest = await fetchManifest(evidenceRoot);
  if (!manifest.sealed) return { sealed: false, readers: [], missing: [] };
  const [logs, readers] = await Promise.all([snap.events(snap.desk, snap.desk.filters.Evidence(null, claimId)),
    arbitratorReaders(arbitrator)]);
  const docs = await Promise.all(logs.map((l) => evidenceDoc(l.args._evidence)));
  const granted = new Set(grantsOf(manifest, docs).map((g) => g.to));
  return { sealed: true, readers, missing: readers.filter((r) => !granted.has(r.address.toLowerCase())) };
}

/** Wrap a claim's content key for more readers and publish the grants as ERC-1497 evidence on the claim (its result
 * shows beside `anchor` too); the receipt, or null if the transaction failed. */
export async function shareClaimKey(claimId, manifest, contentKey, readers, label, anchor = null) {
  const grants = await Promise.all(readers.map((r) => wrapKey(contentKey, r.key, r.address)));
  const doc = { type: KEY_GRANTS_TYPE, name: label, description: `The claim's content key, wrapped for ${readers.length} reader(s).`,
    claimId: String(claimId), evidenceRoot: manifest.root, grants };
  const response = await fetch("/content", { method: "POST", body: new Blob([JSON.stringify(doc)], { type: "application/json" }),
    headers: await uploadPermit() });
  const body = await response.json();
  if (!response.ok) throw new Error(`storing the key grants failed: ${body.error?.message || response.status}`);
  return send(`Share claim ${claimId} with the arbitration panel`, ({ desk }) => desk.submitEvidence(claimId, `ipfs://${body.cid}`), anchor);
}

/** The insured object the chain stores for a vehicle id: keccak256(salt || normalised id), the salt derived from
 * the account's own signature (as oracle.privacy.insured_object_commitment), so a plate cannot be brute-forced. */
export async function insuredObject(vehicleId) {
  const normalised = vehicleId.replace(/\s+/g, "").toUpperCase();
  if (!normalised) throw new Error("Enter the insured vehicle's id (its VIN or plate).");
  const { salt } = await myIdentity();
  return ethers.keccak256(ethers.concat([salt, ethers.toUtf8Bytes(normalised)]));
}

/** A line saying whether the connected account has published its evidence key, with a button to publish it: an
 * insurer or a panelist without one cannot read the sealed photos of the claims they decide. */
export function keyStatus(role) {
  const line = h("p", { class: "key-status" });
  const paint = async () => {
    const published = await publishedKey(state.wallet.address);
    if (published) {
      mount(line, "Your evidence key is published: claimants seal their photos for it.");
      return;
    }
    mount(line, `As ${role} you need an evidence key so claimants can seal their photos for you. `,
      h("button", { type: "button", class: "publish-key", onclick: () => publishMyKey().then(paint).catch((e) => notice(describeError(e), "error")) },
        "Publish my evidence key"));
  };
  paint().catch((e) => mount(line, describeError(e)));
  return line;
}
