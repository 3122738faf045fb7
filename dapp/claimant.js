// Claimant: buy a policy, submit a claim with photos, follow it live, read the explanation, dispute, withdraw.
import { DECISION, DECISION_WORDS, PERILS, RULINGS, STATUS, chainTime, contracts, describeError, ethers, followScreen, rulingPayout, send, snapshot, state, uploadPermit } from "./chain.js";
import { evidencePhoto, fetchByHash, fetchExplanation, fetchManifest, renderExplanation } from "./explain.js";
import { arbitratorAccess, arbitratorReaders, claimKey as evidenceKey, insuredObject, productReaders, sealForReaders, shareClaimKey } from "./keys.js";
import { clearDraft, draftKey, hasDraft, keepDraft } from "./drafts.js";
import { eth, field, fieldError, h, mount, mountIfChanged, notice, parseEth, progress, reconcile, short, signature, when } from "./ui.js";

const classPricesOf = new Map(); // product id -> promise of its vehicle classes and premiums (fixed at creation)

/** The vehicle classes a product sells, in its terms' cost-schedule order, each with the premium the contract charges
 * for it: [{ index, name, premium }]. A product's prices never change, so each product is asked once; without its
 * terms document the classes are named by their number. */
export function classPrices(product) {
  const key = String(product.id ?? product.productId);
  if (!classPricesOf.has(key)) {
    const ask = (async () => {
      const { manager } = contracts();
      const terms = await fetchByHash(product.termsHash).catch(() => null);
      const names = terms?.costSchedule ? Object.keys(terms.costSchedule) : [];
      const prices = [];
      for (let index = 0; index < state.config.constants.maxVehicleClasses; index++) {
        let premium;
        try {
          premium = await manager.premiumOf(key, index);
        } catch {
          break; // a product prices its classes from the first on, without gaps: past the last, none is offered
        }
        prices.push({ index, name: names[index] ?? `class ${index + 1}`, premium });
      }
      return prices;
    })();
    ask.catch(() => classPricesOf.delete(key)); // a failed read is asked again next time
    classPricesOf.set(key, ask);
  }
  return classPricesOf.get(key);
}

const STEPS = ["Submitted", "Decided", "Window / dispute", "Resolved", "Paid"];

/** The products on offer as of a snapshot (see chain.js), newest first. */
export async function listProducts(snap) {
  snap ??= await snapshot();
  const created = await snap.events(snap.manager, snap.manager.filters.ProductCreated());
  return Promise.all(created.reverse().map(async (log) =>
    ({ id: log.args.productId, ...(await snap.manager.product(log.args.productId)).toObject() })));
}

function perilNames(mask) {
  return PERILS.filter((_, i) => (BigInt(mask) >> BigInt(i)) & 1n);
}

function needWallet(view, role) {
  return mount(view, h("section", { class: "panel" }, h("h1", {}, role),
    h("p", { class: "hint", id: "need-wallet" }, "Choose a dev-wallet account or connect your browser wallet (top right) to continue.")));
}

/** A product on offer with its buy form; the form, and what is typed in it, stays while the product updates. */
function productCard(first) {
  let p = first;
  const info = h("div");
  const vehicle = h("input", { type: "text", required: true, maxlength: 64, placeholder: "e.g. VIN or plate", name: "insured" });
  // the class is declared here, once: it sets the premium and what every claim's repair is priced at
  const vehicleClass = h("select", { name: "vehicleClass", required: true },
    h("option", { value: "" }, "Choose the vehicle's class"));
  const prices = h("p", { class: "class-premiums" });
  const button = h("button", { type: "submit" });
  let offered = [];
  const chosen = () => offered.find((c) => String(c.index) === vehicleClass.value) ?? null;
  const label = () => { button.textContent = chosen() ? `Buy policy for ${eth(chosen().premium)}` : "Buy policy"; };
  vehicleClass.addEventListener("change", () => { fieldError(vehicleClass, ""); label(); });
  const buy = async (event) => {
    event.preventDefault();
    const insured = vehicle.value.trim();
    vehicleError.textContent = "";
    fieldError(vehicleClass, "");
    if (!insured) {
      vehicleError.textContent = "Enter the insured vehicle's id (its VIN or plate) before buying.";
      vehicle.focus();
      return;
    }
    const declared = chosen();
    if (!declared) {
      fieldError(vehicleClass, "Choose the vehicle's class: it sets the premium and what the policy pays for repairs.");
      vehicleClass.focus();
      return;
    }
    const { id } = p;
    const commitment = await insuredObject(insured);
    const receipt = await send(`Buy policy on product ${id}`, async ({ manager }) =>
      manager.buyPolicy(id, commitment, declared.index, { value: declared.premium }));
    if (receipt) rememberVehicle(commitment, insured);
    if (receipt && vehicle.value.trim() === insured) vehicle.value = "";
  };
  const vehicleError = h("p", { class: "error", role: "alert" });
  const form = h("form", { class: "inline", onsubmit: buy, novalidate: true }, field("Insured vehicle id", vehicle, "the chain stores only a commitment salted by your wallet's signature"), vehicleError,
    field("Vehicle class", vehicleClass, "fixed for the policy's term: claims are priced for this class, never another"), button);
  classPrices(p).then((list) => {
    offered = list;
    mount(vehicleClass, h("option", { value: "" }, "Choose the vehicle's class"),
      list.map((c) => h("option", { value: String(c.index) }, `${c.name}: ${eth(c.premium)}`)));
    prices.textContent = `Premium by vehicle class: ${list.map((c) => `${c.name} ${eth(c.premium)}`).join(", ")}.`;
    label();
  }).catch((error) => { prices.textContent = `The premiums per vehicle class could not be read: ${describeError(error)}`; });
  const el = h("li", { class: "card product", "data-product": String(p.id) }, info, form);
  const update = (next) => {
    p = next;
    mount(info,
      h("h3", {}, `Product ${p.id}${p.paused ? " (paused)" : ""}`),
      h("p", {}, `Cover ${eth(p.coverageLimit)} for ${Number(p.term) / 86400} days, deductible ${eth(p.deductible)}; ` +
        `perils: ${perilNames(p.perils).join(", ")}.`), prices,
      h("p", { class: "hint" }, `Decisions up to ${eth(p.instantLimit)} with at least ${Number(p.minConfidence) / 100}% confidence ` +
        `pay at once; others open a ${Number(p.disputeWindow) / 3600} h dispute window (bond ${eth(p.disputeBond)}).`));
    label();
    if (p.paused) form.remove();
    else if (!form.isConnected) el.append(form);
  };
  return { el, update };
}

async function myPolicies(snap, address) {
  const { manager, governor } = snap;
  const logs = await snap.events(manager, manager.filters.PolicyPurchased(null, null, address));
  const now = BigInt(await snap.time());
  return Promise.all(logs.map(async (log) => {
    const policy = (await manager.policy(log.args.policyId)).toObject();
    // a rules change announced for the product: until it applies, the holder may cancel for a pro-rata refund
    const changeAt = governor ? BigInt(await governor.changeEffectiveAt(policy.productId)) : 0n;
    let refund = null;
    if (changeAt > 0n && BigInt(policy.remainingCoverage) > 0n && now < BigInt(policy.end)) {
      const product = await manager.product(policy.productId);
      const premium = await manager.premiumOf(policy.productId, policy.vehicleClass); // what this policy was sold at
      refund = (BigInt(premium) * (BigInt(policy.end) - now)) / BigInt(product.term);
    }
    return { id: log.args.policyId, insuredObject: log.args.insuredObject, ...policy, changeAt, refund };
  }));
}

/** What a holder may do about an announced rules change: the change's time and, if possible, cancel for a refund. */
function changeNotice(p) {
  if (!p.changeAt) return null;
  const text = `The insurer announced new rules for product ${p.productId} (its oracle committee, approved models or ` +
    `instant payouts), in force for claims filed from ${when(p.changeAt)}; claims filed before then keep today's rules.`;
  if (p.refund === null) return h("p", { class: "rules-change" }, text);
  if (BigInt(p.openClaims) > 0n) {
    return h("p", { class: "rules-change" }, text, " You may cancel this policy once it has no open claim.");
  }
  return h("p", { class: "rules-change" }, text,
    ` If you do not accept them, you may cancel this policy now: the premium for the rest of the term, about ${eth(p.refund)}, is refunded. `,
    h("button", { type: "button", class: "cancel-policy", onclick: () =>
      send(`Cancel policy ${p.id}`, ({ manager }) => manager.cancelPolicy(p.id, state.wallet.address)) },
    `Cancel policy for about ${eth(p.refund)}`));
}

const VEHICLES_KEY = "claims-oracle.vehicles"; // insured-object commitment -> the vehicle id typed, on this device only

/** Remember, in this browser only, which vehicle id a policy's on-chain commitment stands for. */
function rememberVehicle(commitment, vehicleId) {
  const known = JSON.parse(localStorage.getItem(VEHICLES_KEY) || "{}");
  known[String(commitment).toLowerCase()] = vehicleId;
  localStorage.setItem(VEHICLES_KEY, JSON.stringify(known));
}

/** The vehicle id this browser remembers for a commitment, or null. */
function vehicleOf(commitment) {
  try {
    return JSON.parse(localStorage.getItem(VEHICLES_KEY) || "{}")[String(commitment).toLowerCase()] ?? null;
  } catch {
    return null;
  }
}

/** What a policy of the vehicle class `className` on `product` pays for each damage level under its terms' cost
 * schedule (the repair estimate, less the deductible, at most the cover left), as a table behind a toggle; null
 * without terms or when the schedule has no such class. */
async function payoutTable(product, className, coverLeft) {
  const terms = await fetchByHash(product.termsHash).catch(() => null);
  const costs = terms?.costSchedule?.[className];
  if (!costs) return null;
  const levels = state.config.constants.severities;
  const deductible = terms.deductible?.applies && BigInt(terms.deductible.minimum) > BigInt(product.deductible)
    ? BigInt(terms.deductible.minimum) : BigInt(product.deductible);
  const pays = (estimate) => {
    const net = BigInt(estimate) > deductible ? BigInt(estimate) - deductible : 0n;
    return net < BigInt(coverLeft) ? net : BigInt(coverLeft);
  };
  return h("details", { class: "pays" }, h("summary", {}, "What this policy pays for each damage level"),
    h("div", { class: "table-wrap" }, h("table", {},
      h("caption", {}, `The repair estimate less the ${eth(deductible)} deductible, at most the cover left; a claim is paid at most what it claims.`),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Vehicle"), levels.map((l) => h("th", { scope: "col" }, `${l} damage`)))),
      h("tbody", {}, h("tr", {},
        h("th", { scope: "row" }, className), levels.map((l) => h("td", {}, costs[l] === undefined ? "-" : eth(pays(costs[l])))))))));
}

/** A policy with its cover left; its claim form, once opened, stays open (with its input) while the policy updates. */
function policyCard(first, productOf) {
  let p = first;
  const summary = h("p", { class: "policy-summary" });
  const slot = h("div");
  let opening = false;
  const open = async () => {
    if (slot.firstChild || opening) { // already open: keep what has been typed
      slot.querySelector("input, select")?.focus();
      return;
    }
    opening = true;
    try {
      mount(slot, await claimForm(() => p, productOf(p.productId), () => mount(slot)));
      slot.querySelector("input, select")?.focus();
    } catch (error) {
      notice(describeError(error), "error");
    } finally {
      opening = false;
    }
  };
  const insuredEl = h("p", { class: "insured" });
  const classEl = h("p", { class: "vehicle-class" });
  const paysEl = h("div");
  let paysKey = null;
  const showInsured = (policy) => {
    const vehicleId = vehicleOf(policy.insuredObject);
    insuredEl.textContent = vehicleId ? `Insures vehicle ${vehicleId}.`
      : "Insures the vehicle whose id you gave when buying (this browser does not know it; the chain keeps only a salted commitment).";
    const product = productOf(policy.productId);
    const key = `${policy.productId}:${policy.remainingCoverage}`;
    if (product && key !== paysKey) {
      paysKey = key;
      classPrices(product).then(async (prices) => {
        const name = prices[Number(policy.vehicleClass)]?.name ?? `class ${Number(policy.vehicleClass) + 1}`;
        classEl.textContent = `Vehicle class: ${name}, declared when buying; every claim's repair is priced for it.`;
        mount(paysEl, await payoutTable(product, name, policy.remainingCoverage));
      });
    }
  };
  const changeEl = h("div");
  const el = h("li", { class: "card policy", "data-policy": String(p.id) },
    h("h3", {}, `Policy ${p.id}`), insuredEl, classEl, summary, changeEl, paysEl, h("button", { type: "button", class: "new-claim", onclick: open }, "Submit a claim"), slot);
  if (hasDraft(draftKey(state.wallet.address, p.id))) open(); // a claim half filled before a reload opens again
  const update = (next) => {
    p = next;
    summary.textContent = `Product ${p.productId}; cover left ${eth(p.remainingCoverage)}; valid ${when(p.start)} to ${when(p.end)}; ` +
      `${p.claimCount} claim(s).`;
    mountIfChanged(changeEl, signature([p.changeAt, p.refund, p.openClaims]), () => changeNotice(p));
    showInsured(p);
  };
  return { el, update };
}

function checkPhotos(files) {
  const { maxPhotos, maxPhotoBytes, photoTypes } = state.config.limits;
  if (!files.length) return "Add at least one photo of the damage.";
  if (files.length > maxPhotos) return `${files.length} photos is more than the ${maxPhotos} a claim may carry.`;
  for (const [i, file] of files.entries()) {
    if (file.type && !photoTypes.includes(file.type)) return `Photo ${i + 1}, "${file.name}", is not a JPEG, PNG or WebP photo.`;
    if (file.size > maxPhotoBytes) {
      return `Photo ${i + 1}, "${file.name}" is ${(file.size / 1048576).toFixed(1)} MB; photos may be at most ${(maxPhotoBytes / 1048576).toFixed(0)} MB each.`;
    }
  }
  return null;
}

/** What a file really is, by its first bytes and the gateway's file signatures: {words, mediaType} or null. */
async function sniffFile(file) {
  const head = new Uint8Array(await file.slice(0, 16).arrayBuffer());
  const hex = Array.from(head, (b) => b.toString(16).padStart(2, "0")).join("");
  return state.config.constants.fileSignatures
    .find((s) => s.parts.every(([offset, magic]) => hex.startsWith(magic, offset * 2))) ?? null;
}

/** The first photo whose bytes are no JPEG, PNG or WebP (whatever its name says), in words with its number from 1. */
async function sniffPhotos(files) {
  const { photoTypes } = state.config.limits;
  for (const [i, file] of files.entries()) {
    const found = await sniffFile(file);
    if (found?.mediaType && photoTypes.includes(found.mediaType)) continue;
    const what = found ? `is ${found.words}` : "is not a photo this page can read";
    const way = found?.words.includes("HEIC")
      ? "Set your camera to \"Most Compatible\" (JPEG), or export the photo as JPEG, then add it again."
      : "Choose the JPEG, PNG or WebP photo itself.";
    return `Photo ${i + 1}, "${file.name}", ${what}, not a JPEG, PNG or WebP photo, whatever its name says. ${way}`;
  }
  return null;
}

/** On a phone, a button that opens the camera and adds each photo taken to those already chosen. */
function cameraInput(add) {
  const camera = h("input", { type: "file", name: "camera", accept: state.config.limits.photoTypes.join(","), capture: "environment", class: "camera" });
  camera.addEventListener("change", () => { add([...camera.files]); camera.value = ""; });
  return h("label", { class: "camera-button" }, "Take a photo ", camera);
}

/** Everything wrong with a set of photos, checked in this page before anything is uploaded, or null. */
async function photoProblem(files) {
  return checkPhotos(files) ?? (await sniffPhotos(files));
}

/** Upload one file to the gateway's content store under the account's upload permit (signed once a session). */
async function upload(file) {
  const response = await fetch("/content", { method: "POST", body: file, headers: await uploadPermit() });
  const body = await response.json();
  if (!response.ok) throw new Error(`uploading "${file.name}" failed: ${body.error?.message || response.status}`);
  return body.cid;
}

/** Seal the photos in this page for the product's committee, its insurer and the claimant, upload only the
 * ciphertext, and have the gateway build the manifest; answers {evidenceRoot, evidenceURI}. */
async function sealedEvidence(files, policy, product, place) {
  const readers = await productReaders(policy.productId, product);
  const bytes = await Promise.all(files.map(async (f) => new Uint8Array(await f.arrayBuffer())));
  const { sealedPhotos, sealed, place: sealedPlace } = await sealForReaders(bytes, readers, place);
  const photos = [];
  for (const [i, data] of sealedPhotos.entries()) {
    const name = `photo-${i + 1}`; // the file's own name can name a plate or a person
    photos.push({ name, cid: await upload(new File([data], name, { type: "application/octet-stream" })) });
  }
  const response = await fetch("/api/evidence", { method: "POST", headers: { "Content-Type": "application/json", ...(await uploadPermit()) },
    body: JSON.stringify({ photos, sealed, place: sealedPlace }) }); // no class: the policy's, declared when bought
  const evidence = await response.json();
  if (!response.ok) throw new Error(`the evidence was refused: ${evidence.error?.message || response.status}`);
  return evidence;
}

/** The incident time a new claim starts with: an hour ago by the chain's clock, but never before the policy's
 * start (a policy bought in the newest block starts at the chain's current time, so that is the default then). */
export function defaultIncidentTime(start, now) {
  return Math.max(start, Math.min(now, now - 3600));
}

/** Seconds since the epoch as a datetime-local value in UTC, with seconds only when they are not zero. */
export function incidentInputValue(seconds) {
  const text = new Date(seconds * 1000).toISOString().slice(0, 19);
  return text.endsWith(":00") ? text.slice(0, 16) : text;
}

/** A chain time in UTC to the second, so two times in the same minute never read the same. */
function whenExact(seconds) {
  return new Date(Number(seconds) * 1000).toISOString().replace("T", " ").slice(0, 19) + " UTC";
}

/** The typed incident time (UTC) in seconds, or a sentence saying why a claim cannot carry it. */
export function checkIncidentTime(value, start, now) {
  const text = String(value || "");
  const seconds = Math.floor(Date.parse(text + (text.length === 16 ? ":00Z" : "Z")) / 1000);
  if (!text || !Number.isFinite(seconds)) throw new Error("Incident time is not a date and time.");
  if (seconds > now) throw new Error(`Incident time ${whenExact(seconds)} is after the chain's current time (${whenExact(now)}).`);
  if (seconds < start) throw new Error(`Incident time ${whenExact(seconds)} is before the policy started (${whenExact(start)}).`);
  return seconds;
}

/** The typed latitude and longitude in millionths of a degree, or a sentence saying what is missing or wrong. */
export function checkPlace(latText, lonText) {
  if (!String(latText).trim() && !String(lonText).trim()) {
    throw new Error("Choose where it happened: search for the town or city, use your location, or type the latitude " +
      "and longitude. The weather check needs the place, so the claim cannot go without it.");
  }
  const latE6 = Math.round(Number(latText) * 1e6);
  const lonE6 = Math.round(Number(lonText) * 1e6);
  if (!String(latText).trim() || !Number.isFinite(latE6) || Math.abs(latE6) > 90e6) throw new Error("Latitude must be a number from -90 to 90.");
  if (!String(lonText).trim() || !Number.isFinite(lonE6) || Math.abs(lonE6) > 180e6) throw new Error("Longitude must be a number from -180 to 180.");
  return [latE6, lonE6];
}

const PLACE_SEARCH_DELAY_MS = 250; // typing pauses this long before the gateway's gazetteer is asked
const GEOLOCATION_TIMEOUT_MS = 15000; // how long the device may take to say where it is

/** What a chosen place is (`words`) and what of it the chain records (its area). */
function placeSentence(latitude, longitude, words) {
  const grid = state.config.constants.areaGridE6 / 1e6;
  const area = (v) => (Math.round(v / grid) * grid).toFixed(1);
  return `${words}. The exact point stays sealed with your photos; the chain records only its ${grid}° area ` +
    `(${area(latitude)}, ${area(longitude)}).`;
}

/** Set the form's latitude and longitude inputs and the words for them (as typed ones, so a draft keeps them) and
 * say what was chosen. */
function setPlace(lat, lon, placeWords, chosen, latitude, longitude, words) {
  lat.value = latitude.toFixed(6);
  lon.value = longitude.toFixed(6);
  placeWords.value = words;
  lat.dispatchEvent(new Event("input", { bubbles: true }));
  chosen.textContent = placeSentence(latitude, longitude, words);
}

/** Where the incident happened: the device's position, or a city found by name in the gateway's offline gazetteer;
 * either fills the latitude and longitude, which stay editable. */
function placePicker(lat, lon, placeWords, problem) {
  const chosen = h("p", { class: "hint place-chosen", role: "status" }, lat.value && lon.value && placeWords.value
    ? placeSentence(Number(lat.value), Number(lon.value), placeWords.value) // kept by a draft across a reload
    : "No place chosen yet: search for the town or city, use your location, or type the latitude and longitude.");
  const results = h("ul", { class: "place-results", "aria-label": "places found" });
  const query = h("input", { type: "search", name: "place-search", autocomplete: "off", placeholder: "a town or city, in any language" });
  const choose = (latitude, longitude, words) => {
    problem.textContent = "";
    setPlace(lat, lon, placeWords, chosen, latitude, longitude, words);
  };
  for (const input of [lat, lon]) {
    input.addEventListener("input", (event) => {
      if (!event.isTrusted || !lat.value || !lon.value) return;
      placeWords.value = "Place: the latitude and longitude typed below";
      chosen.textContent = placeSentence(Number(lat.value), Number(lon.value), placeWords.value);
    });
  }
  let timer = null;
  let asked = 0; // the newest search: an older answer that arrives later is dropped
  const find = async () => {
    const turn = ++asked;
    problem.textContent = "";
    const text = query.value.trim();
    if (text.length < 2) { mount(results); return; }
    try {
      const response = await fetch(`/api/places?${new URLSearchParams({ q: text })}`);
      const body = await response.json();
      if (turn !== asked) return;
      if (!response.ok) throw new Error(body.error?.message || `HTTP ${response.status}`);
      // a town found by another of its names (München, Мюнхен) shows that name beside the gazetteer's own; towns
      // that read the same (regions are named in the United States only) show where they lie
      const labels = body.places.map((place) => (place.matched ? `${place.label} (${place.matched})` : place.label));
      const where = (place) => `${Math.abs(place.lat).toFixed(1)}° ${place.lat < 0 ? "S" : "N"}, ${Math.abs(place.lon).toFixed(1)}° ${place.lon < 0 ? "W" : "E"}`;
      const named = (place) => {
        const label = labels[body.places.indexOf(place)];
        return labels.filter((l) => l === label).length > 1 ? `${label}, ${where(place)}` : label;
      };
      mount(results, body.places.length ? body.places.map((place) => h("li", {}, h("button", { type: "button", class: "link place",
        onclick: () => { choose(place.lat, place.lon, `Place: ${named(place)}`); mount(results); query.value = named(place); } },
      named(place)))) : h("li", {}, `No town of ${body.minPopulation.toLocaleString("en")} people or more by that name; try ` +
        "its first letters, another spelling, the nearest larger town or your location, or type the latitude and longitude."));
    } catch (error) {
      if (turn === asked) problem.textContent = `The place search did not answer (${error.message}); type the latitude and longitude instead.`;
    }
  };
  query.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(find, PLACE_SEARCH_DELAY_MS); });
  const here = h("button", { type: "button", class: "use-location", onclick: () => {
    problem.textContent = "";
    if (!navigator.geolocation) { problem.textContent = "This browser cannot tell where you are; search for the place instead."; return; }
    chosen.textContent = "Asking your device where you are ...";
    navigator.geolocation.getCurrentPosition(
      (position) => choose(position.coords.latitude, position.coords.longitude,
        `Your current position (to about ${Math.round(position.coords.accuracy)} m)`),
      (error) => {
        chosen.textContent = "";
        problem.textContent = error.code === error.PERMISSION_DENIED
          ? "Your device did not share its location; search for the place instead."
          : "Your device could not find its location; search for the place instead.";
      }, { enableHighAccuracy: true, timeout: GEOLOCATION_TIMEOUT_MS });
  } }, "Use my current location");
  return h("fieldset", { class: "place" }, h("legend", {}, "Where it happened"), placeWords,
    h("div", { class: "actions" }, here), field("Search for a town or city", query, "by its name in English or the local language; searched on the gateway itself, which asks no outside service"),
    results, chosen, problem,
    h("div", { class: "grid" }, field("Latitude", lat, "sealed with the photos; the chain gets only the 0.1° area"), field("Longitude", lon)));
}

/** The claim form of a policy; `policyNow()` gives the policy as of the newest block the screen has read. */
async function claimForm(policyNow, product, onDone) {
  const policy = policyNow();
  const now = await chainTime();
  let files = [];
  const previews = h("ul", { class: "previews", "aria-label": "selected photos" });
  const photoError = h("p", { class: "error", role: "alert", id: "photo-error" });
  const fileInput = h("input", { type: "file", name: "photos", multiple: true, accept: state.config.limits.photoTypes.join(","), "aria-label": "choose photos" });
  const setFiles = (list) => {
    const chosen = (files = [...list]);
    photoError.textContent = checkPhotos(files) || "";
    photoProblem(chosen).then((problem) => { if (files === chosen) photoError.textContent = problem || ""; });
    mount(previews, files.map((f) => h("li", {}, h("img", { src: URL.createObjectURL(f), alt: `preview of ${f.name}` }),
      h("small", {}, `${f.name} (${Math.ceil(f.size / 1024)} KB)`))));
    saveDraft();
  };
  let saveDraft = () => {}; // set once the form exists (keepDraft): a reload keeps what was typed and chosen
  const draft = draftKey(state.wallet.address, policy.id);
  fileInput.addEventListener("change", () => setFiles(fileInput.files));
  // a drop target for the mouse; the file input inside it is the keyboard's way (an interactive element may not
  // hold another, so the zone itself is a labelled group, not a button)
  const drop = h("div", { class: "drop", role: "group", "aria-label": "photos of the damage",
    ondragover: (e) => { e.preventDefault(); drop.classList.add("over"); },
    ondragleave: () => drop.classList.remove("over"),
    ondrop: (e) => { e.preventDefault(); drop.classList.remove("over"); setFiles(e.dataTransfer.files); } },
  "Drop photos here, or choose them:", fileInput, cameraInput((taken) => setFiles([...files, ...taken])));
  const incident = h("input", { type: "datetime-local", name: "incident", required: true, step: 1,
    value: incidentInputValue(defaultIncidentTime(Number(policy.start), now)) });
  // no default place: a wrong one would send the weather check to the wrong sky; the claimant chooses
  const lat = h("input", { type: "number", name: "lat", required: true, step: "0.000001", min: -90, max: 90 });
  const lon = h("input", { type: "number", name: "lon", required: true, step: "0.000001", min: -180, max: 180 });
  const placeError = h("p", { class: "error", role: "alert", id: `place-error-${policy.id}` });
  const placeWords = h("input", { type: "hidden", name: "placeWords" }); // what the chosen place is, in words
  const covered = PERILS.map((name, i) => ({ name, i })).filter(({ i }) => (BigInt(product.perils) >> BigInt(i)) & 1n);
  const peril = h("select", { name: "peril" }, covered.map(({ name, i }) => h("option", { value: i }, name)));
  const amount = h("input", { type: "text", name: "amount", required: true, inputmode: "decimal", placeholder: "e.g. 0.8" });
  const formError = h("p", { class: "error", role: "alert", id: "claim-error" });
  const placeSlot = h("div");
  const button = h("button", { type: "submit" }, "Upload evidence and submit claim");

  const submit = async (event) => {
    event.preventDefault();
    formError.textContent = "";
    placeError.textContent = "";
    const problem = await photoProblem(files);
    if (problem) { formError.textContent = problem; return; }
    let claimed, incidentTime, latE6, lonE6;
    for (const input of [amount, incident]) fieldError(input, "");
    try {
      claimed = parseEth(amount.value, "Claimed amount");
      if (claimed === 0n) throw new Error("Claimed amount must be more than zero.");
      const cover = BigInt(policyNow().remainingCoverage);
      if (claimed > cover) throw new Error(`Claimed amount is more than the remaining cover of ${eth(cover)}.`);
    } catch (error) {
      fieldError(amount, error.message);
      amount.focus();
      return;
    }
    try {
      incidentTime = checkIncidentTime(incident.value, Number(policy.start), await chainTime());
    } catch (error) {
      fieldError(incident, error.message);
      incident.focus();
      return;
    }
    try {
      [latE6, lonE6] = checkPlace(lat.value, lon.value);
    } catch (error) {
      placeError.textContent = error.message;
      placeError.scrollIntoView?.({ block: "center" });
      (lat.value ? lon : form.querySelector('input[name="place-search"]')).focus();
      return;
    }
    button.disabled = true;
    try {
      const evidence = await sealedEvidence(files, policy, product, { latE6, lonE6 });
      // the chain gets only the 0.1-degree area (about 11 km), enough for the weather check; the place is sealed
      const grid = state.config.constants.areaGridE6;
      const receipt = await send(`Submit claim on policy ${policy.id}`, ({ manager }) => manager.submitClaim(
        policy.id, evidence.evidenceRoot, evidence.evidenceURI, incidentTime, Number(peril.value),
        Math.round(latE6 / grid) * grid, Math.round(lonE6 / grid) * grid, claimed));
      if (receipt) {
        const { manager } = contracts();
        const log = receipt.logs.map((l) => { try { return manager.interface.parseLog(l); } catch { return null; } })
          .find((l) => l?.name === "ClaimSubmitted");
        notice(`Claim ${log?.args.claimId ?? ""} submitted; the oracle committee is assessing it.`);
        await clearDraft(draft).catch(() => {});
        onDone(); // the screen reads the new block (send announced it): the claim and the policy's count show up
      }
    } catch (error) {
      formError.textContent = describeError(error);
    } finally {
      button.disabled = false;
    }
  };
  const form = h("form", { class: "claim-form", onsubmit: submit, "aria-label": `new claim on policy ${policy.id}`, novalidate: true },
    h("h3", {}, `New claim on policy ${policy.id}`), drop, photoError, previews,
    h("div", { class: "grid" },
      field("Incident time (UTC, chain clock)", incident, `from the policy's start, ${whenExact(policy.start)}, to the chain's current time`),
      field("Peril", peril),
      field("Claimed amount (ETH)", amount, `at most ${eth(policy.remainingCoverage)}`)),
    placeSlot,
    formError, h("div", { class: "actions" }, button, h("button", { type: "button", class: "cancel", onclick: () => {
      clearDraft(draft).catch(() => {});
      onDone();
    } }, "Cancel")));
  saveDraft = await keepDraft(form, draft, { incident, lat, lon, placeWords, peril, amount }, () => files, setFiles);
  mount(placeSlot, placePicker(lat, lon, placeWords, placeError)); // after the draft's values, which it shows
  return form;
}

/** When a disputed claim is decided at the latest (`ruleBy`): its panel's ruling deadline (past it the panel rules
 * by default), or for another arbitrator the dispute desk's timeout; and from when anyone may close it unruled
 * (`closableAt`, the dispute desk's timeout after it opened, which bounds every arbitrator). */
async function rulingDeadline(snap, claimId, product) {
  const [, disputeId, opened] = await snap.desk.disputeOf(claimId);
  const closableAt = Number(opened) + state.config.constants.disputeTimeoutS;
  if (snap.panel && String(product.arbitrator).toLowerCase() === String(snap.panel.target).toLowerCase()) {
    return { ruleBy: Number((await snap.panel.disputes(disputeId)).deadline), closableAt };
  }
  return { ruleBy: closableAt, closableAt };
}

const policyProducts = new Map(); // policy id -> its product id
const reviewTerms = new Map(); // product id -> promise of its [adjuster, review deadline in seconds], fixed at creation

/** The dispute desk's events about claims, which name the claim first: disputes, escalations, the adjuster's review
 * (proposals and referrals), insurers that could not pay arbitration, rulings and unruled disputes closed. */
export const DESK_CLAIM_EVENTS = ["ClaimDisputed", "ClaimEscalated", "ReviewProposed", "ClaimReferred",
  "ArbitrationDefaulted", "ClaimRuled", "DisputeTimedOut"];

/** Who reviews a product's referred claims and how long they have, read once per page (fixed at creation). */
export function reviewTermsOf(snap, productId) {
  const key = String(productId);
  if (!reviewTerms.has(key)) {
    reviewTerms.set(key, snap.desk.reviewTerms(productId).then(([adjuster, deadline]) => ({ adjuster, deadline: Number(deadline) })));
    reviewTerms.get(key).catch(() => reviewTerms.delete(key));
  }
  return reviewTerms.get(key);
}

/** Whether two addresses are the same account. */
export function sameAccount(a, b) {
  return Boolean(a && b) && String(a).toLowerCase() === String(b).toLowerCase();
}

/** A claim's way to the arbitrator and back from the desk's events: `opened` (a dispute, escalation or referral,
 * with who and what it cost), the adjuster's `proposal`, the `outcome` (a ruling or a closed unruled dispute) and
 * whether the insurer's reserve could not pay (`defaulted`). */
function deskStory(logs) {
  const story = { opened: null, proposal: null, outcome: null, defaulted: null };
  for (const { eventName: name, args: a } of logs) {
    if (name === "ClaimDisputed") story.opened = { kind: "disputed", by: a.disputer, bond: a.bond, fee: a.arbitrationFee, counterOffer: a.counterOffer };
    else if (name === "ClaimEscalated") story.opened = { kind: "escalated", by: a.caller, bond: 0n, fee: a.arbitrationFee };
    else if (name === "ClaimReferred") story.opened = { kind: "referred", by: a.caller, bond: 0n, fee: a.arbitrationFee };
    else if (name === "ReviewProposed") story.proposal = { by: a.adjuster, payout: a.payout, windowEnds: Number(a.windowEnds) };
    else if (name === "ClaimRuled") story.outcome = { ruling: Number(a.ruling), bondTo: a.bondReceiver };
    else if (name === "DisputeTimedOut") story.outcome = { ruling: 0, bondTo: a.bondReturnedTo, timedOut: true };
    else if (name === "ArbitrationDefaulted") story.defaulted = { payout: a.payout };
  }
  return story;
}

/** What the dispute desk credited back to `account` when a claim's dispute ended, by its loser-pays rules: the bond
 * to whoever the ruling favoured, and to a claimant who disputed or escalated and did not lose (ruling 0 or 2) the
 * fee, from the insurer's matching fee; a referral costs the claimant nothing, so nothing comes back. */
export function refundOf(c, account) {
  const { opened, outcome } = c.story ?? {};
  if (!opened || !outcome || opened.kind === "referred") return { bond: 0n, fee: 0n };
  const bond = sameAccount(outcome.bondTo, account) ? BigInt(opened.bond) : 0n;
  const claimantWon = outcome.ruling === 0 || outcome.ruling === 2;
  const byHolder = sameAccount(opened.by, c.submitted.holder);
  const fee = byHolder && claimantWon && sameAccount(account, c.submitted.holder) ? BigInt(opened.fee) : 0n;
  return { bond, fee };
}

/** When a decided claim's dispute window closes, from the claim's record: the decision's time (the committee's, or
 * the adjuster's proposal, which the committee's decision event does not cover) plus the product's dispute window. */
export function windowEndsOf(c) {
  return Number(c.record.timestamp) + Number(c.product.disputeWindow);
}

/** The claims of a list of ClaimSubmitted logs (newest first) as of a snapshot: each with its record, product,
 * decision, its story at the dispute desk, its review deadline, what disputing, escalating or referring it costs now,
 * its ruling deadline, and what anyone (or this account, as the adjuster) may do with it now. */
export async function claimRecords(snap, submitted) {
  const { manager, desk } = snap;
  const [decidedLogs, deskLogs, now] = await Promise.all([snap.events(manager, manager.filters.ClaimDecided()),
    snap.events(desk, [DESK_CLAIM_EVENTS]), snap.time()]);
  const decided = new Map(decidedLogs.map((l) => [l.args.claimId, l.args]));
  const deskByClaim = Map.groupBy(deskLogs, (l) => l.args.claimId);
  const products = new Map(); // product id -> promise of its record, read once per render
  const productById = (id) => {
    if (!products.has(String(id))) products.set(String(id), manager.product(id).then((p) => p.toObject()));
    return products.get(String(id));
  };
  const productOfPolicy = async (policyId) => { // a policy's product never changes: asked once per page
    if (!policyProducts.has(String(policyId))) policyProducts.set(String(policyId), (await manager.policy(policyId)).productId);
    return policyProducts.get(String(policyId));
  };
  const me = state.wallet?.address;
  return Promise.all([...submitted].reverse().map(async (log) => {
    const id = log.args.claimId;
    const record = (await manager.claim(id)).toObject();
    const productId = await productOfPolicy(record.policyId);
    const product = await productById(productId);
    const c = { id, record, productId, product, submitted: log.args, decided: decided.get(id) || null, now, cost: null, ruleBy: null,
      story: deskStory(deskByClaim.get(id) ?? []), windowEnds: 0, review: null };
    const status = Number(record.status);
    if (status === 2) c.windowEnds = windowEndsOf(c);
    const windowOpen = status === 2 && now < c.windowEnds;
    if (windowOpen) {
      c.cost = { total: await desk.disputeCost(id), bond: product.disputeBond };
    } else if (status === 1 && now >= escalationFrom(c)) {
      c.cost = { total: BigInt(await desk.disputeCost(id)) - BigInt(product.disputeBond), bond: 0n }; // the fee alone
    } else if (status === 3) {
      const [deadline, access] = await Promise.all([rulingDeadline(snap, id, product),
        arbitratorAccess(snap, id, log.args.evidenceRoot, product.arbitrator).catch(() => null)]); // null: unknown now
      Object.assign(c, deadline, { access });
    } else if (status === 6) {
      const [terms, fee, reserve, policy] = await Promise.all([reviewTermsOf(snap, productId), desk.disputeCost(id),
        desk.arbitrationReserve(productId), manager.policy(record.policyId)]);
      c.review = { adjuster: terms.adjuster, endsAt: Number(record.timestamp) + terms.deadline, coverLeft: policy.remainingCoverage };
      c.cost = { total: BigInt(fee) - BigInt(product.disputeBond), bond: 0n, reserve: BigInt(reserve) }; // the insurer's fee
    }
    const reviewOpen = status === 6 && now < c.review.endsAt;
    c.can = { // what the contracts let anyone do now (dispute, escalate and withdraw only a party, or the holder)
      dispute: Boolean(windowOpen), escalate: status === 1 && Boolean(c.cost), closeStale: status === 1 && now >= staleFrom(c),
      finalize: status === 2 && !windowOpen, closeDispute: status === 3 && now >= c.closableAt,
      propose: reviewOpen && sameAccount(me, c.review.adjuster),
      refer: status === 6 && (!reviewOpen || sameAccount(me, c.review.adjuster)),
    };
    return c;
  }));
}

/** What a claim card shows, as text: its card is redrawn only when this changes. */
export function claimKey(c) {
  return signature([c.record, Boolean(c.decided), c.can, c.cost, c.ruleBy, c.vehicle, c.story, c.review,
    c.access && [c.access.sealed, c.access.readers.length, c.access.missing.map((r) => r.address)]]);
}

function stepOf(record) {
  const s = Number(record.status);
  return { 1: 0, 2: 2, 3: 2, 4: 3, 5: 4, 6: 1 }[s] ?? 0; // in review: a person is still deciding
}

/** When a claim the oracle committee has not decided may be taken to the arbitrator: its product's oracle timeout
 * after submission. */
export function escalationFrom(c) {
  return Number(c.record.timestamp) + Number(c.product.oracleTimeout);
}

/** When anyone may close a claim nobody decided or escalated, with no payout: STALE_AFTER past the oracle timeout. */
export function staleFrom(c) {
  return escalationFrom(c) + state.config.constants.staleAfterS;
}

/** What a claim pays under an arbitrator's ruling (0: none came), with the payout on record (the committee's or the
 * adjuster's) and the claimant's counter-offer if it disputed with one (`offer` overrides it: as if disputed with that
 * offer now); `escalating`: as if taken to the arbitrator now with no payout on record (escalated or referred). */
export function rulingPays(c, code, escalating = false, offer = null) {
  return rulingPayout({ claimed: c.record.claimedAmount, deductible: c.product.deductible,
    oraclePayout: c.record.payout, escalated: escalating || Boolean(c.record.escalated),
    counterOffer: escalating ? 0n : offer ?? counterOfferOf(c) }, code);
}

/** The claimant's counter-offer recorded with the claim's dispute (the desk's ClaimDisputed event), 0 for none. */
export function counterOfferOf(c) {
  return c.story?.opened?.kind === "disputed" ? BigInt(c.story.opened.counterOffer ?? 0n) : 0n;
}

/** The counter-offers the desk accepts for a decided claim (`disputeWithOffer`): above the payout on record and at
 * most the claimed amount less the deductible; null when no amount fits (the payout is already that much). */
export function counterOfferBounds(c) {
  const claimed = BigInt(c.record.claimedAmount);
  const deductible = BigInt(c.product.deductible);
  const max = claimed > deductible ? claimed - deductible : 0n;
  const above = BigInt(c.record.payout ?? 0n);
  return max > above ? { above, max } : null;
}

/** Whether a decided claim's payout is the insurer's adjuster's proposal (a REFER reviewed), not the committee's. */
export function proposed(c) {
  return DECISION[Number(c.record.decision)] === "REFER" && !c.record.escalated && [2, 3, 4, 5].includes(Number(c.record.status));
}

/** What happens to a claim in the insurer's review, for `role` (CLAIMANT or the insurer's): who must decide by when,
 * and, from the dispute desk's rules, what happens if nobody does: the claim waits until anyone sends it to the
 * arbitration panel at the insurer's cost (or, if the insurer's reserve cannot pay the fee, it is paid at once). */
export function reviewStep(c, role = CLAIMANT) {
  const claimantSide = eth(rulingPays(c, 0, true));
  const ends = when(c.review.endsAt);
  const mine = sameAccount(state.wallet?.address, c.review.adjuster);
  const adjuster = role.holder ? "the insurer's adjuster" : `the product's adjuster (${short(c.review.adjuster, 10)})`;
  const unpaid = c.cost && c.cost.reserve < c.cost.total;
  const then = unpaid
    ? `sending it settles it at once, since the insurer's arbitration reserve cannot pay the panel's fee: ${role.claimantGets} ${claimantSide}`
    : `the arbitration panel then decides; if it does not rule, ${role.claimantGets} ${claimantSide}`;
  if (c.now < c.review.endsAt) {
    return `A person decides: the oracle was not sure enough, so ${mine ? "you, as the product's adjuster," : adjuster} must ` +
      `decide by ${ends}: propose an amount (${role.mayDispute}) or send the claim to the arbitration panel at ` +
      `${role.insurersCost}. If ${mine ? "you do not, anyone" : `it does not, anyone, ${role.you} too,`} can send ` +
      `${role.yourClaim} to the arbitration panel at ${role.insurersCost}; ${then}.`;
  }
  const who = mine ? "You, the product's adjuster," : adjuster[0].toUpperCase() + adjuster.slice(1);
  return `${who} did not decide by ${ends}: anyone, ${role.you} too, can now send ${role.yourClaim} to the arbitration ` +
    `panel at ${role.insurersCost} (the sender pays only the transaction's gas); ${then}. Until someone does, the ` +
    "claim waits and pays nothing.";
}

/** What happens next to a claim, by when, and what the claimant receives by doing nothing, from the chain's record
 * and the product's oracle timeout and dispute window. */
export function nextStep(c) {
  const status = Number(c.record.status);
  const payout = eth(c.record.payout);
  const windowEnds = c.windowEnds;
  if (status === 1) {
    const from = escalationFrom(c);
    const closes = `If nobody decides and you do nothing, you receive 0 ETH: the claim is closed on ${when(staleFrom(c))}.`;
    if (c.now < from) {
      return "Next: the oracle committee checks your photos, the weather and fraud signals, usually within minutes. " +
        `If it has not decided by ${when(from)}, you can take the claim to the arbitration panel. ${closes}`;
    }
    return `The oracle committee did not decide by ${when(from)}: you can take the claim to the arbitration panel, ` +
      `which then decides instead. ${closes}`;
  }
  if (status === 6) return reviewStep(c);
  if (status === 2 && c.now < windowEnds) {
    const offer = proposed(c) ? `The insurer's adjuster proposed ${payout}. ` : "";
    return `${offer}If you do nothing, you receive ${payout} on ${when(windowEnds)}, when the dispute window closes (unless the ` +
      `insurer disputes it first). If you think the ${proposed(c) ? "amount" : "decision"} is wrong, dispute it before then: ` +
      "the arbitration panel then decides.";
  }
  if (status === 2) return `The dispute window closed on ${when(windowEnds)}: the decision is final. Finalize the claim to receive ${payout}.`;
  if (status === 3) {
    return `Next: the arbitration panel decides, by ${when(c.ruleBy)} at the latest, when a majority of its members ` +
      `agree; add any evidence that helps. If it has not ruled by then, you receive ${eth(rulingPays(c, 0))}.`;
  }
  if (status === 4) {
    return BigInt(c.record.payout) > 0n
      ? `Decided: withdraw your ${eth(c.record.payout)} when you like; it waits for you with no deadline.`
      : "Closed: the claim pays nothing, and nothing more happens.";
  }
  if (status === 5) return `Done: ${eth(c.record.payout)} was paid to your account.`;
  return "";
}

const KEEP_OPEN = Symbol("keep the confirmation open"); // an action's answer when its step has something to fix first

/** The step before anything that costs money: `words` say what it costs, who decides next and when; the confirm
 * button sends `action` and the other one closes the step, and each confirmation's `anchor` is where its transaction's
 * result shows (by default beside its confirm button, which goes when the step closes; a claim card passes a place
 * of its own that stays). */
function costConfirmation(label, words, confirmText, action, cancel) {
  return h("div", { class: "confirm", role: "group", "aria-label": label },
    h("p", {}, words),
    h("button", { type: "button", class: "cost-confirm", onclick: () => action().then((r) => (r === KEEP_OPEN ? null : cancel())) }, confirmText),
    h("button", { type: "button", class: "cancel", onclick: cancel }, "Keep things as they are"));
}

/** The latest a dispute opened now is decided: the dispute desk's timeout, which bounds every arbitrator. */
function decidedByLatest(c) {
  return when(c.now + state.config.constants.disputeTimeoutS);
}

/** Send a claim to its arbitrator (`label` and `build` as for send) and, once it is there, share its photos' key with
 * the arbitrator's key holders in a second transaction (shareWithArbitrator); the first transaction's receipt. */
async function toArbitration(c, label, build, anchor) {
  const receipt = await send(label, build, anchor);
  if (!receipt || Number((await (await snapshot()).manager.claim(c.id)).status) !== 3) return receipt; // settled at once
  await shareWithArbitrator(c, anchor, true).catch((error) => notice(`The claim is with the arbitrator, but its photos ` +
    `were not shared with it (${describeError(error)}); share them from the claim's card.`, "error"));
  return receipt;
}

const offerTyped = new Map(); // claim id -> the counter-offer typed in its dispute confirmation, kept across redraws

/** The claimant's optional counter-offer in a dispute confirmation: checked as it is typed against the desk's bounds
 * (see counterOfferBounds), with what each ruling would then pay; `value()` is the offer in wei (0n: a plain dispute)
 * or throws, with the reason shown in the field. */
function counterOfferField(c) {
  const bounds = counterOfferBounds(c);
  if (!bounds) return { el: null, value: () => 0n };
  const amount = h("input", { type: "text", inputmode: "decimal", name: "counter-offer", autocomplete: "off",
    value: offerTyped.get(String(c.id)) ?? "" });
  const pays = h("p", { class: "hint counter-offer-pays", "aria-live": "polite" });
  const range = `more than the decided payout of ${eth(bounds.above)} and at most what you claimed less the ` +
    `deductible, ${eth(bounds.max)}`;
  const check = () => {
    const value = parseEth(amount.value, "Your counter-offer");
    if (value <= bounds.above) throw new Error(`Your counter-offer must be more than the decided payout of ${eth(bounds.above)}.`);
    if (value > bounds.max) throw new Error(`Your counter-offer may be at most what you claimed less the deductible, ${eth(bounds.max)}.`);
    return value;
  };
  const describe = (offer) => {
    const [none, assessed, yours] = [0, 1, 2].map((code) => eth(rulingPays(c, code, false, offer)));
    pays.textContent = `If the panel rules for you, the claim pays ${yours}${offer ? " (your counter-offer)" : ", what you " +
      "claimed less the deductible"}; if it rules for the decided amount, ${assessed}; if it rules for nothing, 0 ETH; if ` +
      `it does not rule, ${none}.`;
  };
  const validate = () => {
    offerTyped.set(String(c.id), amount.value);
    if (!amount.value.trim()) {
      fieldError(amount, "");
      describe(0n);
      return;
    }
    try {
      describe(check());
      fieldError(amount, "");
    } catch (error) {
      describe(0n);
      fieldError(amount, error.message);
    }
  };
  amount.addEventListener("input", validate);
  const el = h("div", { class: "counter-offer-field" },
    field("Your counter-offer (ETH, optional)", amount, `Leave it empty to dispute without one. If you name an amount, ` +
      `it is what a ruling for you pays instead of what you claimed less the deductible: ${range}.`), pays);
  validate();
  return {
    el,
    value: () => {
      if (!amount.value.trim()) return 0n;
      try {
        return check();
      } catch (error) {
        fieldError(amount, error.message);
        amount.focus();
        throw error;
      }
    },
  };
}

/** The confirmation of a dispute: the bond (returned if the panel rules for the claimant) and the fee; the claimant
 * may name a counter-offer (counterOfferField), sent as the desk's disputeWithOffer. */
export function disputeConfirmation(c, cancel, role = CLAIMANT, anchor = null) {
  const fee = BigInt(c.cost.total) - BigInt(c.cost.bond);
  const offer = role.holder ? counterOfferField(c) : { el: null, value: () => 0n };
  const confirmation = costConfirmation(`confirm the dispute of claim ${c.id}`,
    `Disputing sends ${eth(c.cost.total)} from your account: a bond of ${eth(c.cost.bond)}, returned if the panel rules ` +
      `for you, and an arbitration fee of ${eth(fee)}, ${role.feeBack}. The arbitration panel then decides ` +
      `instead of the oracle, when a majority of its members agree, by ${decidedByLatest(c)} at the latest; until ` +
      "then the claim pays nothing.",
    `Dispute and pay ${eth(c.cost.total)}`,
    async () => {
      let value;
      try {
        value = offer.value();
      } catch {
        return KEEP_OPEN; // the field says what is wrong
      }
      const receipt = await toArbitration(c, value ? `Dispute claim ${c.id} with a counter-offer of ${eth(value)}` : `Dispute claim ${c.id}`,
        async ({ desk }) => {
          const cost = await (await snapshot()).desk.disputeCost(c.id);
          return value ? desk.disputeWithOffer(c.id, value, { value: cost }) : desk.dispute(c.id, { value: cost });
        }, anchor);
      if (receipt) offerTyped.delete(String(c.id));
      return receipt;
    },
    cancel);
  if (offer.el) confirmation.querySelector(":scope > p").after(offer.el);
  return confirmation;
}

/** The confirmation of an escalation (the committee stayed silent past its timeout): the fee, no bond. */
export function escalateConfirmation(c, cancel, role = CLAIMANT, anchor = null) {
  return costConfirmation(`confirm taking claim ${c.id} to the arbitration panel`,
    `Taking the claim to the arbitration panel sends ${eth(c.cost.total)} from your account: the arbitration fee, ` +
      `${role.feeBack} (no bond is due). The panel then decides instead of the oracle, when a majority of its ` +
      `members agree, by ${decidedByLatest(c)} at the latest; if it does not rule, the claim pays ${role.claimedBy} ` +
      `less the deductible, ${eth(rulingPays(c, 0, true))}.`,
    `Take it to the panel and pay ${eth(c.cost.total)}`,
    () => toArbitration(c, `Escalate claim ${c.id}`, async ({ desk }) => {
      const snap = await snapshot();
      return desk.escalate(c.id, { value: BigInt(await snap.desk.disputeCost(c.id)) - BigInt(c.product.disputeBond) });
    }, anchor),
    cancel);
}

/** The confirmation of sending a claim in review to the arbitration panel: the insurer's reserve pays the whole fee
 * whatever the ruling and nobody posts a bond; what the panel may award and what the claim pays if it does not rule;
 * or, when the reserve cannot pay the fee, that the claim is settled at once for the claimant. */
export function referConfirmation(c, cancel, role = CLAIMANT, anchor = null) {
  const fee = BigInt(c.cost.total);
  const reserve = BigInt(c.cost.reserve);
  const claimantSide = eth(rulingPays(c, 0, true));
  const words = reserve < fee
    ? `${role.reserve[0].toUpperCase() + role.reserve.slice(1)} holds ${eth(reserve)}, less than the arbitration panel's fee of ${eth(fee)}: ` +
      `sending the claim settles it at once for the claimant, so ${role.claimantGets} ${claimantSide}. No bond is due, and ` +
      `${role.you} pay only the transaction's gas.`
    : `The insurer pays the arbitration cost: the panel's fee of ${eth(fee)} comes out of ${role.reserve} (it holds ` +
      `${eth(reserve)}), whatever the panel rules. No bond is due, and ${role.you} pay only the transaction's gas. The ` +
      "panel then decides instead of the adjuster, when a majority of its members agree, by " +
      `${decidedByLatest(c)} at the latest: what was claimed less the deductible (${claimantSide}) or nothing; if it ` +
      `does not rule, ${role.claimantGets} ${claimantSide}.`;
  return costConfirmation(`confirm sending claim ${c.id} to the arbitration panel`, words,
    `Send it to the panel at ${role.insurersCost}`,
    () => toArbitration(c, `Send claim ${c.id} to the arbitration panel`, ({ desk }) => desk.referToArbitrator(c.id), anchor),
    cancel);
}

/** The most an adjuster may propose for a claim in review, and why: the claimed amount less the deductible (the
 * desk's own limit), or the policy's cover left when that is smaller (every payout is capped by it). */
export function proposalLimit(c) {
  const claimed = BigInt(c.record.claimedAmount);
  const deductible = BigInt(c.product.deductible);
  const net = claimed > deductible ? claimed - deductible : 0n;
  const cover = BigInt(c.review.coverLeft);
  if (cover < net) return { max: cover, why: `the policy has ${eth(cover)} of cover left, and no claim pays more than that` };
  return { max: net, why: `what was claimed, ${eth(claimed)}, less the deductible of ${eth(deductible)}` };
}

/** The adjuster's answer to a claim in review: an amount, checked in its field as it is typed against the rules
 * (see proposalLimit), then sent as the desk's proposePayout, which opens the dispute window; the result shows
 * under the card's summary (`anchor`), which stays when the form goes; `claimNow()` gives the claim as last read. */
function proposalForm(claimNow, anchor) {
  const amount = h("input", { type: "text", inputmode: "decimal", name: "proposal", autocomplete: "off" });
  const button = h("button", { type: "submit", class: "propose" }, "Propose this payout");
  const hint = h("span");
  const check = () => {
    const c = claimNow();
    const { max, why } = proposalLimit(c);
    hint.textContent = `From 0 to ${eth(max)}: ${why}. The claimant may dispute it within the dispute window; if nobody does, the claim pays it.`;
    const value = parseEth(amount.value, "Payout");
    if (value > max) throw new Error(`At most ${eth(max)}: ${why}.`);
    return value;
  };
  const validate = () => {
    if (!amount.value.trim()) return fieldError(amount, "");
    try {
      check();
      fieldError(amount, "");
    } catch (error) {
      fieldError(amount, error.message);
    }
  };
  amount.addEventListener("input", validate);
  const submit = async (event) => {
    event.preventDefault();
    let value;
    try {
      value = check();
      fieldError(amount, "");
    } catch (error) {
      fieldError(amount, error.message);
      amount.focus();
      return;
    }
    const id = claimNow().id;
    button.disabled = true;
    try {
      await send(`Propose a payout of ${eth(value)} for claim ${id}`, ({ desk }) => desk.proposePayout(id, value), anchor);
    } finally {
      button.disabled = false;
    }
  };
  const form = h("form", { class: "proposal inline", onsubmit: submit, novalidate: true, "aria-label": "propose a payout" },
    field("Payout to propose (ETH)", amount), h("p", { class: "hint proposal-hint" }, hint), button);
  try {
    check();
  } catch {
    // the hint is written; an empty field is not an error yet
  }
  return form;
}

/** The claimant's way of seeing a claim card: its next step for the policy holder, who may also withdraw. */
export const CLAIMANT = { nextStep, holder: true, claimedBy: "what you claimed", claimantGets: "you receive", you: "you",
  yourClaim: "your claim", mayDispute: "which you may then dispute", insurersCost: "the insurer's cost",
  reserve: "the insurer's arbitration reserve",
  feeBack: "which the insurer pays back if the panel rules for you or does not rule", names: (c) => `On policy ${c.record.policyId}${c.vehicle ? `, vehicle ${c.vehicle}` : ""}.` };

/** What the dispute desk credited to this account when a claim's dispute ended, in words: its own bond back, the
 * other side's bond, its arbitration fee paid back by the insurer. */
function refundWords(c, { bond, fee }) {
  const own = sameAccount(c.story.opened.by, state.wallet?.address);
  const parts = [bond > 0n ? `${own ? "your bond" : "the other side's bond"} of ${eth(bond)}` : null,
    fee > 0n ? `your arbitration fee of ${eth(fee)}, paid back by the insurer` : null].filter(Boolean);
  return `${own ? "Refunded" : "Credited to you"}: ${parts.join(" and ")}, ${eth(bond + fee)} in all, as credit at the ` +
    "dispute desk, which waits for you until you withdraw it (Withdraw credit, above the claims).";
}

/** A claim's photos as this account may see them (opened with the claim's key, or said to be sealed). */
async function claimPhotos(c) {
  const manifest = await fetchManifest(c.submitted.evidenceRoot);
  const evidence = { sealed: Boolean(manifest.sealed), key: manifest.sealed ? await evidenceKey(manifest) : null };
  return h("div", { class: "evidence-photos", "aria-label": `photos of claim ${c.id}` },
    manifest.photos.map((p) => evidencePhoto(p.cid, evidence, `claim ${c.id} photo ${p.name}`)));
}

/**
 * A claim as a card, as `role` (CLAIMANT, or the insurer's) sees it: its status, decision, next step and actions are
 * redrawn when the claim changes on-chain; its evidence form (with what is typed in it) and its explanation (or, before
 * a decision, its photos), once opened, stay as they are.
 */
export function claimCard(first, role = CLAIMANT) {
  let c = first;
  let open = false;
  let explanation = null; // the rendered explanation (or the photos before a decision), fetched once
  let evidenceForm = null;
  let proposal = null; // the adjuster's proposal form of a claim in review, with what is typed in it
  let confirming = false; // the confirmation step of a dispute or an escalation is open
  const body = h("div");
  const evidenceSlot = h("div");
  const reviewSlot = h("div", { class: "review-slot" });
  const results = h("div", { class: "results" }); // the card's confirmed actions report right after this
  const why = h("div", { class: "review-why" }); // a claim in review: the reasons the oracle asked for a person
  const details = h("div", { class: "details" });
  const history = timeline(() => c, () => { if (!open) toggle(); details.scrollIntoView?.({ block: "nearest" }); });
  const el = h("li", { class: "card claim", "data-claim": String(c.id) }, body, results, why, reviewSlot, history.el, evidenceSlot, details);

  const showDetails = () => {
    if (!open) {
      mount(details);
      return;
    }
    if (explanation?.decided === Boolean(c.decided)) {
      mount(details, explanation.el);
      return;
    }
    const decided = Boolean(c.decided);
    const hash = c.decided?.explanationHash;
    mount(details, h("p", { class: "waiting" }, decided ? "Fetching the committee's explanation ..." : "Opening the photos ..."));
    const loading = decided
      ? Promise.all([fetchExplanation(hash), fetchManifest(c.submitted.evidenceRoot)]).then(async ([doc, manifest]) =>
        renderExplanation(doc, hash, { sealed: Boolean(manifest.sealed), key: manifest.sealed ? await evidenceKey(manifest) : null }))
      : claimPhotos(c);
    loading.then((el) => {
      explanation = { decided, el };
      if (open) mount(details, el);
    }).catch((error) => { if (open) mount(details, h("p", { class: "error" }, describeError(error))); });
  };
  const toggle = () => {
    open = !open;
    paint();
    showDetails();
  };
  const paint = () => {
    const r = c.record;
    const status = Number(r.status);
    const windowEnds = c.windowEnds;
    const actions = [];
    const confirmable = (cls, text, confirmation) => (confirming
      ? confirmation(c, () => { confirming = false; paint(); }, role, results)
      : h("button", { type: "button", class: cls, onclick: () => { confirming = true; paint(); el.querySelector(".cost-confirm")?.focus(); } }, text));
    const can = c.can ?? {};
    if (can.dispute) actions.push(confirmable("dispute", "Dispute this decision", disputeConfirmation));
    if (can.escalate) actions.push(confirmable("escalate", "Take the claim to the arbitration panel", escalateConfirmation));
    if (can.refer) actions.push(confirmable("refer", `Send ${role.yourClaim} to the arbitration panel`, referConfirmation));
    if (status === 3 && (!c.access || c.access.readers.length)) { // the retry when sharing after sending the claim there failed
      actions.push(h("button", { type: "button", class: "share-key", onclick: () => shareWithArbitrator(c, results).catch((e) => notice(describeError(e), "error")) },
        "Share the photos with the arbitration panel"));
    }
    if (can.finalize) {
      actions.push(h("button", { type: "button", class: "finalize", onclick: () => send(`Finalize claim ${c.id}`, ({ manager }) => manager.finalize(c.id)) },
        "Finalize (window over)"));
    }
    if (can.closeStale) {
      actions.push(h("button", { type: "button", class: "close-stale", onclick: () => send(`Close claim ${c.id}`, ({ manager }) => manager.closeStale(c.id)) },
        "Close the claim (nobody decided it; it pays nothing)"));
    }
    if (can.closeDispute) {
      actions.push(h("button", { type: "button", class: "close-dispute", onclick: () =>
        send(`Close the unruled dispute of claim ${c.id}`, ({ desk }) => desk.closeTimedOutDispute(c.id)) },
      `Close the unruled dispute (the claim pays ${eth(rulingPays(c, 0))})`));
    }
    if (role.holder && status === 4 && BigInt(r.payout) > 0n) {
      actions.push(h("button", { type: "button", class: "withdraw", onclick: () =>
        send(`Withdraw payout of claim ${c.id}`, ({ manager }) => manager.withdrawPayout(c.id)) }, `Withdraw ${eth(r.payout)}`));
    }
    const decision = Number(r.decision);
    let summary = `Status: ${STATUS[status]}.`;
    const paying = DECISION[decision] === "REFER" ? "" : `, paying ${eth(c.decided?.payout ?? r.payout)}`; // a person names the amount
    if (decision) summary += ` The oracle's decision: ${DECISION_WORDS[decision]}${paying} (${Number(c.decided?.confidence ?? 0) / 100}% sure of what it saw in the photos).`;
    if (status === 6) summary += ` The adjuster's review is due by ${when(c.review.endsAt)}.`;
    if (proposed(c)) summary += ` The insurer's adjuster proposed ${eth(c.story?.proposal?.payout ?? r.payout)}.`;
    if (status === 2) summary += ` Dispute window open until ${when(windowEnds)}.`;
    if (counterOfferOf(c) > 0n) summary += ` The claimant's counter-offer: ${eth(counterOfferOf(c))}, what a ruling for the claimant pays.`;
    const final = status === 4 || status === 5; // resolved or paid (6, in review, is not)
    if (final) summary += ` Final payout ${eth(r.payout)}.`;
    const refund = final ? refundOf(c, state.wallet?.address) : null;
    const refunded = refund && refund.bond + refund.fee > 0n ? h("p", { class: "refund" }, refundWords(c, refund)) : null;
    const cost = c.cost && status !== 6 ? h("p", { class: "hint dispute-cost", "data-claim": String(c.id) },
      `Disputing costs ${eth(c.cost.total)}: a bond of ${eth(c.cost.bond)} (returned if you win) ` +
      `plus an arbitration fee of ${eth(BigInt(c.cost.total) - BigInt(c.cost.bond))}.`) : null;
    el.className = `card claim status-${status}`;
    el.setAttribute("data-status", STATUS[status]);
    mount(body,
      h("h3", {}, `Claim ${c.id}`, h("span", { class: "badge" }, STATUS[status])),
      h("p", { class: "claim-policy" }, role.names(c)),
      progress(STEPS, stepOf(r)),
      h("p", { class: "summary" }, summary),
      h("p", { class: "next-step" }, role.nextStep(c)),
      h("p", { class: "hint" }, `Claimed ${eth(c.submitted.claimedAmount)} for ${PERILS[Number(c.submitted.peril)]} on ${when(c.submitted.incidentTime)}; evidence ${short(c.submitted.evidenceRoot, 12)}`),
      cost,
      refunded,
      status === 3 ? arbitratorAccessLine(c) : null,
      h("div", { class: "actions" }, actions,
        h("button", { type: "button", class: c.decided ? "explain" : "show-photos", "aria-expanded": String(open), onclick: toggle },
          c.decided ? (open ? "Hide explanation" : "Read the explanation") : (open ? "Hide the photos" : "See the photos"))));
    if (status === 6 && c.decided && !why.dataset.read) {
      why.dataset.read = "true";
      fetchExplanation(c.decided.explanationHash).then((doc) => mount(why, h("p", {},
        "Why a person must decide: ", doc.rules.filter((rule) => rule.outcome === "REFER").map((rule) => rule.reason).join("; "), ".")))
        .catch((error) => mount(why, h("p", { class: "error" }, describeError(error))));
    }
    why.hidden = status !== 6;
    if (can.propose) {
      proposal ??= proposalForm(() => c, results);
      if (!proposal.isConnected) mount(reviewSlot, proposal);
    } else {
      mount(reviewSlot);
    }
    if (status === 2 || status === 3) {
      evidenceForm ??= evidenceSubmission(c.id);
      if (!evidenceForm.isConnected) mount(evidenceSlot, evidenceForm);
    } else {
      mount(evidenceSlot);
    }
  };
  const update = (next) => {
    c = next;
    paint();
    if (open) showDetails();
    history.refresh();
  };
  return { el, update };
}

/** Every on-chain step of a claim, oldest first: submission, committee votes, decision, the adjuster's review
 * (proposal or referral), evidence, dispute or escalation, panel votes, ruling, resolution and payment (chunked log
 * queries, like every history read). */
export async function claimHistory(snap, claimId, product) {
  const { manager, desk, panel } = snap;
  const queries = [
    [manager, manager.filters.ClaimSubmitted(claimId)], [manager, manager.filters.ReportVoted(claimId)],
    [manager, manager.filters.ClaimDecided(claimId)], [manager, manager.filters.ClaimClosedStale(claimId)],
    [manager, manager.filters.ClaimResolved(claimId)], [manager, manager.filters.PayoutWithdrawn(claimId)],
    [desk, [DESK_CLAIM_EVENTS, ethers.toBeHex(claimId, 32)]], [desk, desk.filters.Evidence(null, claimId)],
  ];
  const logs = (await Promise.all(queries.map(([contract, filter]) => snap.events(contract, filter)))).flat();
  const opened = logs.find((l) => ["ClaimDisputed", "ClaimEscalated", "ClaimReferred"].includes(l.eventName));
  if (opened && panel && String(product.arbitrator).toLowerCase() === String(panel.target).toLowerCase()) {
    logs.push(...(await snap.events(panel, panel.filters.PanelVoted(opened.args.disputeId))));
  }
  logs.sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index);
  const times = new Map(await Promise.all([...new Set(logs.map((l) => l.blockNumber))].map(async (n) => [n, await chainTime(n)])));
  return logs.map((log) => ({ name: log.eventName, args: log.args, tx: log.transactionHash, time: times.get(log.blockNumber) }));
}

/** A ruling's code in words (0: the arbitrator refused to rule, so the oracle's decision stands). */
function rulingWords(code) {
  return RULINGS.find((r) => r.code === Number(code))?.name ?? "No ruling: the oracle's decision stands";
}

/** One step of a claim's history in words; `readExplanation` opens the decision's explanation on the card. */
function historyEntry(step, c, readExplanation) {
  const a = step.args;
  const who = partyName(c);
  const content = (uri) => (String(uri).startsWith("ipfs://")
    ? h("a", { href: `/content/${String(uri).slice(7)}`, target: "_blank", rel: "noopener" }, "the document") : String(uri));
  const words = {
    ClaimSubmitted: () => [`Claim submitted by ${who(a.holder)}: ${eth(a.claimedAmount)} for ${PERILS[Number(a.peril)]}, with sealed photos.`],
    ReportVoted: () => [`A committee member (${short(a.oracle, 10)}) sent its assessment (${a.votes} so far).`],
    ClaimDecided: () => [DECISION[Number(a.decision)] === "REFER"
      ? "The oracle was not sure enough and sent the claim to the insurer's adjuster for review. "
      : `The oracle decided: ${DECISION_WORDS[Number(a.decision)]}, paying ${eth(a.payout)}. `,
    h("button", { type: "button", class: "link timeline-explanation", onclick: readExplanation }, "Read the explanation")],
    ReviewProposed: () => [`The insurer's adjuster (${who(a.adjuster)}) reviewed the claim and proposed ${eth(a.payout)}; ` +
      `the dispute window is open until ${when(a.windowEnds)}.`],
    ClaimReferred: () => [`Sent to the arbitration panel from the insurer's review by ${who(a.caller)}, at the insurer's ` +
      `cost: the arbitration fee of ${eth(a.arbitrationFee)} came out of its arbitration reserve.`],
    ArbitrationDefaulted: () => ["The insurer's arbitration reserve could not pay the panel's fee, so the claim was " +
      `settled at once for the claimant, paying ${eth(a.payout)}; whatever was sent to go to the panel was credited back.`],
    ClaimDisputed: () => [`Disputed by ${who(a.disputer)}: bond ${eth(a.bond)}, arbitration fee ${eth(a.arbitrationFee)}` +
      (BigInt(a.counterOffer ?? 0n) > 0n ? `, with a counter-offer of ${eth(a.counterOffer)} (what a ruling for the claimant pays).` : ".")],
    ClaimEscalated: () => [`Taken to the arbitration panel by ${who(a.caller)}: arbitration fee ${eth(a.arbitrationFee)}.`],
    Evidence: () => [`Evidence from ${who(a._party)}: `, content(a._evidence), "."],
    PanelVoted: () => [`A panel member voted: ${rulingWords(a.ruling)}.`],
    ClaimRuled: () => [`The arbitrator ruled: ${rulingWords(a.ruling)}.`],
    DisputeTimedOut: () => [`The dispute was closed unruled after its time ran out: ${c.record.escalated
      ? "with no decision to fall back on, the claim pays what was claimed less the deductible" : "the oracle's decision stands"}.`],
    ClaimClosedStale: () => ["Closed: nobody decided the claim in time."],
    ClaimResolved: () => [`Resolved: the claim pays ${eth(a.payout)}.`],
    PayoutWithdrawn: () => [`${eth(a.amount)} paid to ${who(a.receiver)}.`],
  }[step.name];
  return h("li", { "data-event": step.name }, h("time", {}, when(step.time)), " ", words ? words() : step.name,
    h("small", { class: "meta" }, ` transaction ${short(step.tx, 12)}`));
}

/** The timeline's line for what the dispute desk credited the parties when a dispute ended (see refundOf), or null. */
function refundEntry(step, c, story, who) {
  const parts = [c.submitted.holder, c.product.insurer].map((account) => {
    const { bond, fee } = refundOf({ ...c, story }, account);
    if (bond + fee === 0n) return null;
    const what = [bond > 0n ? `a bond of ${eth(bond)}` : null, fee > 0n ? `the arbitration fee of ${eth(fee)}, paid back by the insurer` : null];
    return `${eth(bond + fee)} to ${who(account)} (${what.filter(Boolean).join(" and ")})`;
  }).filter(Boolean);
  if (!parts.length) return null;
  return h("li", { "data-event": "Refund" }, h("time", {}, when(step.time)), " ",
    `Refunds, as credit at the dispute desk to withdraw: ${parts.join("; ")}.`, h("small", { class: "meta" }, ` transaction ${short(step.tx, 12)}`));
}

/** Who an address is on a claim, as its timeline names it: you, the claimant, the insurer, or the address shortened. */
function partyName(c) {
  return (address) => {
    const lower = String(address).toLowerCase();
    if (lower === state.wallet?.address.toLowerCase()) return "you";
    if (lower === String(c.submitted.holder).toLowerCase()) return "the claimant";
    return lower === String(c.product.insurer).toLowerCase() ? "the insurer" : short(address, 10);
  };
}

/** A claim's timeline behind a toggle, read from the chain when opened and again when the claim changes. */
function timeline(claimNow, readExplanation) {
  const list = h("ol", { class: "timeline-steps" });
  const el = h("details", { class: "timeline" }, h("summary", {}, "Timeline: every step on the chain"), list);
  let reading = 0; // the newest read: an older one that finishes later is dropped
  const refresh = async () => {
    if (!el.open) return;
    const turn = ++reading;
    const c = claimNow();
    try {
      const steps = await claimHistory(await snapshot(), c.id, c.product);
      const story = deskStory(steps.map((step) => ({ eventName: step.name, args: step.args })));
      const ended = (step) => (step.name === "ClaimRuled" || step.name === "DisputeTimedOut" ? refundEntry(step, c, story, partyName(c)) : null);
      if (turn === reading) mount(list, steps.flatMap((step) => [historyEntry(step, c, readExplanation), ended(step)]));
    } catch (error) {
      if (turn === reading) mount(list, h("li", { class: "error" }, describeError(error)));
    }
  };
  el.addEventListener("toggle", refresh);
  return { el, refresh };
}

/** Let a claim's arbitrator open its sealed photos: wrap the key this account holds for each of the arbitrator's key
 * holders (the panel's members), as ERC-1497 evidence; `quiet` (right after sending the claim there) skips, with no
 * message, what the card's access line already explains: unsealed photos, no key held, an arbitrator without keys. */
async function shareWithArbitrator(c, anchor = null, quiet = false) {
  const manifest = await fetchManifest(c.submitted.evidenceRoot);
  const key = manifest.sealed ? await evidenceKey(manifest) : null;
  const readers = key ? await arbitratorReaders(c.product.arbitrator) : [];
  if (!manifest.sealed) return quiet ? null : notice("This claim's photos are not sealed; the arbitrator can already see them.");
  if (quiet && !readers.length) return null;
  if (!key) throw new Error("this account holds no key for the claim's photos");
  if (!readers.length) throw new Error("the claim's arbitrator has no published evidence key, so nothing can be wrapped for it");
  return shareClaimKey(c.id, manifest, key, readers, "Photos' key for the arbitration panel", anchor);
}

/** What the claim's arbitrator can read of its photos, in words (a disputed claim's card): nothing to say for
 * unsealed photos; an arbitrator without keys sees only what is disclosed as evidence. */
function arbitratorAccessLine(c) {
  const access = c.access;
  if (!access?.sealed) return null;
  const line = (kind, text) => h("p", { class: `panel-access ${kind === "shared" ? "ok" : "hint"}`, "data-access": kind }, text);
  if (!access.readers.length) {
    return line("no-keys", "The claim's arbitrator publishes no evidence key (a court such as Kleros), so it cannot open " +
      "the sealed photos: it sees only what the parties disclose. To show it a photo or a statement, use Add evidence " +
      "for the arbitrator below; whatever is added there is public.");
  }
  if (access.missing.length) {
    return line("missing", `The arbitration panel cannot open the photos yet: ${access.missing.length} of its ` +
      `${access.readers.length} members hold no key to them. Share the photos with the arbitration panel wraps the ` +
      "key for them (the claimant, the insurer and the committee hold it).");
  }
  return line("shared", `The arbitration panel can open the photos: the key is wrapped for all ${access.readers.length} of its members.`);
}

/** Store an ERC-1497 evidence document (a statement, optionally with a file) and publish its URI on-chain. */
function evidenceSubmission(claimId) {
  const title = h("input", { type: "text", name: "evidence-title", maxlength: 120, required: true });
  const statement = h("textarea", { name: "evidence-statement", rows: 3, maxlength: 4000 });
  const file = h("input", { type: "file", name: "evidence-file" });
  const error = h("p", { class: "error", role: "alert" });
  const submit = async (event) => {
    event.preventDefault();
    error.textContent = "";
    if (!title.value.trim()) { error.textContent = "Give the evidence a title."; return; }
    const chosen = file.files[0];
    if (chosen && chosen.size > state.config.limits.maxPhotoBytes) {
      error.textContent = `"${chosen.name}" is over the ${(state.config.limits.maxPhotoBytes / 1048576).toFixed(0)} MB limit.`;
      return;
    }
    try {
      const doc = { name: title.value.trim(), description: statement.value.trim() };
      if (chosen) {
        doc.fileURI = `ipfs://${await upload(chosen)}`;
        doc.fileTypeExtension = chosen.name.includes(".") ? chosen.name.split(".").pop().toLowerCase() : "";
      }
      const blob = new Blob([JSON.stringify(doc)], { type: "application/json" });
      const cid = await upload(new File([blob], "evidence.json", { type: "application/json" }));
      await send(`Submit evidence for claim ${claimId}`, ({ desk }) => desk.submitEvidence(claimId, `ipfs://${cid}`));
    } catch (e) {
      error.textContent = describeError(e);
    }
  };
  return h("details", { class: "evidence-form" }, h("summary", {}, "Add evidence for the arbitrator"),
    h("form", { onsubmit: submit, novalidate: true }, field("Title", title), field("Statement", statement),
      field("Attachment (optional)", file), error, h("button", { type: "submit" }, "Publish evidence")));
}

/** The dispute desk's credit of this account (bonds won or returned, overpaid fees) with its withdraw button, if any. */
export function showCredit(el, credit) {
  mountIfChanged(el, String(credit), () => (BigInt(credit) > 0n
    ? h("p", {}, `You have ${eth(credit)} of returned bonds and fees to withdraw. `,
      h("button", { type: "button", class: "withdraw-credit", onclick: () => send("Withdraw credit", ({ desk }) => desk.withdrawCredit()) }, "Withdraw credit"))
    : null));
}

/** The claimant's screen, kept in step with the chain; returns a cleanup function that stops the updates. */
export async function claimantView(view) {
  if (!state.wallet) {
    needWallet(view, "Claimant");
    return null;
  }
  const address = state.wallet.address;
  const productList = h("ul", { class: "cards", id: "products" });
  const policyList = h("ul", { class: "cards", id: "policies" });
  const claimsEl = h("ul", { class: "cards", id: "claims" });
  const creditEl = h("div", { id: "credits" });
  let productsById = new Map();
  const productOf = (id) => productsById.get(String(id));

  const render = async (snap) => {
    const [products, policies, claims, credit] = await Promise.all([
      listProducts(snap), myPolicies(snap, address),
      snap.events(snap.manager, snap.manager.filters.ClaimSubmitted(null, null, address)).then((logs) => claimRecords(snap, logs)),
      snap.desk.credits(address)]);
    productsById = new Map(products.map((p) => [String(p.id), p]));
    const commitments = new Map(policies.map((p) => [String(p.id), p.insuredObject]));
    for (const c of claims) c.vehicle = vehicleOf(commitments.get(String(c.record.policyId))); // claims name their vehicle
    reconcile(productList, products, { id: (p) => p.id, create: productCard,
      empty: () => h("li", { class: "empty" }, "No products yet: an insurer has to create one.") });
    reconcile(policyList, policies, { id: (p) => p.id, create: (p) => policyCard(p, productOf),
      empty: () => h("li", { class: "empty" }, "You have no policies yet: buy one above.") });
    reconcile(claimsEl, claims, { id: (c) => c.id, key: claimKey, create: (c) => claimCard(c),
      empty: () => h("li", { class: "empty" }, "No claims yet.") });
    showCredit(creditEl, credit);
  };

  mount(view, h("h1", {}, "Claimant"),
    h("section", { class: "panel", "aria-labelledby": "products-h" }, h("h2", { id: "products-h" }, "Products"), productList),
    h("section", { class: "panel", "aria-labelledby": "policies-h" }, h("h2", { id: "policies-h" }, "My policies"), policyList),
    h("section", { class: "panel", "aria-labelledby": "claims-h" }, h("h2", { id: "claims-h" }, "My claims"), creditEl, claimsEl));
  return followScreen(render);
}

export { needWallet };
