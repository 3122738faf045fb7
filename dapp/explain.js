// A decision's explanation in plain language: what the model saw (with heat maps), the weather records,
// the fraud signals, the rules that fired and the payout arithmetic. The document is hash-checked in the browser.
import { DECISION_WORDS, RULE_WORDS, ethers, state } from "./chain.js";
import { fromHex, openPhoto, openPrivate } from "./seal.js";
import { eth, h, pct, when } from "./ui.js";

const SIGNAL_WORDS = { weak: "weak signal", strong: "strong signal" };
const EXPLANATION_ARRIVAL_MS = 60_000; // how long a decided claim's explanation may take to reach the gateway
const EXPLANATION_POLL_MS = 1_000;

/** Fetch a JSON document by its keccak256 from the gateway (which holds the request up to `waitMs`, within its own
 * bound, while the document is not there yet; asked again until `waitMs` is over) and check the hash here, not just
 * on the server. The gateway waits, not this page: a page asking again and again would log a 404 each time. */
export async function fetchByHash(hash, waitMs = 0) {
  const giveUp = Date.now() + waitMs;
  const ask = () => fetch(`/explanations/${hash}?${new URLSearchParams({ wait: String(Math.max(0, Math.ceil((giveUp - Date.now()) / 1000))) })}`);
  let response = await ask();
  while (response.status === 404 && Date.now() < giveUp) {
    await new Promise((resolve) => setTimeout(resolve, EXPLANATION_POLL_MS));
    response = await ask();
  }
  if (!response.ok) throw new Error(`document ${hash.slice(0, 10)}... is not in the content store (HTTP ${response.status})`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  const actual = ethers.keccak256(bytes);
  if (actual.toLowerCase() !== hash.toLowerCase()) {
    throw new Error(`the gateway returned a document whose hash ${actual} is not ${hash}; it was not shown`);
  }
  return JSON.parse(new TextDecoder().decode(bytes));
}

/**
 * A decision's explanation by its on-chain hash: the committee's nodes announce it to the gateway, which fetches it
 * from their IPFS peers, so right after a decision it may take a few seconds to arrive; until then the gateway holds
 * the request, and this waits for it (EXPLANATION_ARRIVAL_MS at most).
 */
export function fetchExplanation(hash) {
  return fetchByHash(hash, EXPLANATION_ARRIVAL_MS);
}

/** A claim's evidence manifest by its root (hash-checked here), with the root it was fetched by. */
export async function fetchManifest(root) {
  return { ...(await fetchByHash(root)), root: root.toLowerCase() };
}

/** An image of sealed content: fetched as ciphertext, opened in this page with the claim's key. */
export function sealedImage(cid, key, open, alt) {
  const img = h("img", { alt, "data-cid": cid, class: "sealed" });
  fetch(`/content/${cid}`)
    .then((response) => { if (!response.ok) throw new Error(`not in the content store (HTTP ${response.status})`); return response.arrayBuffer(); })
    .then((buffer) => open(key, new Uint8Array(buffer)))
    .then((bytes) => { img.src = URL.createObjectURL(new Blob([bytes])); img.dataset.opened = "true"; })
    .catch((error) => { img.alt = `${alt}: ${error.message}`; img.dataset.opened = "false"; });
  return img;
}

/** A claim photo: plain, opened with the key, or a note that it is sealed and this account holds no key. */
export function evidencePhoto(cid, evidence, alt) {
  if (!evidence.sealed) return h("img", { src: `/content/${cid}`, alt, loading: "lazy" });
  if (!evidence.key) return h("p", { class: "sealed-note" }, `${alt} is sealed: only its committee, insurer, claimant and whoever they share its key with can see it.`);
  return sealedImage(cid, evidence.key, openPhoto, alt);
}

/** A heat map: sealed with the claim's key when the photos are (it shows the photo), so opened like them. */
function heatMap(cid, evidence, alt) {
  if (!evidence.sealed) return h("img", { src: `/content/${cid}`, alt, loading: "lazy" });
  if (!evidence.key) return null; // the photo's note already says it is sealed
  return sealedImage(cid, evidence.key, openPrivate, alt);
}

/** The EXIF line of a finding: sealed facts are opened here with the claim's key, or said to be sealed. */
function exifLine(exif, evidence) {
  if (!exif?.sealed) return h("small", { class: "exif" }, exifWords(exif));
  const line = h("small", { class: "exif sealed" }, " Camera metadata is sealed with the claim's key.");
  if (evidence.key) {
    openPrivate(evidence.key, fromHex(exif.sealed))
      .then((bytes) => { line.textContent = exifWords(JSON.parse(new TextDecoder().decode(bytes))); line.dataset.opened = "true"; })
      .catch(() => { line.textContent = " Camera metadata is sealed and did not open with this key."; });
  }
  return line;
}

function exifWords(exif) {
  const known = Object.entries(exif || {}).filter(([, v]) => v !== null && v !== false);
  if (!known.length) return " The photo carries no camera time or place.";
  return ` Camera metadata: ${known.map(([k, v]) => `${k} ${v}`).join(", ")}.`;
}

/** A full-size viewer of one photo in a modal dialog: zoom in and out, and its heat map shown in the photo's place
 * and hidden again; Escape or Close shuts it. */
export function openViewer(photo, heat, title) {
  const img = h("img", { class: "viewed", alt: photo.alt, src: photo.src, "data-zoom": "1" });
  let zoom = 1;
  let heatOn = false;
  const setZoom = (z) => {
    zoom = Math.min(4, Math.max(1, z));
    img.style.width = `${zoom * 100}%`;
    img.dataset.zoom = String(zoom);
  };
  const heatButton = heat?.src ? h("button", { type: "button", class: "toggle-heat", "aria-pressed": "false", onclick: () => {
    heatOn = !heatOn;
    img.src = heatOn ? heat.src : photo.src;
    img.alt = heatOn ? heat.alt : photo.alt;
    heatButton.setAttribute("aria-pressed", String(heatOn));
    heatButton.textContent = heatOn ? "Hide the heat map" : "Show the heat map";
    legend.hidden = !heatOn;
  } }, "Show the heat map") : null;
  const legend = heatmapLegend();
  legend.hidden = true;
  const dialog = h("dialog", { class: "viewer", "aria-label": title },
    h("div", { class: "viewer-bar" }, h("strong", {}, title), heatButton,
      h("button", { type: "button", class: "zoom-in", onclick: () => setZoom(zoom + 0.5) }, "Zoom in"),
      h("button", { type: "button", class: "zoom-out", onclick: () => setZoom(zoom - 0.5) }, "Zoom out"),
      h("button", { type: "button", class: "close-viewer", onclick: () => dialog.close() }, "Close")),
    heatButton ? legend : null, h("div", { class: "viewer-frame" }, img));
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}

function photoFinding(f, names, evidence) {
  const label = f.damaged ? `${f.severity} damage` : "no damage seen";
  const title = `Photo ${f.index + 1}`;
  const photo = evidencePhoto(f.cid, evidence, `claim photo ${f.index + 1} (${names[f.index] || f.cid})`);
  const heat = f.heatmapCid ? heatMap(f.heatmapCid, evidence, `heat map of what the model looked at in photo ${f.index + 1}`) : null;
  const view = photo.tagName === "IMG"
    ? h("button", { type: "button", class: "view-photo", onclick: () => openViewer(photo, heat, `${title}: ${label}`) }, `View ${title.toLowerCase()} full size`)
    : null;
  return h("figure", { class: "finding" },
    h("div", { class: "pair" }, photo, heat),
    view,
    h("figcaption", {},
      h("strong", {}, `Photo ${f.index + 1}: ${label}`),
      ` - the model says ${f.label} with ${pct(f.confidenceBps)} confidence; probability of any damage ${pct(f.damageBps)}.`,
      exifLine(f.exif, evidence)));
}

function weather(records) {
  if (records === null) return h("p", {}, "Weather was not checked for this peril.");
  if (!records.length) return h("p", {}, "No weather record of the claimed peril was found near the place and time of the incident.");
  return h("ul", { class: "records" }, records.map((r) => h("li", {},
    `${r.eventType} (${r.source}, record ${r.recordId}): ${r.begin} to ${r.end}, ` +
    `${r.distanceM === null ? "same county or zone" : `${(r.distanceM / 1000).toFixed(1)} km away`}` +
    `${r.magnitude !== null ? `, magnitude ${r.magnitude} ${r.magnitudeUnit || ""}` : ""}; match: ${r.match}; as of ${r.asOf}`)));
}

/** The heat maps' colour scale (the nodes' own ramp, from the gateway) and what the colours do and do not mean. */
export function heatmapLegend() {
  const ramp = state.config.constants.heatmapRamp;
  const bar = h("span", { class: "ramp", "aria-hidden": "true" });
  bar.style.background = `linear-gradient(to right, ${ramp.map(([stop, [r, g, b]]) => `rgb(${r} ${g} ${b}) ${stop * 100}%`).join(", ")})`;
  return h("div", { class: "heatmap-legend", role: "note", "aria-label": "heat map legend" },
    h("p", { class: "scale" }, h("span", {}, "Heat map scale: blue, looked at least"), bar, h("span", {}, "red, looked at most")),
    h("p", { class: "hint" }, "A heat map colours the parts of its photo the model looked at to reach its reading of that " +
      "photo. Each map is scaled to its own photo, so red means \"most, in this photo\", not an amount of damage. " +
      "Every map has a red spot, even on a photo the model read as no damage: there the red shows where the model " +
      "looked to see that, and is not evidence of damage."));
}

/** The payout arithmetic in words; figures the decision does not pay are marked as what approval would pay. */
function arithmeticWords(a, doc) {
  const decided = BigInt(doc.payout);
  const hypothetical = BigInt(a.payout) !== decided;
  if (a.estimate === null) return `No repair estimate applies (damage found: ${a.severity ?? "none"}), so the claim pays ${eth(decided)}.`;
  const steps = `the repair estimate for the policy's vehicle class, ${a.vehicleClass} (declared when the policy was bought), with ${a.severity} damage is ${eth(a.estimate)}; ` +
    `the loss is the smaller of that and the ${eth(a.claimed)} claimed, ${eth(a.loss)}; less the ${eth(a.deductible)} ` +
    `deductible that is ${eth(a.net)}, capped by the cover left (${eth(a.remainingCoverage)})`;
  if (!hypothetical) return `How the payout was worked out: ${steps}, so the claim pays ${eth(a.payout)}.`;
  return `If the claim were approved (it is not, so far): ${steps}, so it would pay ${eth(a.payout)}. ` +
    `This is not a payout: the decision pays ${eth(decided)}.`;
}

/** Render an explanation document in words, with the codes and hashes behind a "Technical details" toggle;
 * `evidence` says whether the claim's photos are sealed and holds their key if this account has one. */
export function renderExplanation(doc, hash, evidence = { sealed: false, key: null }) {
  const a = doc.payoutArithmetic;
  const names = Object.fromEntries((doc.inputs?.photos || []).map((p, i) => [i, p.name]));
  const incident = doc.claim.incident;
  const decision = DECISION_WORDS[doc.decision.code] || doc.decision.name;
  return h("section", { class: "explanation", "aria-label": "decision explanation" },
    h("h4", {}, `Decision: ${decision}; it pays ${eth(doc.payout)}.`),
    h("p", { class: "confidence" }, `Confidence ${pct(doc.confidenceBps)}: how sure the oracle is of what it found in the ` +
      "photos (the least sure photo, lowered for any weak fraud signal); a person reviews decisions it is not sure enough of."),
    h("p", {}, `Claim ${doc.claim.claimId}: ${incident.perilName} on ${incident.timeIso} near ` +
      `${(incident.latE6 / 1e6).toFixed(4)}, ${(incident.lonE6 / 1e6).toFixed(4)}; claimed ${eth(incident.claimedAmount)}.`),
    h("h5", {}, "Why"),
    h("ul", { class: "rules" }, doc.rules.map((r) => h("li", { class: `rule ${r.outcome.toLowerCase()}` },
      `${RULE_WORDS[r.outcome] || "Note"}: ${r.reason}`))),
    h("h5", {}, "Payout arithmetic"),
    h("p", { class: "arithmetic", "data-hypothetical": String(BigInt(a.payout) !== BigInt(doc.payout)) }, arithmeticWords(a, doc)),
    h("h5", {}, "What the model saw"),
    heatmapLegend(),
    h("div", { class: "findings" }, doc.findings.map((f) => photoFinding(f, names, evidence))),
    h("h5", {}, "Fraud signals"),
    doc.fraudSignals.length
      ? h("ul", { class: "signals" }, doc.fraudSignals.map((s) => h("li", {}, `${SIGNAL_WORDS[s.strength] || s.strength}: ${s.reason}`)))
      : h("p", {}, "None."),
    h("h5", {}, "Weather records"),
    weather(doc.sources),
    h("p", { class: "verified" }, "Checked in your browser: this explanation is exactly the one recorded on the chain."),
    h("details", { class: "technical" }, h("summary", {}, "Technical details"),
      h("p", { class: "meta" },
        `Decision code ${doc.decision.name} (${doc.decision.code}); confidence ${doc.confidenceBps} basis points; rules fired: ` +
        `${doc.rules.map((r) => `${r.id} (${r.outcome})`).join(", ")}. Model ${doc.model.id} (sha256 ${doc.model.sha256}), ` +
        `code ${doc.code.version}, terms keccak256 ${doc.termsHash}, submitted ${when(doc.claim.submittedAt)}. ` +
        `Explanation keccak256 ${hash}, equal to the claim's on-chain explanationHash.`)));
}
