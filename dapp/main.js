// Entry point: load the configuration, show the wallet bar, and route between the landing page and the roles.
import { connectDev, connectInjected, describeError, loadConfig, networkProblem, state, switchNetwork } from "./chain.js";
import { h, mount, notice, short } from "./ui.js";
import { claimantView } from "./claimant.js";
import { insurerView } from "./insurer.js";
import { arbitratorView } from "./arbitrator.js";

const ROUTES = { claimant: claimantView, insurer: insurerView, arbitrator: arbitratorView };
const WALLET_KEY = "claims-oracle.wallet"; // this tab's wallet choice ("injected" or a dev account), kept across a reload

/** Reconnect the wallet this tab chose before a reload; a choice that no longer works is forgotten quietly. */
async function restoreWallet() {
  const saved = sessionStorage.getItem(WALLET_KEY);
  try {
    if (saved === "injected" && window.ethereum) await connectInjected();
    else if (saved && state.config.devWallet?.accounts.some((a) => a.address.toLowerCase() === saved.toLowerCase())) await connectDev(saved);
  } catch {
    sessionStorage.removeItem(WALLET_KEY);
  }
}
let current = null; // the mounted view's cleanup function

function landing() {
  return h("section", { class: "landing" },
    h("h1", {}, "Insurance claims decided by an oracle, on-chain"),
    h("p", { class: "lead" },
      "Submit a claim with photos: a committee of oracle nodes checks the damage with a published model, " +
      "the weather records and fraud signals, and records a decision whose explanation anyone can verify. " +
      "Every decision can be disputed before an arbitration panel during its dispute window."),
    h("div", { class: "roles" },
      h("a", { class: "role", href: "#/claimant" }, h("h2", {}, "Claimant"), h("p", {}, "Buy a policy, submit a claim, follow it, dispute, withdraw.")),
      h("a", { class: "role", href: "#/insurer" }, h("h2", {}, "Insurer"), h("p", {}, "Create products, fund capital, watch claims and the loss ratio.")),
      h("a", { class: "role", href: "#/arbitrator" }, h("h2", {}, "Arbitrator"), h("p", {}, "Review disputed claims, replay decisions, rule."))));
}

function walletBar() {
  const bar = document.getElementById("wallet");
  const cfg = state.config;
  const parts = [];
  if (cfg.devWallet) {
    const select = h("select", { id: "dev-account", "aria-label": "dev wallet account" },
      h("option", { value: "" }, "dev wallet: choose an account"),
      cfg.devWallet.accounts.map((a) => h("option", { value: a.address }, `${a.role} (${short(a.address, 8)})`)));
    if (state.wallet?.kind === "dev") select.value = state.wallet.address;
    select.addEventListener("change", async () => {
      if (!select.value) return;
      try {
        sessionStorage.setItem(WALLET_KEY, select.value);
        await connectDev(select.value);
      } catch (error) {
        notice(describeError(error), "error");
      }
    });
    parts.push(select);
  }
  parts.push(h("button", {
    id: "connect-wallet", type: "button",
    onclick: async () => {
      try {
        await connectInjected();
        sessionStorage.setItem(WALLET_KEY, "injected");
      } catch (error) {
        notice(error.message, "error");
      }
    },
  }, "Connect browser wallet"));
  if (state.wallet) {
    parts.push(h("span", { class: "account", id: "account" }, `${state.wallet.kind === "dev" ? "dev" : "wallet"}: ${short(state.wallet.address, 10)}`));
    const problem = networkProblem();
    if (problem) {
      parts.push(h("span", { class: "network-error", role: "alert", id: "network-error" }, problem));
      if (state.wallet.kind === "injected") {
        parts.push(h("button", { type: "button", onclick: () => switchNetwork().catch((e) => notice(describeError(e), "error")) }, "Switch network"));
      }
    }
  }
  mount(bar, parts);
}

let routing = 0; // counts route() calls: a screen that finishes loading after the user moved on is closed at once

async function route() {
  const name = location.hash.replace(/^#\/?/, "").split("/")[0];
  const view = document.getElementById("view");
  const turn = ++routing;
  if (current) current();
  current = null;
  for (const link of document.querySelectorAll("nav a")) {
    link.toggleAttribute("aria-current", link.getAttribute("href") === `#/${name}`);
  }
  const render = ROUTES[name];
  if (!render) {
    mount(view, landing());
    return;
  }
  try {
    const cleanup = await render(view);
    if (turn === routing) current = cleanup;
    else if (cleanup) cleanup(); // another screen (or the same one for another account) replaced this one meanwhile
  } catch (error) {
    if (turn === routing) mount(view, h("p", { class: "error", role: "alert" }, describeError(error)));
  }
}

async function start() {
  try {
    await loadConfig();
  } catch (error) {
    mount(document.getElementById("view"), h("p", { class: "error", role: "alert" }, error.message));
    return;
  }
  await restoreWallet();
  document.body.setAttribute("data-wallet", state.wallet ? state.wallet.address : "");
  state.listeners.add(async () => {
    walletBar();
    await route();
    document.body.setAttribute("data-wallet", state.wallet ? state.wallet.address : "");
  });
  walletBar();
  window.addEventListener("hashchange", route);
  await route();
  document.body.setAttribute("data-ready", "true");
}

start();
