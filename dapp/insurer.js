// Insurer: create and configure products (every contract parameter), fund and withdraw capital, pause, a dashboard
// of policies, claims, decisions, payouts, capital, reserves and loss ratio with a chart, and the claims on its
// products with their deadlines, next step and what the insurer may do about each.
import { ARBITRATION_RESERVE_WEI, DECISION_WORDS, PERILS, REVIEW_DEADLINE_S, contracts, describeError, ethers, follow, send, state } from "./chain.js";
import { fetchByHash } from "./explain.js";
import { claimCard, claimKey, claimRecords, escalationFrom, needWallet, proposed, reviewStep, reviewTermsOf, rulingPays, sameAccount, showCredit, staleFrom } from "./claimant.js";
import { keyStatus, publishMyKey } from "./keys.js";
import { eth, field, fieldError, h, mount, mountIfChanged, notice, parseEth, reconcile, short, signature, when } from "./ui.js";

const ZERO = "0x0000000000000000000000000000000000000000";
const SVG = "http://www.w3.org/2000/svg";

function input(name, value, attrs = {}) {
  return h("input", { name, value: value ?? "", type: "text", ...attrs });
}

function weiToEthText(wei) {
  return ethers.formatEther(BigInt(wei ?? 0));
}

function addresses(text, what) {
  const list = text.split(/[\s,]+/).filter(Boolean);
  for (const a of list) if (!ethers.isAddress(a)) throw new Error(`${what}: "${a}" is not an address`);
  return list.map((a) => ethers.getAddress(a));
}

function bytes32List(text, what) {
  const list = text.split(/[\s,]+/).filter(Boolean);
  for (const x of list) if (!/^0x[0-9a-fA-F]{64}$/.test(x)) throw new Error(`${what}: "${x}" is not a 32-byte hash (0x + 64 hex digits)`);
  return list;
}

/** A percentage typed by a person (up to two decimals, point or comma) as the basis points the contract takes. */
export function percentToBps(text, what) {
  const value = String(text ?? "").trim().replace(",", ".");
  if (!/^\d{1,3}(\.\d{1,2})?$/.test(value) || Number(value) > 100) throw new Error(`${what} must be a percentage from 0 to 100 (e.g. 90 or 92.5)`);
  return Math.round(Number(value) * 100);
}

/** A vehicle class's premium as a multiple of the base premium ("1.25") in basis points, as the governor stores it. */
export function factorToBps(text, what) {
  const value = String(text ?? "").trim().replace(",", ".");
  const bps = /^\d{1,3}(\.\d{1,4})?$/.test(value) ? Math.round(Number(value) * 10_000) : NaN;
  if (!(bps >= 1 && bps < 2 ** 20)) throw new Error(`${what} must be a multiple of the base premium from 0.0001 to 104.8575 (e.g. 1 or 1.25)`);
  return bps;
}

function integer(text, what, min, max) {
  const value = Number(String(text).trim());
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${what} must be a whole number from ${min} to ${max}`);
  return value;
}

async function defaultTermsText() {
  const hash = state.config.defaults.termsHash;
  if (!hash) return "";
  try {
    return JSON.stringify(await fetchByHash(hash), null, 2);
  } catch {
    return "";
  }
}

/** Show a form's error and bring it into view (on a phone the form's foot may be off-screen). */
function showError(error, text) {
  error.textContent = text;
  if (text) error.scrollIntoView?.({ block: "center" });
}

/** Refuse, before anything is sent, initial capital (in ETH) the insurer's account does not hold. */
async function checkBalance(capital, asset) {
  if (asset !== ZERO || capital === 0n) return; // an ERC-20's balance is the token's business; it reverts in words
  const balance = await state.reader.getBalance(state.wallet.address);
  if (balance <= capital) {
    throw new Error(`Your account holds ${eth(balance)}, not enough for ${eth(capital)} of initial capital and the gas. ` +
      "Lower the initial capital or add ETH to the account; nothing was created.");
  }
}

/** Put a newly created product on sale only funded: pause it, fund it, then unpause it; a failed step leaves it
 * paused and says so beside the form, and pressing the button again resumes from there (never a duplicate). */
async function finishProduct(p, button, error, done) {
  const sendNear = (label, build) => send(label, build, button);
  if (!p.paused) {
    if (!(await sendNear(`Pause product ${p.id} until it is funded`, ({ governor }) => governor.setPaused(p.id, true)))) {
      showError(error, `Product ${p.id} was created but could not be paused: it is on sale with no capital. Press the button again, or pause it in My products.`);
      return;
    }
    p.paused = true;
  }
  if (p.capital === 0n) {
    showError(error, `Product ${p.id} was created with no capital and stays paused: fund it and unpause it in My products.`);
    done();
    return;
  }
  if (!p.funded) {
    if (!(await sendNear(`Fund product ${p.id}`, ({ manager }) => manager.depositCapital(p.id, p.capital, { value: p.asset === ZERO ? p.capital : 0n })))) {
      showError(error, `Product ${p.id} was created but not funded, so it stays paused and off sale. ` +
        `Press "Fund product ${p.id} and put it on sale" to try again; no second product is created.`);
      return;
    }
    p.funded = true;
  }
  if (!p.reserved) {
    // the insurer's share of arbitration fees: without it, a claimant who disputes wins by default
    if (!(await sendNear(`Fund the arbitration reserve of product ${p.id}`, ({ desk }) => desk.fundArbitration(p.id, { value: ARBITRATION_RESERVE_WEI })))) {
      showError(error, `Product ${p.id} is funded but has no arbitration reserve, so it stays paused: press the button again.`);
      return;
    }
    p.reserved = true;
  }
  if (!(await sendNear(`Unpause product ${p.id}`, ({ governor }) => governor.setPaused(p.id, false)))) {
    showError(error, `Product ${p.id} is funded but still paused: press the button again, or unpause it in My products.`);
    return;
  }
  notice(`Product ${p.id} created with terms "${p.name}", funded with ${eth(p.capital)} (and ${eth(ARBITRATION_RESERVE_WEI)} ` +
    "for arbitration fees) and on sale.");
  done();
}

/** The terms document's cost schedule as a table (a row per vehicle class, an amount in ETH per damage level, and
 * the class's premium as a multiple of the base premium): `load(text, factors)` fills it from a terms JSON text (and
 * the classes' factors in basis points, in row order), `merge(text)` answers {text, factors}: that text with the
 * table's schedule in it (wei strings, as the gateway's POST /api/terms validates them) and each row's factor in
 * basis points (the product's `classFactors`: class k is the schedule's k-th row), or throws a sentence naming the cell. */
export function costScheduleTable() {
  const levels = state.config.constants.severities;
  const rows = h("tbody");
  const cell = (name, value, label) => h("td", {}, h("input", { type: "text", name, value, "aria-label": label, inputmode: name === "class" ? null : "decimal", size: 8 }));
  const addRow = (vehicleClass = "", costs = {}, factorBps = 10_000) => {
    const row = h("tr", { class: "schedule-row" },
      cell("class", vehicleClass, "vehicle class"),
      levels.map((level) => cell(level, costs[level] === undefined ? "" : ethers.formatEther(BigInt(costs[level])).replace(/\.0$/, ""), `${level} damage repair cost (ETH)`)),
      cell("factor", String(factorBps / 10_000), "premium, times the base premium"),
      h("td", {}, h("button", { type: "button", class: "remove-class", onclick: () => row.remove() }, "Remove")));
    rows.append(row);
    return row;
  };
  const load = (text, factors = []) => {
    let schedule;
    try {
      schedule = JSON.parse(text).costSchedule;
    } catch {
      return; // not JSON (yet): the table keeps what it shows
    }
    if (!schedule || typeof schedule !== "object") return;
    mount(rows);
    Object.entries(schedule).forEach(([vehicleClass, costs], i) => addRow(vehicleClass, costs || {}, factors[i] ?? 10_000));
  };
  const merge = (text) => {
    const doc = JSON.parse(text);
    const schedule = {};
    const factors = [];
    const most = state.config.constants.maxVehicleClasses;
    if (rows.children.length > most) throw new Error(`Cost schedule: at most ${most} vehicle classes (the contract prices each one).`);
    [...rows.children].forEach((row, i) => {
      const name = row.querySelector('input[name="class"]').value.trim();
      if (!name) throw new Error(`Cost schedule, row ${i + 1}: give the vehicle class a name.`);
      if (schedule[name]) throw new Error(`Cost schedule: the vehicle class "${name}" appears twice.`);
      if (/^\d+$/.test(name)) throw new Error(`Cost schedule, row ${i + 1}: name the vehicle class in words, not a number.`);
      factors.push(factorToBps(row.querySelector('input[name="factor"]').value, `Cost schedule, ${name}, premium`));
      schedule[name] = Object.fromEntries(levels.map((level) =>
        [level, String(parseEth(row.querySelector(`input[name="${level}"]`).value, `Cost schedule, ${name}, ${level} damage`))]));
    });
    if (!Object.keys(schedule).length) throw new Error("Cost schedule: add at least one vehicle class.");
    doc.costSchedule = schedule;
    return { text: JSON.stringify(doc, null, 2), factors };
  };
  const el = h("div", { class: "cost-schedule" },
    h("div", { class: "table-wrap" }, h("table", {},
      h("caption", {}, "Cost schedule: the repair estimate in ETH per vehicle class and damage level, and each class's premium as a multiple of the base premium (a holder declares its class when buying)"),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Vehicle class"), levels.map((l) => h("th", { scope: "col" }, `${l} damage`)), h("th", { scope: "col" }, "premium (× base)"), h("th", { scope: "col" }, h("span", { class: "sr-only" }, "remove")))),
      rows)),
    h("button", { type: "button", class: "add-class", onclick: () => addRow().querySelector("input")?.focus() }, "Add a vehicle class"));
  return { el, load, merge };
}

async function createForm(onCreated) {
  const d = state.config.defaults;
  const f = {
    asset: input("asset", d.asset ?? ZERO),
    coverage: input("coverageLimit", weiToEthText(d.coverageLimit), { inputmode: "decimal" }),
    deductible: input("deductible", weiToEthText(d.deductible), { inputmode: "decimal" }),
    premium: input("premium", weiToEthText(d.premium), { inputmode: "decimal" }),
    termDays: input("termDays", String((d.term ?? 31536000) / 86400), { inputmode: "numeric" }),
    committee: h("textarea", { name: "committee", rows: 3 }, (d.committee || []).join("\n")),
    threshold: input("threshold", String(d.threshold ?? 2), { inputmode: "numeric" }),
    models: h("textarea", { name: "models", rows: 2 }, (d.models || []).join("\n")),
    instantLimit: input("instantLimit", weiToEthText(d.instantLimit), { inputmode: "decimal" }),
    dailyCap: input("instantDailyCap", weiToEthText(d.instantDailyCap ?? 0), { inputmode: "decimal" }),
    minConfidence: input("minConfidence", String((d.minConfidence ?? 9000) / 100), { inputmode: "decimal" }),
    windowHours: input("windowHours", String((d.disputeWindow ?? 259200) / 3600), { inputmode: "numeric" }),
    bond: input("disputeBond", weiToEthText(d.disputeBond), { inputmode: "decimal" }),
    arbitrator: input("arbitrator", d.arbitrator ?? ""),
    extraData: input("arbitratorExtraData", "0x"),
    maxOpenClaims: input("maxOpenClaims", String(d.maxOpenClaims ?? 3), { inputmode: "numeric" }),
    timeoutHours: input("oracleTimeoutHours", String((d.oracleTimeout ?? 86400) / 3600), { inputmode: "numeric" }),
    metaEvidence: input("metaEvidenceURI", d.metaEvidenceURI ?? ""),
    adjuster: input("adjuster", ""),
    reviewHours: input("reviewHours", String((d.reviewDeadline ?? REVIEW_DEADLINE_S) / 3600), { inputmode: "numeric" }),
    capital: input("capital", weiToEthText(d.capital ?? 0), { inputmode: "decimal" }),
    terms: h("textarea", { name: "terms", rows: 10, spellcheck: "false" }, await defaultTermsText()),
  };
  const perilBoxes = PERILS.map((name, i) => h("label", { class: "check" },
    h("input", { type: "checkbox", name: `peril-${name}`, checked: (BigInt(d.perils ?? 63) >> BigInt(i)) & 1n ? true : null }), ` ${name}`));
  const perilGroup = h("div", { class: "perils", role: "group", "aria-label": "covered perils", id: "perils" }, perilBoxes);
  const schedule = costScheduleTable();
  schedule.load(f.terms.value, d.classFactors);
  f.terms.addEventListener("change", () => schedule.load(f.terms.value));
  const termsFile = h("input", { type: "file", accept: "application/json,.json", name: "termsFile" });
  termsFile.addEventListener("change", async () => {
    const file = termsFile.files[0];
    if (file) f.terms.value = await file.text();
    schedule.load(f.terms.value);
  });
  const error = h("p", { class: "error", role: "alert", id: "product-error" });
  const button = h("button", { type: "submit" }, "Upload terms, create product and fund it");
  const resetButton = () => {
    button.textContent = "Upload terms, create product and fund it";
    button.form?.reset(); // the next product starts from the defaults again
    schedule.load(f.terms.value, d.classFactors);
  };

  let unfinished = null; // {id, capital, asset}: a product created here whose funding has not gone through yet
  const submit = async (event) => {
    event.preventDefault();
    error.textContent = "";
    if (unfinished) {
      button.disabled = true;
      await finishProduct(unfinished, button, error, () => { unfinished = null; resetButton(); onCreated(); })
        .catch((e) => showError(error, describeError(e)))
        .finally(() => { button.disabled = false; });
      return;
    }
    let config, capital;
    const inputs = [...Object.values(f), perilGroup];
    for (const input of inputs) fieldError(input, "");
    // each check names the input it is about: its message shows right under that input
    const at = (input, check) => {
      try {
        return check();
      } catch (e) {
        e.input = input;
        throw e;
      }
    };
    try {
      let perils = 0;
      perilBoxes.forEach((label, i) => { if (label.querySelector("input").checked) perils |= 1 << i; });
      at(perilGroup, () => { if (!perils) throw new Error("Cover at least one peril."); });
      const committee = at(f.committee, () => {
        const list = addresses(f.committee.value, "Committee");
        if (!list.length) throw new Error("The oracle committee needs at least one member.");
        return list;
      });
      const threshold = at(f.threshold, () => integer(f.threshold.value, "Threshold", 1, committee.length));
      const models = at(f.models, () => {
        const list = bytes32List(f.models.value, "Approved model hashes");
        if (!list.length) throw new Error("Approve at least one damage model (the shipped model's fingerprint is the default).");
        return list;
      });
      at(f.asset, () => { if (!ethers.isAddress(f.asset.value)) throw new Error("Asset must be an address (0x000... for ETH)."); });
      at(f.arbitrator, () => { if (!ethers.isAddress(f.arbitrator.value)) throw new Error("Arbitrator must be the address of an arbitrator contract."); });
      at(f.extraData, () => {
        if (!/^0x([0-9a-fA-F]{2})*$/.test(f.extraData.value) || f.extraData.value.length > 2 + 512) {
          throw new Error("Arbitrator extra data must be hex bytes (at most 256).");
        }
      });
      const coverageLimit = at(f.coverage, () => parseEth(f.coverage.value, "Coverage limit"));
      const deductible = at(f.deductible, () => {
        const value = parseEth(f.deductible.value, "Deductible");
        if (value >= coverageLimit) throw new Error("The deductible must be smaller than the coverage limit.");
        return value;
      });
      const instantLimit = at(f.instantLimit, () => {
        const value = parseEth(f.instantLimit.value, "Instant payout limit");
        if (value > coverageLimit) throw new Error("The instant payout limit cannot exceed the coverage limit.");
        return value;
      });
      capital = at(f.capital, () => parseEth(f.capital.value, "Initial capital"));
      config = {
        asset: ethers.getAddress(f.asset.value), coverageLimit, deductible, premium: at(f.premium, () => parseEth(f.premium.value, "Premium")),
        term: at(f.termDays, () => integer(f.termDays.value, "Term (days)", 1, 3650)) * 86400, perils, committee, threshold, models, instantLimit,
        minConfidence: at(f.minConfidence, () => percentToBps(f.minConfidence.value, "Minimum confidence")),
        disputeWindow: at(f.windowHours, () => integer(f.windowHours.value, "Dispute window (hours)", 24, 24 * 90)) * 3600,
        disputeBond: at(f.bond, () => parseEth(f.bond.value, "Dispute bond")), arbitrator: ethers.getAddress(f.arbitrator.value),
        arbitratorExtraData: f.extraData.value,
        oracleTimeout: at(f.timeoutHours, () => integer(f.timeoutHours.value, "Oracle timeout (hours)", 1, 24 * 90)) * 3600,
        termsHash: ethers.ZeroHash, metaEvidenceURI: f.metaEvidence.value.trim(),
        maxOpenClaims: at(f.maxOpenClaims, () => integer(f.maxOpenClaims.value, "Open claims per policy", 1, 255)),
        instantDailyCap: at(f.dailyCap, () => parseEth(f.dailyCap.value, "Instant payouts per day")),
        adjuster: at(f.adjuster, () => {
          const text = f.adjuster.value.trim();
          if (text && !ethers.isAddress(text)) throw new Error("Adjuster must be an account address, or empty for you to review the claims yourself.");
          return text ? ethers.getAddress(text) : ethers.ZeroAddress; // zero: the insurer reviews them itself
        }),
        reviewDeadline: at(f.reviewHours, () => integer(f.reviewHours.value, "Review deadline (hours)", 1, 14 * 24)) * 3600,
      };
      at(f.metaEvidence, () => { if (config.metaEvidenceURI.length > 256) throw new Error("The meta-evidence URI is longer than 256 characters."); });
      const merged = schedule.merge(f.terms.value);
      f.terms.value = merged.text;
      config.classFactors = merged.factors;
    } catch (e) {
      if (e.input) {
        fieldError(e.input, e.message);
        e.input.scrollIntoView?.({ block: "center" });
        (e.input.querySelector?.("input") ?? e.input).focus();
      } else {
        showError(error, e instanceof SyntaxError ? `The terms document is not valid JSON: ${e.message}` : e.message);
      }
      return;
    }
    button.disabled = true;
    try {
      await checkBalance(capital, config.asset);
      const response = await fetch("/api/terms", { method: "POST", headers: { "Content-Type": "application/json" }, body: f.terms.value });
      const terms = await response.json();
      if (!response.ok) throw new Error(`the terms document was refused: ${terms.error?.message || response.status}`);
      config.termsHash = terms.termsHash;
      if (!config.metaEvidenceURI) config.metaEvidenceURI = `ipfs://${terms.cid}`;
      await publishMyKey(); // claimants seal their photos for the insurer too: its key must be published first
      const receipt = await send("Create product", ({ governor }) => governor.createProduct(config), button);
      if (!receipt) return;
      const { manager } = contracts();
      const log = receipt.logs.map((l) => { try { return manager.interface.parseLog(l); } catch { return null; } }).find((l) => l?.name === "ProductCreated");
      unfinished = { id: log.args.productId, capital, asset: config.asset, paused: false, name: terms.name };
      button.textContent = `Fund product ${unfinished.id} and put it on sale`;
      await finishProduct(unfinished, button, error, () => { unfinished = null; resetButton(); onCreated(); });
    } catch (e) {
      showError(error, describeError(e));
    } finally {
      button.disabled = false;
    }
  };
  const g = (label, el, hint) => field(label, el, hint);
  return h("form", { class: "product-form", onsubmit: submit, novalidate: true, "aria-labelledby": "create-h" },
    h("h2", { id: "create-h" }, "Create a product"),
    h("fieldset", {}, h("legend", {}, "Cover"), h("div", { class: "grid" },
      g("Payout asset", f.asset, "0x000...000 for ETH, else an ERC-20 address"), g("Coverage limit (ETH)", f.coverage),
      g("Deductible (ETH)", f.deductible), g("Base premium (ETH)", f.premium, "each vehicle class pays it times its factor in the cost schedule"), g("Term (days)", f.termDays),
      g("Open claims per policy", f.maxOpenClaims, "a policy holder may have at most this many claims open at once")),
    h("div", { class: "field" }, perilGroup)),
    h("fieldset", {}, h("legend", {}, "Oracle"), h("div", { class: "grid" },
      g("Committee members (one address per line)", f.committee), g("Signatures needed (M of N)", f.threshold),
      g("Approved damage models (fingerprints, one per line)", f.models, "the shipped model's is filled in"),
      g("Instant payout limit (ETH)", f.instantLimit),
      g("Instant payouts per day (ETH)", f.dailyCap, "past this, decisions open the dispute window as usual"),
      g("Minimum confidence for instant payout (%)", f.minConfidence),
      g("Oracle timeout (hours)", f.timeoutHours, "after this, claimant or insurer may escalate to the arbitrator"))),
    h("fieldset", {}, h("legend", {}, "Disputes"), h("div", { class: "grid" },
      g("Dispute window (hours)", f.windowHours), g("Dispute bond (ETH)", f.bond), g("Arbitrator contract", f.arbitrator),
      g("Arbitrator extra data (hex)", f.extraData), g("Dispute rules document (URI)", f.metaEvidence, "empty: the terms document's URI"))),
    h("fieldset", {}, h("legend", {}, "Review of claims the oracle is not sure of"), h("div", { class: "grid" },
      g("Adjuster (account address)", f.adjuster, "who proposes a payout or sends such a claim to the arbitrator; empty: you"),
      g("Review deadline (hours)", f.reviewHours, "1 to 336; after it, anyone may send an unreviewed claim to the arbitrator at your cost"))),
    h("fieldset", {}, h("legend", {}, "Terms document (cost schedule and thresholds)"),
      schedule.el, field("Upload a terms JSON file", termsFile),
      h("details", { class: "terms-json" }, h("summary", {}, "The whole terms document (thresholds, deductible) as JSON"),
        field("Terms JSON", f.terms, "the cost schedule table above replaces the one here; the document's fingerprint is recorded with the product, so it cannot change later"))),
    h("fieldset", {}, h("legend", {}, "Capital"), field("Initial capital (ETH)", f.capital)),
    error, button);
}

/** The insurer's products with their policies, premiums, claims, decisions and payouts, as of one snapshot. */
async function productStats(snap, insurer) {
  const { manager, governor } = snap;
  const [mine, purchased, submitted, decided, resolved] = await Promise.all([
    snap.events(manager, manager.filters.ProductCreated(null, insurer)),
    snap.events(manager, manager.filters.PolicyPurchased()),
    snap.events(manager, manager.filters.ClaimSubmitted()),
    snap.events(manager, manager.filters.ClaimDecided()),
    snap.events(manager, manager.filters.ClaimResolved()),
  ]);
  return Promise.all(mine.map(async (log) => {
    const id = log.args.productId;
    const product = (await manager.product(id)).toObject();
    // an announced rules change waits out the product's change delay; holders may cancel meanwhile
    const changeAt = governor ? BigInt(await governor.changeEffectiveAt(id)) : 0n;
    const pending = changeAt > 0n ? (await governor.pendingRules(id)).toObject() : null;
    const policies = purchased.filter((l) => l.args.productId === id);
    const policyIds = new Set(policies.map((l) => String(l.args.policyId)));
    const premiums = policies.reduce((sum, l) => sum + BigInt(l.args.premium), 0n);
    const claimIds = new Set(submitted.filter((l) => policyIds.has(String(l.args.policyId))).map((l) => String(l.args.claimId)));
    const decisions = [0, 0, 0, 0, 0];
    for (const l of decided) if (claimIds.has(String(l.args.claimId))) decisions[Number(l.args.decision)] += 1;
    let payouts = 0n;
    for (const l of resolved) if (claimIds.has(String(l.args.claimId))) payouts += BigInt(l.args.payout);
    const closed = new Set(resolved.map((l) => String(l.args.claimId)));
    const open = [...claimIds].filter((c) => !closed.has(c)).length;
    const claimLogs = submitted.filter((l) => claimIds.has(String(l.args.claimId)));
    return { id, product, changeAt, pending, policies: policies.length, premiums, claims: claimIds.size, open, decisions, payouts, claimLogs };
  }));
}

/** The claims on other insurers' products whose adjuster is `account` (a product's review terms never change). */
async function adjustedClaimLogs(snap, account) {
  const { manager } = snap;
  const theirs = (await snap.events(manager, manager.filters.ProductCreated())).filter((l) => !sameAccount(l.args.insurer, account));
  const terms = await Promise.all(theirs.map((l) => reviewTermsOf(snap, l.args.productId)));
  const products = new Set(theirs.filter((_, i) => sameAccount(terms[i].adjuster, account)).map((l) => String(l.args.productId)));
  if (!products.size) return [];
  const [purchased, submitted] = await Promise.all([snap.events(manager, manager.filters.PolicyPurchased()),
    snap.events(manager, manager.filters.ClaimSubmitted())]);
  const policies = new Set(purchased.filter((l) => products.has(String(l.args.productId))).map((l) => String(l.args.policyId)));
  return submitted.filter((l) => policies.has(String(l.args.policyId)));
}

/** Whether a claim's status is one whose outcome may still change: waiting for the oracle, decided within or after
 * its window, disputed, or in the insurer's review (status 6); not resolved or paid. */
function isOpen(status) {
  return status < 4 || status === 6;
}

/** The most a claim may still take from its product's capital: a final payout not yet withdrawn; else, while a
 * decision can still change (no decision yet, in review, its window open, or disputed), the larger of the payout on
 * record and what a ruling for the claimant pays (the claim less the deductible); else the decision's payout. */
export function mostItMayPay(c) {
  const status = Number(c.record.status);
  if (status === 4) return BigInt(c.record.payout);
  if (status === 5) return 0n;
  const oracle = BigInt(c.record.payout); // the committee's or the adjuster's; none while the oracle or a person decides
  if (status === 2 && !c.can.dispute) return oracle;
  const claimantWins = rulingPays(c, 2);
  return claimantWins > oracle ? claimantWins : oracle;
}

/** The capital held for a product's open claims (see mostItMayPay), each policy's undecided ones together at most
 * its cover left (a final payout is already out of that cover, so it counts in full); `policies` maps a policy id to
 * its record. Part of the product's locked capital, which also covers its live policies. */
export function pendingReserve(claims, policies) {
  const owed = new Map(); // policy id -> what its claims may still pay before they are final
  let total = 0n;
  for (const c of claims) {
    const status = Number(c.record.status);
    if (status === 4) total += BigInt(c.record.payout);
    else if (isOpen(status)) owed.set(String(c.record.policyId), (owed.get(String(c.record.policyId)) ?? 0n) + mostItMayPay(c));
  }
  for (const [policyId, amount] of owed) {
    const left = BigInt(policies.get(policyId).remainingCoverage);
    total += amount < left ? amount : left;
  }
  return total;
}

/** What happens next to a claim on the insurer's product, by when, and what the insurer may do about it. */
export function insurerNextStep(c) {
  const status = Number(c.record.status);
  const payout = eth(c.record.payout);
  if (status === 1) {
    const from = escalationFrom(c);
    const stale = `if nobody does, anyone may close it from ${when(staleFrom(c))}, and it pays nothing.`;
    if (c.can.closeStale) return "Nobody decided the claim or took it to the arbitration panel in time: close it; it pays nothing and frees the policy.";
    if (c.now < from) {
      return "Next: the oracle committee assesses it, usually within minutes. If it has not decided by " +
        `${when(from)}, you or the claimant can take it to the arbitration panel; ${stale}`;
    }
    return `The oracle committee did not decide by ${when(from)}: you or the claimant can take it to the arbitration ` +
      `panel (if the panel does not rule, the claim pays ${eth(rulingPays(c, 0, true))}); ${stale}`;
  }
  const windowEnds = c.windowEnds;
  if (status === 2 && c.can.dispute) {
    if (proposed(c)) {
      return `The product's adjuster proposed ${payout}: if nobody disputes it, the claim pays that on ${when(windowEnds)}, ` +
        "when the dispute window closes. The claimant may dispute it before then; the arbitration panel then decides.";
    }
    return `If nobody disputes it, the claim pays ${payout} on ${when(windowEnds)}, when the dispute window closes. If ` +
      "you think the decision is wrong, dispute it before then: the arbitration panel then decides.";
  }
  if (status === 2) return `The dispute window closed on ${when(windowEnds)}: the decision is final. Anyone may finalize it; the claimant then withdraws ${payout}.`;
  if (status === 3) {
    const close = c.can.closeDispute ? "Anyone may now close the unruled dispute." : `From ${when(c.closableAt)} anyone may close it unruled.`;
    return `Next: the arbitration panel decides, by ${when(c.ruleBy)} at the latest; add evidence that helps, and ` +
      `share the photos if the panel cannot open them yet. If it has not ruled by then, the claim pays ${eth(rulingPays(c, 0))}. ${close}`;
  }
  if (status === 4) {
    return BigInt(c.record.payout) > 0n
      ? `Final: the claim pays ${eth(c.record.payout)}, which stays in the product's reserves until the claimant withdraws it.`
      : "Closed: the claim pays nothing, and nothing more happens.";
  }
  if (status === 6) return reviewStep(c, INSURER);
  return status === 5 ? `Done: ${eth(c.record.payout)} was paid to the claimant.` : "";
}

/** The insurer's way of seeing a claim card (claimant.js claimCard): the product and policy it is on, and its next
 * step for the insurer, who pays nothing out by hand (the claimant withdraws). */
const INSURER = { nextStep: insurerNextStep, holder: false, claimedBy: "what the claimant claimed", claimantGets: "the claim pays",
  you: "you", yourClaim: "the claim", mayDispute: "which the claimant may then dispute", insurersCost: "your cost",
  reserve: "your product's arbitration reserve",
  feeBack: "which the insurer (you) pays in any case",
  names: (c) => `Product ${c.productId}, policy ${c.record.policyId}, claimant ${short(c.submitted.holder, 10)}.` };

/** The largest premium or payout total of any product (at least 1 wei): the full length of the chart's bars. */
export function chartMax(stats) {
  return stats.reduce((m, s) => [s.premiums, s.payouts].reduce((a, v) => (BigInt(v) > a ? BigInt(v) : a), m), 1n);
}

/** The premiums-versus-payouts bar chart, every bar scaled to the same maximum. */
export function chart(stats) {
  const width = 360, bar = 18, gap = 14, rowHeight = bar * 2 + gap;
  const height = Math.max(1, stats.length) * rowHeight + 30;
  const max = chartMax(stats);
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", "premiums and payouts per product: " + stats.map((s) => `product ${s.id} premiums ${eth(s.premiums)} payouts ${eth(s.payouts)}`).join("; "));
  const add = (tag, attrs, text) => {
    const el = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    if (text) el.textContent = text;
    svg.append(el);
  };
  stats.forEach((s, i) => {
    const y = i * rowHeight + 20;
    const scale = (v) => Math.max(1, Number((v * 240n) / max));
    add("text", { x: 0, y: y + bar - 4, class: "label" }, `#${s.id}`);
    add("rect", { x: 40, y, width: scale(s.premiums), height: bar, class: "premium" });
    add("text", { x: 44 + scale(s.premiums), y: y + bar - 4, class: "value" }, eth(s.premiums));
    add("rect", { x: 40, y: y + bar, width: scale(s.payouts), height: bar, class: "payout" });
    add("text", { x: 44 + scale(s.payouts), y: y + 2 * bar - 4, class: "value" }, eth(s.payouts));
  });
  add("text", { x: 40, y: 12, class: "legend" }, "premiums (dark) vs payouts (light)");
  return svg;
}

/** An input whose value follows `value` on every update until the user types into it. */
function following(input, value) {
  if (input.value === (input.dataset.shown ?? "")) input.value = value;
  input.dataset.shown = value;
}

/** The pending rules change of a product, in words, with its effective time and the insurer's two ways on. */
function pendingChange(s) {
  if (!s.pending) return null;
  const r = s.pending;
  return [
    h("p", {}, `Announced: committee ${r.threshold} of ${r.members.length} (${[...r.members].map((m) => short(m, 10)).join(", ")}), ` +
      `${r.models.length} approved model(s), instant payouts up to ${eth(r.instantLimit)} at ${Number(r.minConfidence) / 100}% ` +
      `confidence and ${eth(r.dailyCap)} a day; in force from ${when(s.changeAt)}.`),
    h("button", { type: "button", onclick: () => send(`Cancel the rules change of product ${s.id}`, ({ governor }) => governor.cancelChange(s.id)) },
      "Cancel change"),
    h("button", { type: "button", onclick: () => send(`Apply the rules change of product ${s.id}`, ({ governor }) => governor.applyChange(s.id)) },
      "Apply change"),
  ];
}

/**
 * A product's row: its figures are rewritten when they change on-chain; the manage cell (the amount and the rules
 * being typed, an open <details>) stays as it is.
 */
function productRow(first) {
  let s = first;
  const cells = Array.from({ length: 10 }, () => h("td"));
  cells[5].className = "loss-ratio";
  cells[8].className = "pending-reserve";
  cells[9].className = "free";
  const head = h("th", { scope: "row" });
  const amount = h("input", { type: "text", inputmode: "decimal", name: `amount-${s.id}`, placeholder: "ETH" });
  const withAmount = (label, action) => async () => {
    let value;
    fieldError(amount, "");
    try {
      value = parseEth(amount.value, "Amount");
      if (value === 0n) throw new Error("Amount must be more than zero.");
    } catch (e) {
      fieldError(amount, e.message);
      amount.focus();
      return;
    }
    if (await send(`${label} product ${s.id}`, (c) => action(c, value))) amount.value = "";
  };
  const instant = h("input", { type: "text", inputmode: "decimal", name: `instant-${s.id}` });
  const confidence = h("input", { type: "text", inputmode: "numeric", name: `confidence-${s.id}` });
  const pause = h("button", { type: "button", onclick: () => {
    const paused = Boolean(s.product.paused);
    return send(`${paused ? "Unpause" : "Pause"} product ${s.id}`, ({ governor }) => governor.setPaused(s.id, !paused));
  } });
  const changeEl = h("div", { class: "rules-change" });
  const el = h("tr", { "data-product": String(s.id) }, head, cells,
    h("td", { class: "manage" },
      field("Amount", amount),
      h("button", { type: "button", onclick: withAmount("Fund", ({ manager }, v) => manager.depositCapital(s.id, v, { value: s.product.asset === ZERO ? v : 0n })) }, "Fund"),
      h("button", { type: "button", onclick: withAmount("Withdraw from", ({ manager }, v) => manager.withdrawCapital(s.id, v, state.wallet.address)) }, "Withdraw"),
      pause,
      h("details", {}, h("summary", {}, "Instant payout rules"),
        field("Instant limit (ETH)", instant), field("Min confidence (%)", confidence),
        h("button", { type: "button", onclick: async () => {
          let limit, bps;
          const checked = (input, parse) => {
            fieldError(input, "");
            try {
              return parse(input.value);
            } catch (e) {
              fieldError(input, e.message);
              input.focus();
              return null;
            }
          };
          limit = checked(instant, (v) => parseEth(v, "Instant limit"));
          if (limit === null) return;
          bps = checked(confidence, (v) => percentToBps(v, "Minimum confidence"));
          if (bps === null) return;
          await send(`Announce instant rules of product ${s.id}`, ({ governor }) => governor.setInstantPayoutRules(s.id, limit, bps));
        } }, "Announce rules"),
        h("p", { class: "hint" }, "A change of the rules applies only after the product's change delay, and only to claims " +
          "filed after that; until then policy holders may cancel for a pro-rata refund.")),
      changeEl));
  const update = (next) => {
    s = next;
    const p = s.product;
    const lossRatio = s.premiums > 0n ? `${(Number((s.payouts * 10000n) / s.premiums) / 100).toFixed(1)}%` : "-";
    mountIfChanged(head, signature([s.id, p.paused, p.coverageLimit, p.premium, p.perils, s.open]), () => [
      `#${s.id}${p.paused ? " (paused, not on sale)" : ""}`,
      h("small", { class: "product-terms" }, `cover ${eth(p.coverageLimit)}, base premium ${eth(p.premium)}; ` +
        `${PERILS.filter((_, i) => (BigInt(p.perils) >> BigInt(i)) & 1n).join(", ")}; ${s.open} open claim(s)`)]);
    const texts = [String(s.policies), String(s.claims), DECISION_WORDS.slice(1).map((words, i) => `${words} ${s.decisions[i + 1]}`).join(", "),
      eth(s.premiums), eth(s.payouts), lossRatio, eth(p.capital), eth(BigInt(p.locked) - s.reserve), eth(s.reserve),
      eth(BigInt(p.capital) - BigInt(p.locked))];
    texts.forEach((text, i) => { if (cells[i].textContent !== text) cells[i].textContent = text; });
    pause.textContent = p.paused ? "Unpause" : "Pause";
    following(instant, ethers.formatEther(p.instantLimit));
    following(confidence, String(Number(p.minConfidence) / 100));
    mountIfChanged(changeEl, signature([s.changeAt, s.pending]), () => pendingChange(s));
  };
  return { el, update };
}

/** The insurer's screen: the dashboard of their products (kept in step with the chain) and the product form. */
export async function insurerView(view) {
  if (!state.wallet) {
    needWallet(view, "Insurer");
    return null;
  }
  const insurer = state.wallet.address;
  const totals = h("p", { class: "totals" });
  const chartEl = h("div", { class: "chart" });
  const rows = h("tbody");
  const table = h("div", { class: "table-wrap" }, h("table", { id: "products-table" },
    h("caption", {}, "Policies, claims, decisions, payouts and capital per product; capital is locked for the " +
      "policies' cover, reserved for open claims (the most they may still pay), or free"),
    h("thead", {}, h("tr", {}, ["Product", "Policies", "Claims", "Decisions", "Premiums", "Payouts", "Loss ratio", "Capital",
      "Locked for policies", "Reserved for open claims", "Free", "Manage"].map((t) => h("th", { scope: "col" }, t)))),
    rows));
  const content = h("div");
  const dashboard = h("section", { class: "panel", "aria-labelledby": "dash-h" }, h("h2", { id: "dash-h" }, "My products"), content);
  const formSlot = h("section", { class: "panel" });
  const claimsEl = h("ul", { class: "cards", id: "insurer-claims" });
  const creditEl = h("div", { id: "insurer-credits" });
  const claimsPanel = h("section", { class: "panel", "aria-labelledby": "insurer-claims-h" },
    h("h2", { id: "insurer-claims-h" }, "Claims on my products"), creditEl, claimsEl);
  const queueEl = h("ul", { class: "cards", id: "review-queue" });
  const queuePanel = h("section", { class: "panel", "aria-labelledby": "review-h" }, h("h2", { id: "review-h" }, "Waiting for your review"),
    h("p", { class: "hint" }, "Claims the oracle was not sure enough to decide, on your products or on products you " +
      "adjust: before each one's review deadline, propose a payout (the claimant may dispute it) or send the claim to the " +
      "arbitration panel at the insurer's cost. A claim you answer stays here, with its new state, while this screen is open. " +
      "A claim of your products at the arbitration panel that the panel cannot open yet (sent there by someone who holds " +
      "no key to its photos) waits here too, for you to share its photos."),
    queueEl);
  const reviewedHere = new Set(); // claims seen in review while this screen is open: they stay in the queue
  const render = async (snap) => {
    const [stats, credit, adjusted] = await Promise.all([productStats(snap, insurer), snap.desk.credits(insurer), adjustedClaimLogs(snap, insurer)]);
    const claims = await claimRecords(snap, [...stats.flatMap((s) => s.claimLogs), ...adjusted]
      .sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index));
    for (const c of claims) if (Number(c.record.status) === 6) reviewedHere.add(String(c.id));
    const mine = new Set(stats.map((s) => String(s.id)));
    const panelCannotOpen = (c) => Number(c.record.status) === 3 && mine.has(String(c.productId)) && c.access?.missing.length > 0;
    const inQueue = (c) => reviewedHere.has(String(c.id)) || panelCannotOpen(c);
    reconcile(queueEl, claims.filter(inQueue), { id: (c) => c.id, key: claimKey, create: (c) => claimCard(c, INSURER),
      empty: () => h("li", { class: "empty" }, "No claims are waiting for your review.") });
    const policies = new Map(await Promise.all([...new Set(claims.filter((c) => isOpen(Number(c.record.status))).map((c) => String(c.record.policyId)))]
      .map(async (id) => [id, (await snap.manager.policy(id)).toObject()])));
    for (const s of stats) s.reserve = pendingReserve(claims.filter((c) => c.productId === s.id), policies);
    showCredit(creditEl, credit);
    reconcile(claimsEl, claims.filter((c) => !inQueue(c) && mine.has(String(c.productId))), { id: (c) => c.id, key: claimKey, create: (c) => claimCard(c, INSURER),
      empty: () => h("li", { class: "empty" }, "No claims on your products yet.") });
    if (!stats.length) {
      mountIfChanged(content, "none", () => h("p", {}, `No products by ${short(insurer, 10)} yet.`));
      return;
    }
    mountIfChanged(content, "products", () => [totals, chartEl, table]);
    const sum = stats.reduce((t, s) => ({ premiums: t.premiums + s.premiums, payouts: t.payouts + s.payouts }), { premiums: 0n, payouts: 0n });
    mountIfChanged(totals, signature(sum), () => `Premiums ${eth(sum.premiums)}, payouts ${eth(sum.payouts)}, loss ratio ` +
      (sum.premiums > 0n ? `${(Number((sum.payouts * 10000n) / sum.premiums) / 100).toFixed(1)}%` : "-") + ".");
    mountIfChanged(chartEl, signature(stats.map((s) => [s.id, s.premiums, s.payouts])), () => chart(stats));
    reconcile(rows, stats, { id: (s) => s.id, key: (s) => signature({ ...s, claimLogs: s.claimLogs.length }), create: productRow });
  };
  mount(view, h("h1", {}, "Insurer"), keyStatus("an insurer"), queuePanel, dashboard, claimsPanel, formSlot);
  const live = follow(render);
  try {
    await live.refresh();
    mount(formSlot, await createForm(() => live.refresh().catch((e) => console.warn(describeError(e)))));
  } catch (error) {
    live.stop();
    throw error;
  }
  return live.stop;
}
