// Arbitrator: the queue of disputed and escalated claims, each with its photos, explanation, the parties'
// ERC-1497 evidence, a replay of the decision, and ruling buttons that say what each ruling pays.
import { DECISION, DECISION_WORDS, RULINGS, STATUS, describeError, followScreen, rulingPayout, send, state } from "./chain.js";
import { evidencePhoto, fetchExplanation, fetchManifest, renderExplanation } from "./explain.js";
import { KEY_GRANTS_TYPE, claimKey, evidenceDoc, keyStatus } from "./keys.js";
import { toHex } from "./seal.js";
import { needWallet } from "./claimant.js";
import { eth, h, mount, pct, reconcile, short, signature, when } from "./ui.js";

/** One replayed field as people read it: the decision by name, the payout in ETH, confidence in percent. */
function replayValue(name, value) {
  if (value === null || value === undefined) return "-";
  if (name === "decision") return `${DECISION[Number(value)] ?? value} (${value})`;
  if (name === "payout") return eth(value);
  if (name === "confidence") return pct(value);
  return short(String(value), 18);
}

/** The disputed, escalated and referred claims (sent from the insurer's review) waiting for a ruling, with the
 * panel's votes and the parties' evidence. */
async function queue(snap, voter) {
  const { manager, desk, panel } = snap;
  const [disputed, escalated, referred, decidedLogs, submittedLogs] = await Promise.all([
    snap.events(desk, desk.filters.ClaimDisputed()),
    snap.events(desk, desk.filters.ClaimEscalated()),
    snap.events(desk, desk.filters.ClaimReferred()),
    snap.events(manager, manager.filters.ClaimDecided()),
    snap.events(manager, manager.filters.ClaimSubmitted()),
  ]);
  const opened = [
    ...disputed.map((l) => ({ id: l.args.claimId, disputeId: l.args.disputeId, by: l.args.disputer, kind: "disputed",
      counterOffer: l.args.counterOffer })),
    ...escalated.map((l) => ({ id: l.args.claimId, disputeId: l.args.disputeId, by: l.args.caller, kind: "escalated" })),
    ...referred.map((l) => ({ id: l.args.claimId, disputeId: l.args.disputeId, by: l.args.caller, kind: "sent from the insurer's review" })),
  ];
  const decided = new Map(decidedLogs.map((l) => [String(l.args.claimId), l.args]));
  const submitted = new Map(submittedLogs.map((l) => [String(l.args.claimId), l.args]));
  const [onPanel, quorum] = panel ? await Promise.all([panel.isPanelist(voter), panel.quorum()]) : [false, 0n];
  const items = await Promise.all(opened.map(async (item) => {
    const record = (await manager.claim(item.id)).toObject();
    if (Number(record.status) !== 3) return null;
    const policy = (await manager.policy(record.policyId)).toObject();
    const [product, voted, tallies, evidenceLogs, history, deadline] = await Promise.all([
      manager.product(policy.productId).then((p) => p.toObject()),
      panel ? panel.hasVoted(item.disputeId, voter) : false,
      panel ? Promise.all(RULINGS.map((r) => panel.votes(item.disputeId, r.code))) : [],
      snap.events(snap.desk, snap.desk.filters.Evidence(null, item.id)),
      claimantHistory(snap, policy.holder, item.id, decided),
      panel ? panel.disputes(item.disputeId).then((d) => Number(d.deadline)) : null,
    ]);
    const evidence = await Promise.all(evidenceLogs.map(async (l) =>
      ({ party: l.args._party, uri: l.args._evidence, doc: await evidenceDoc(l.args._evidence) })));
    return { ...item, record, policy, product, history, deadline, decided: decided.get(String(item.id)) || null,
      submitted: submitted.get(String(item.id)), onPanel, voted, tallies, quorum, evidence };
  }));
  return items.filter(Boolean);
}

/** The policy holder's other claims (any policy), oldest first, each with its status, decision and payout. */
async function claimantHistory(snap, holder, claimId, decided) {
  const logs = await snap.events(snap.manager, snap.manager.filters.ClaimSubmitted(null, null, holder));
  return Promise.all(logs.filter((l) => l.args.claimId !== claimId).map(async (l) => {
    const record = (await snap.manager.claim(l.args.claimId)).toObject();
    return { id: l.args.claimId, policyId: l.args.policyId, incident: l.args.incidentTime, claimed: l.args.claimedAmount,
      status: Number(record.status), payout: record.payout, decision: Number(decided.get(String(l.args.claimId))?.decision ?? 0) };
  }));
}

/** The claimant's history in one place: the policy's age at the incident and the holder's other claims. */
function historyView(item) {
  const incident = Number(item.submitted?.incidentTime ?? 0);
  const days = Math.floor((incident - Number(item.policy.start)) / 86400);
  const others = item.history;
  return h("section", { class: "claimant-history", "aria-label": `claimant's history for claim ${item.id}` },
    h("h4", {}, "The claimant's history"),
    h("p", { class: "policy-age" }, `Policy ${item.record.policyId} started ${when(item.policy.start)}; the incident came ` +
      `${days} day(s) after it started. Cover left ${eth(item.policy.remainingCoverage)}; ${item.policy.claimCount} claim(s) on this policy.`),
    others.length
      ? h("ul", { class: "other-claims", "aria-label": "the policy holder's other claims" }, others.map((c) => h("li", { "data-claim": String(c.id) },
        `Claim ${c.id} on policy ${c.policyId}, incident ${when(c.incident)}: claimed ${eth(c.claimed)}; ` +
        `${STATUS[c.status]}${c.decision ? `, the oracle's decision ${DECISION_WORDS[c.decision]}` : ""}` +
        `${c.status === 4 || c.status === 5 ? `, paid ${eth(c.payout)}` : ""}.`)))
      : h("p", { class: "other-claims" }, "No other claims by this policy holder."));
}

function rulingPays(item, code) {
  return rulingPayout({ claimed: item.record.claimedAmount, deductible: item.product.deductible,
    oraclePayout: item.record.payout, escalated: item.record.escalated, counterOffer: item.counterOffer ?? 0n }, code);
}

function evidenceEntry({ party, uri, doc }) {
  const who = h("strong", {}, `${short(party, 10)}: `);
  if (doc?.type === KEY_GRANTS_TYPE) {
    return h("li", { class: "evidence-grants" }, who, `${doc.name}: the claim's key, wrapped for ${(doc.grants || []).map((g) => short(g.to, 10)).join(", ")}.`);
  }
  if (!uri.startsWith("ipfs://")) return h("li", {}, who, uri);
  const cid = uri.slice("ipfs://".length);
  if (!doc) return h("li", {}, who, h("a", { href: `/content/${cid}` }, uri));
  const file = typeof doc.fileURI === "string" && doc.fileURI.startsWith("ipfs://")
    ? h("a", { href: `/content/${doc.fileURI.slice(7)}`, target: "_blank", rel: "noopener" }, " attachment") : null;
  return h("li", { class: "evidence-item" }, who, `${doc.name ?? "(untitled)"}: ${doc.description ?? ""}`, file);
}

/** The claim's evidence as this account can read it: whether it is sealed, and its key if a grant opens. */
async function evidenceOf(item) {
  const manifest = await fetchManifest(item.record.evidenceRoot);
  if (!manifest.sealed) return { manifest, sealed: false, key: null };
  return { manifest, sealed: true, key: await claimKey(manifest, item.evidence.map((e) => e.doc)) };
}

async function photos(item, evidence) {
  try {
    const { manifest } = evidence;
    return manifest.photos.map((p) => evidencePhoto(p.cid, evidence, `evidence photo ${p.name}`));
  } catch (error) {
    return [h("p", { class: "error" }, error.message)];
  }
}

async function replay(item, evidence, out) {
  mount(out, h("p", {}, "Replaying the assessment from the stored inputs ..."));
  // sealed photos: the replay runs on the gateway, so this sends it the claim's key (the page says so)
  const payload = evidence.key ? JSON.stringify({ contentKey: toHex(evidence.key) }) : "";
  const response = await fetch(`/api/claims/${item.id}/verify`, { method: "POST", headers: { "Content-Type": "application/json" }, body: payload });
  const body = await response.json();
  if (!response.ok) {
    mount(out, h("p", { class: "error", role: "alert" }, `Replay failed: ${body.error?.message || response.status}`));
    return;
  }
  mount(out, h("p", { class: body.match ? "ok" : "error", role: "status", "data-match": String(body.match) },
    body.match ? "Replay matches: the same inputs give the same decision, payout, confidence and explanation hash."
      : "Replay does NOT match the recorded decision; see the fields below."),
  h("table", { class: "replay" }, h("thead", {}, h("tr", {}, ["Field", "Recorded", "Replayed", ""].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, Object.entries(body.fields).map(([name, [a, b, same]]) =>
      h("tr", {}, h("td", {}, name), h("td", {}, replayValue(name, a)), h("td", {}, replayValue(name, b)),
        h("td", {}, same ? "match" : "MISMATCH"))))));
}

/**
 * A dispute as a card: the photos, the explanation and a replay's result are loaded once and stay; the evidence and
 * the votes are redrawn when they change on-chain.
 */
function disputeCard(first) {
  let item = first;
  const facts = h("div");
  const photosEl = h("div", { class: "evidence-photos" });
  const evidenceEl = h("ul", { class: "evidence" });
  const replayOut = h("div", { class: "replay-out" });
  const rulings = h("div", { class: "rulings", role: "group", "aria-label": "ruling" });
  const explanation = h("div", { class: "details" });
  const evidence = evidenceOf(item).catch((error) => ({ error }));
  evidence.then((ev) => (ev.error ? [h("p", { class: "error" }, describeError(ev.error))] : photos(item, ev))).then((els) => mount(photosEl, els));
  if (item.decided) {
    const hash = item.decided.explanationHash;
    Promise.all([fetchExplanation(hash), evidence]).then(([doc, ev]) => mount(explanation, renderExplanation(doc, hash, ev.error ? undefined : ev)))
      .catch((error) => mount(explanation, h("p", { class: "error" }, error.message)));
  }
  const el = h("li", { class: "card dispute", "data-claim": String(item.id) }, facts, photosEl,
    h("h4", {}, "Evidence submitted by the parties"), evidenceEl,
    h("div", { class: "actions" },
      item.decided ? h("button", { type: "button", class: "replay", onclick: () => evidence.then((ev) => replay(item, ev.error ? {} : ev, replayOut)).catch((e) => mount(replayOut, h("p", { class: "error" }, describeError(e)))) }, "Replay decision") : null),
    replayOut, rulings, explanation);
  const update = (next) => {
    item = next;
    const s = item.submitted;
    mount(facts,
      h("h3", {}, `Claim ${item.id}, dispute ${item.disputeId} (${item.kind} by ${short(item.by, 10)})`),
      h("p", {}, item.decided
        ? `The oracle's decision: ${DECISION_WORDS[Number(item.decided.decision)]}, paying ${eth(item.decided.payout)}; claimed ${eth(item.record.claimedAmount)}.` +
          (DECISION[Number(item.decided.decision)] !== "REFER" ? "" : item.record.escalated
            ? " Nobody assessed an amount: it came here from the insurer's review without a proposal."
            : ` The insurer's adjuster then proposed ${eth(item.record.payout)}, which was disputed.`)
        : `Escalated without an oracle decision; claimed ${eth(item.record.claimedAmount)}.`),
      BigInt(item.counterOffer ?? 0n) > 0n ? h("p", { class: "counter-offer" }, `The claimant's counter-offer: ` +
        `${eth(item.counterOffer)}. A ruling for the claimant pays ${eth(rulingPays(item, 2))}, the counter-offer, instead ` +
        "of what was claimed less the deductible.") : null,
      s ? h("p", { class: "hint" }, `Incident ${when(s.incidentTime)} at ${(Number(s.latitudeE6) / 1e6).toFixed(4)}, ${(Number(s.longitudeE6) / 1e6).toFixed(4)}.`) : null,
      historyView(item));
    mount(evidenceEl, item.evidence.length ? item.evidence.map(evidenceEntry) : h("li", {}, "none"));
    paintRulings();
  };
  let choice = null; // the ruling chosen and waiting for its confirmation
  const paintRulings = () => {
    mount(rulings,
      item.onPanel ? (item.voted ? h("p", {}, "You have voted on this dispute.") : null) : h("p", { class: "hint" }, "Only panel members can rule; choose a panel account."),
      RULINGS.map((r, i) => h("button", {
        type: "button", class: `rule rule-${r.code}`, disabled: !item.onPanel || item.voted ? true : null, "aria-pressed": String(choice === r),
        onclick: () => { choice = r; paintRulings(); rulings.querySelector(".confirm-vote")?.focus(); },
      }, `${r.name}: pays ${eth(rulingPays(item, r.code))} (${item.tallies[i] ?? 0n} of ${item.quorum} votes)`)),
      choice && item.onPanel && !item.voted ? voteConfirmation(item, choice, () => { choice = null; paintRulings(); }) : null);
  };
  return { el, update };
}

/** The step before a vote: what the chosen ruling pays, that the vote cannot be taken back, and who decides; answers
 * the element with a confirm and a cancel button. */
function voteConfirmation(item, ruling, cancel) {
  return h("div", { class: "confirm", role: "group", "aria-label": `confirm your vote on claim ${item.id}` },
    h("p", {}, `You vote "${ruling.name}": the claimant would receive ${eth(rulingPays(item, ruling.code))} (claimed ` +
      `${eth(item.record.claimedAmount)}). Voting costs only the transaction's gas, and a vote cannot be changed. The ` +
      `panel rules when ${item.quorum} members agree${item.deadline ? `, by ${when(item.deadline)} at the latest; if it has ` +
      `not by then, the claim pays ${eth(rulingPays(item, 0))}` : ""}.`),
    h("button", { type: "button", class: "confirm-vote", onclick: () =>
      send(`Rule on claim ${item.id}: ${ruling.name}`, ({ panel }) => panel.vote(item.disputeId, ruling.code)).then(cancel) },
    `Confirm my vote: ${ruling.name}`),
    h("button", { type: "button", class: "cancel", onclick: cancel }, "Choose again"));
}

/** What a dispute card shows that can change: it is redrawn only when this does. */
function disputeKey(item) {
  return signature([item.record, item.policy, item.history, item.onPanel, item.voted, item.tallies, item.quorum, item.evidence.map((e) => [e.uri, Boolean(e.doc)])]);
}

/** The arbitrator's screen, kept in step with the chain. */
export async function arbitratorView(view) {
  if (!state.wallet) {
    needWallet(view, "Arbitrator");
    return null;
  }
  const voter = state.wallet.address;
  const list = h("ul", { class: "cards", id: "disputes" });
  const render = async (snap) => {
    const items = await queue(snap, voter);
    reconcile(list, items, { id: (i) => `${i.id}:${i.disputeId}`, key: disputeKey, create: disputeCard,
      empty: () => h("li", { class: "empty" }, "No disputed or escalated claims are waiting.") });
  };
  mount(view, h("h1", {}, "Arbitrator"), h("p", { class: "hint" },
    `Panel arbitrator ${state.config.contracts.PanelArbitrator.address}; a ruling takes effect when the panel's quorum agrees.`),
  keyStatus("a panelist"),
  h("section", { class: "panel", "aria-label": "dispute queue" }, h("h2", {}, "Dispute queue"), list));
  return followScreen(render);
}
