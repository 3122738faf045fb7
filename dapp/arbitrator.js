// Arbitrator: the queue of disputed and escalated claims, each with its photos, explanation, the parties'
// ERC-1497 evidence, a replay of the decision, and ruling buttons that say what each ruling pays.
import { DECISION, RULINGS, contracts, describeError, events, send, state } from "./chain.js";
import { fetchByHash, renderExplanation } from "./explain.js";
import { needWallet } from "./claimant.js";
import { eth, h, mount, pct, short, when } from "./ui.js";

/** One replayed field as people read it: the decision by name, the payout in ETH, confidence in percent. */
function replayValue(name, value) {
  if (value === null || value === undefined) return "-";
  if (name === "decision") return `${DECISION[Number(value)] ?? value} (${value})`;
  if (name === "payout") return eth(value);
  if (name === "confidence") return pct(value);
  return short(String(value), 18);
}

async function queue() {
  const { manager } = contracts();
  const opened = [
    ...(await events(manager, manager.filters.ClaimDisputed())).map((l) => ({ id: l.args.claimId, disputeId: l.args.disputeId, by: l.args.disputer, kind: "disputed" })),
    ...(await events(manager, manager.filters.ClaimEscalated())).map((l) => ({ id: l.args.claimId, disputeId: l.args.disputeId, by: l.args.caller, kind: "escalated" })),
  ];
  const decided = new Map((await events(manager, manager.filters.ClaimDecided())).map((l) => [String(l.args.claimId), l.args]));
  const submitted = new Map((await events(manager, manager.filters.ClaimSubmitted())).map((l) => [String(l.args.claimId), l.args]));
  const out = [];
  for (const item of opened) {
    const record = (await manager.claim(item.id)).toObject();
    if (Number(record.status) !== 3) continue;
    const product = (await manager.product((await manager.policy(record.policyId)).productId)).toObject();
    out.push({ ...item, record, product, decided: decided.get(String(item.id)) || null, submitted: submitted.get(String(item.id)) });
  }
  return out;
}

function rulingPays(item, code) {
  const claimed = BigInt(item.record.claimedAmount);
  const deductible = BigInt(item.product.deductible);
  if (code === 2) return claimed > deductible ? claimed - deductible : 0n;
  if (code === 3) return 0n;
  return item.record.escalated ? 0n : BigInt(item.record.payout);
}

async function evidenceEntry(log) {
  const uri = log.args._evidence;
  const who = h("strong", {}, `${short(log.args._party, 10)}: `);
  if (!uri.startsWith("ipfs://")) return h("li", {}, who, uri);
  const cid = uri.slice("ipfs://".length);
  try {
    const response = await fetch(`/content/${cid}`);
    const doc = await response.json();
    const file = typeof doc.fileURI === "string" && doc.fileURI.startsWith("ipfs://")
      ? h("a", { href: `/content/${doc.fileURI.slice(7)}`, target: "_blank", rel: "noopener" }, " attachment") : null;
    return h("li", { class: "evidence-item" }, who, `${doc.name ?? "(untitled)"}: ${doc.description ?? ""}`, file);
  } catch {
    return h("li", {}, who, h("a", { href: `/content/${cid}` }, uri));
  }
}

async function evidenceList(item) {
  const { manager } = contracts();
  const logs = await events(manager, manager.filters.Evidence(null, item.id));
  return Promise.all(logs.map(evidenceEntry));
}

async function photos(item) {
  try {
    const manifest = await fetchByHash(item.record.evidenceRoot);
    return manifest.photos.map((p) => h("img", { src: `/content/${p.cid}`, alt: `evidence photo ${p.name}`, loading: "lazy" }));
  } catch (error) {
    return [h("p", { class: "error" }, error.message)];
  }
}

async function replay(item, out) {
  mount(out, h("p", {}, "Replaying the assessment from the stored inputs ..."));
  const response = await fetch(`/api/claims/${item.id}/verify`, { method: "POST" });
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

async function card(item, refresh) {
  const { panel } = contracts();
  const explanation = h("div", { class: "details" });
  const replayOut = h("div", { class: "replay-out" });
  if (item.decided) {
    fetchByHash(item.decided.explanationHash).then((doc) => mount(explanation, renderExplanation(doc, item.decided.explanationHash)))
      .catch((error) => mount(explanation, h("p", { class: "error" }, error.message)));
  }
  const onPanel = panel ? await panel.isPanelist(state.wallet.address) : false;
  const voted = panel ? await panel.hasVoted(item.disputeId, state.wallet.address) : false;
  const tallies = panel ? await Promise.all(RULINGS.map((r) => panel.votes(item.disputeId, r.code))) : [];
  const quorum = panel ? await panel.quorum() : 0n;
  const buttons = RULINGS.map((r, i) => h("button", {
    type: "button", class: `rule rule-${r.code}`, disabled: !onPanel || voted ? true : null,
    onclick: async () => {
      if (await send(`Rule on claim ${item.id}: ${r.name}`, ({ panel: p }) => p.vote(item.disputeId, r.code))) refresh();
    },
  }, `${r.name}: pays ${eth(rulingPays(item, r.code))} (${tallies[i] ?? 0n} of ${quorum} votes)`));
  const s = item.submitted;
  const evidence = await evidenceList(item);
  return h("li", { class: "card dispute", "data-claim": String(item.id) },
    h("h3", {}, `Claim ${item.id}, dispute ${item.disputeId} (${item.kind} by ${short(item.by, 10)})`),
    h("p", {}, item.decided
      ? `Oracle decision ${DECISION[Number(item.decided.decision)]}, payout ${eth(item.decided.payout)}; claimed ${eth(item.record.claimedAmount)}.`
      : `Escalated without an oracle decision; claimed ${eth(item.record.claimedAmount)}.`),
    s ? h("p", { class: "hint" }, `Incident ${when(s.incidentTime)} at ${(Number(s.latitudeE6) / 1e6).toFixed(4)}, ${(Number(s.longitudeE6) / 1e6).toFixed(4)}.`) : null,
    h("div", { class: "evidence-photos" }, await photos(item)),
    h("h4", {}, "Evidence submitted by the parties (ERC-1497)"),
    h("ul", { class: "evidence" }, evidence.length ? evidence : h("li", {}, "none")),
    h("div", { class: "actions" },
      item.decided ? h("button", { type: "button", class: "replay", onclick: () => replay(item, replayOut).catch((e) => mount(replayOut, h("p", { class: "error" }, describeError(e)))) }, "Replay decision") : null),
    replayOut,
    h("div", { class: "rulings", role: "group", "aria-label": "ruling" },
      onPanel ? (voted ? h("p", {}, "You have voted on this dispute.") : null) : h("p", { class: "hint" }, "Only panel members can rule; choose a panel account."),
      buttons),
    explanation);
}

/** The arbitrator's screen. */
export async function arbitratorView(view) {
  if (!state.wallet) {
    needWallet(view, "Arbitrator");
    return null;
  }
  const list = h("ul", { class: "cards", id: "disputes" });
  let shown = null;
  const refresh = async (force = true) => {
    const items = await queue();
    const key = items.map((i) => `${i.id}:${i.disputeId}`).join(",");
    if (!force && key === shown) return;
    shown = key;
    mount(list, items.length ? await Promise.all(items.map((item) => card(item, refresh))) : h("li", { class: "empty" }, "No disputed or escalated claims are waiting."));
  };
  mount(view, h("h1", {}, "Arbitrator"), h("p", { class: "hint" },
    `Panel arbitrator ${state.config.contracts.PanelArbitrator.address}; a ruling takes effect when the panel's quorum agrees.`),
  h("section", { class: "panel", "aria-label": "dispute queue" }, h("h2", {}, "Dispute queue"), list));
  await refresh();
  const timer = setInterval(() => {
    if (!list.contains(document.activeElement)) refresh(false).catch((e) => console.warn(describeError(e)));
  }, 4000);
  return () => clearInterval(timer);
}
