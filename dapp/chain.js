// The dApp's connection to the chain: configuration, the wallet (EIP-1193 or the dev chain's unlocked
// accounts), contract handles, and transactions reported as pending, confirmed or failed in words.
import { ethers } from "/vendor/ethers.js";
import { blockRanges } from "./ranges.js";
import { txStatus } from "./ui.js";

// The domain's names and numbers, from the gateway's /api/config (oracle/domain.py) when loadConfig runs: the
// dApp keeps no copy of its own. Live bindings: modules that import them see the values once loaded.
export let STATUS = []; // a claim's status in words, by the contract's status code
export let DECISION = []; // a decision's name by its code (0, no decision yet, is "-")
export let PERILS = []; // peril names by bit index of a product's peril mask
export let RULINGS = []; // [{code, name}]: the rulings a panel may give
export let DECISION_WORDS = []; // a decision in words by its code ("sent to a person for review" for REFER)
export let RULE_WORDS = {}; // a fired rule's outcome (REJECT, REFER, INFO) in words
export let REVIEW_DEADLINE_S = 0; // the time a new product's adjuster gets to review a REFER
export let ARBITRATION_RESERVE_WEI = 0n; // what a new product's insurer puts in the desk for arbitration fees

function takeConstants(constants) {
  if (!constants) throw new Error("the gateway's configuration carries no domain constants; update the gateway");
  STATUS = constants.statuses;
  DECISION = ["-"];
  DECISION_WORDS = ["-"];
  for (const [name, code] of Object.entries(constants.decisions)) {
    DECISION[code] = name;
    DECISION_WORDS[code] = constants.decisionWords[name];
  }
  RULE_WORDS = constants.ruleOutcomeWords;
  PERILS = constants.perils;
  RULINGS = constants.rulings;
  REVIEW_DEADLINE_S = constants.reviewDeadlineS;
  ARBITRATION_RESERVE_WEI = BigInt(constants.arbitrationReserveWei);
}

/** What a disputed claim pays under a ruling, as the dispute desk applies it (before the cover-left cap): 2, or 0
 * (no ruling) on an escalated or referred claim, pays the claimed amount less the deductible, or the claimant's
 * counter-offer when it disputed with one (the desk's `counterOffer`, 0 for none); 3 nothing; 0 or 1 the assessed
 * payout (nothing on an escalated or referred claim, which has none). */
export function rulingPayout({ claimed, deductible, oraclePayout, escalated, counterOffer = 0n }, code) {
  const net = BigInt(claimed) > BigInt(deductible) ? BigInt(claimed) - BigInt(deductible) : 0n;
  const side = BigInt(counterOffer ?? 0n) > 0n ? BigInt(counterOffer) : net;
  if (code === 2 || (code === 0 && escalated)) return side;
  if (code === 3 || escalated) return 0n;
  return BigInt(oraclePayout ?? 0n);
}

export const state = {
  config: null,
  reader: null, // a provider for reads, always on the configured chain
  wallet: null, // { kind: "dev" | "injected", address, signer, chainId }
  listeners: new Set(),
  block: 0, // the newest block the dApp knows exists (its own receipts', the node's head): reads never go below it
};

/** Load /api/config and open a read-only connection to the configured chain. */
export async function loadConfig() {
  const response = await fetch("/api/config");
  if (!response.ok) throw new Error(`the gateway did not give its configuration (HTTP ${response.status})`);
  state.config = await response.json();
  takeConstants(state.config.constants);
  const rpc = state.config.devWallet ? new URL(state.config.devWallet.rpcUrl, location.origin).href : null;
  if (rpc) {
    state.reader = new ethers.JsonRpcProvider(rpc, state.config.chainId, { staticNetwork: true, pollingInterval: 500 });
  } else if (window.ethereum) {
    state.reader = new ethers.BrowserProvider(window.ethereum);
  }
  // products are created and governed through the manager's governor, and claims disputed through its dispute
  // desk; the manager names both
  const { ProductGovernor: governor, DisputeDesk: desk } = state.config.contracts;
  if (governor && desk && !(governor.address && desk.address) && state.reader) {
    const { manager } = contracts();
    [governor.address, desk.address] = await Promise.all([manager.governor(), manager.desk()]);
  }
  return state.config;
}

/** Contract handles for reads (or, given a signer, for transactions). */
export function contracts(runner = state.reader) {
  const c = state.config.contracts;
  return {
    manager: new ethers.Contract(c.ClaimsManager.address, c.ClaimsManager.abi, runner),
    governor: c.ProductGovernor?.address ? new ethers.Contract(c.ProductGovernor.address, c.ProductGovernor.abi, runner) : null,
    desk: c.DisputeDesk?.address ? new ethers.Contract(c.DisputeDesk.address, c.DisputeDesk.abi, runner) : null,
    panel: c.PanelArbitrator.address ? new ethers.Contract(c.PanelArbitrator.address, c.PanelArbitrator.abi, runner) : null,
    keys: c.KeyDirectory?.address ? new ethers.Contract(c.KeyDirectory.address, c.KeyDirectory.abi, runner) : null,
  };
}

function changed() {
  for (const listener of state.listeners) listener(state.wallet);
}

/** Use one of the dev chain's unlocked accounts (local demo only). */
export async function connectDev(address) {
  const signer = await state.reader.getSigner(address);
  state.wallet = { kind: "dev", address: ethers.getAddress(address), signer, chainId: state.config.chainId };
  changed();
  return state.wallet;
}

/** Connect the browser wallet (window.ethereum); the network is checked before every transaction. */
export async function connectInjected() {
  if (!window.ethereum) {
    throw new Error("No browser wallet found. Install MetaMask (or another EIP-1193 wallet), or use the demo's dev wallet.");
  }
  const provider = new ethers.BrowserProvider(window.ethereum, "any");
  try {
    await provider.send("eth_requestAccounts", []);
  } catch (error) {
    throw new Error(describeError(error));
  }
  const signer = await provider.getSigner();
  const network = await provider.getNetwork();
  if (!state.config.devWallet) state.reader = provider; // no relay: read through the wallet's own node
  state.wallet = { kind: "injected", address: await signer.getAddress(), signer, chainId: Number(network.chainId), provider };
  if (window.ethereum.on && !state.wallet.hooked) {
    window.ethereum.on("chainChanged", () => connectInjected().catch(() => {}));
    window.ethereum.on("accountsChanged", () => connectInjected().catch(() => {}));
    state.wallet.hooked = true;
  }
  changed();
  return state.wallet;
}

const permits = new Map(); // address -> { header, expires }: one signed upload permit per account per session

/**
 * The upload permit of the connected account: the gateway's message (naming this gateway, the address and an
 * expiry) signed once per session with personal_sign, in the dev wallet or an EIP-1193 wallet; the header value
 * the gateway's uploads (/content, /api/evidence) require.
 */
export async function uploadPermit() {
  if (!state.wallet) throw new Error("Connect a wallet first.");
  const address = state.wallet.address;
  const known = permits.get(address);
  if (known && known.expires > Date.now() / 1000 + 60) return { [known.name]: known.header };
  const response = await fetch(`/permits/message?address=${address}`);
  const body = await response.json();
  if (!response.ok) throw new Error(`the gateway gave no upload permit to sign: ${body.error?.message || response.status}`);
  const signature = await state.wallet.signer.signMessage(body.message);
  const json = JSON.stringify({ origin: body.origin, address: body.address, expires: body.expires, signature });
  const header = btoa(json).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  permits.set(address, { header, expires: body.expires, name: body.header });
  return { [body.header]: header };
}

/** A sentence for the user when the wallet is on another chain, else null. */
export function networkProblem() {
  if (!state.wallet) return "Connect a wallet first.";
  if (state.wallet.chainId !== state.config.chainId) {
    return `Wrong network: your wallet is on chain ${state.wallet.chainId}, but the contracts are on chain ` +
      `${state.config.chainId} (${state.config.chainName}). Switch networks in your wallet and try again.`;
  }
  return null;
}

/** Ask the wallet to switch to the configured chain. */
export async function switchNetwork() {
  await window.ethereum.request({
    method: "wallet_switchEthereumChain",
    params: [{ chainId: "0x" + state.config.chainId.toString(16) }],
  });
}

const REVERT_WORDS = {
  "products: not the insurer": "only the product's insurer can do this",
  "products: bad dispute window": "the dispute window must be at least 24 hours",
  "products: bad oracle timeout": "the oracle timeout must be at least an hour",
  "products: dispute bond too large": "the dispute bond may be at most 1 ETH",
  "claims: not the policy holder": "only the policy holder can do this",
  "claims: not in dispute window": "the claim is not in its dispute window",
  "claims: window closed": "the dispute window has closed",
  "claims: window still open": "the dispute window is still open",
  "claims: bond not paid": "the dispute bond and arbitration fee were not both paid",
  "claims: incident in the future": "the incident time is later than the chain's clock",
  "claims: incident before start": "the incident happened before the policy started",
  "claims: peril not covered": "the policy does not cover this peril",
  "claims: policy expired": "the policy has expired",
  "claims: no payout to withdraw": "there is no payout waiting for this claim",
  "policies: product is paused": "the product is paused by its insurer",
  "policies: not enough capital": "the product does not have enough free capital to cover a new policy",
  "capital: exceeds free capital": "that is more than the product's free (unlocked) capital",
  "asset: wrong ETH amount sent": "the ETH sent does not match the amount",
  "panel: caller is not a panelist": "your account is not on the arbitration panel",
  "panel: already voted": "you have already voted on this dispute",
  "panel: dispute already ruled": "the panel has already ruled on this dispute",
};

/** Turn any wallet, RPC or contract error into a sentence that says what went wrong. */
export function describeError(error) {
  const code = error?.code ?? error?.info?.error?.code ?? error?.error?.code;
  if (code === "ACTION_REJECTED" || code === 4001) {
    return "You rejected the request in your wallet; nothing was sent.";
  }
  const reason = error?.reason || error?.revert?.args?.[0] || error?.info?.error?.data?.message;
  if (reason) {
    const words = REVERT_WORDS[reason];
    return `The contract refused: ${words ? `${words} (${reason})` : reason}.`;
  }
  if (code === "CALL_EXCEPTION") return "The contract refused the transaction without giving a reason.";
  if (code === "INSUFFICIENT_FUNDS") return "Your account does not have enough ETH for this transaction and its gas.";
  if (code === "NETWORK_ERROR" || code === "SERVER_ERROR" || error instanceof TypeError) {
    return `The chain did not answer (${error.shortMessage || error.message}). Is the node running?`;
  }
  const message = error?.shortMessage || error?.info?.error?.message || error?.message || String(error);
  return message.length > 300 ? message.slice(0, 300) + "..." : message;
}

/**
 * Send one transaction: check the network, show it pending, then confirmed or failed with the reason.
 * `build(contracts)` returns the pending transaction promise; `anchor` (the button pressed) gets the status beside it
 * too. Returns the receipt, or null on failure.
 */
export async function send(label, build, anchor = null) {
  const status = txStatus(label, anchor);
  const problem = networkProblem();
  if (problem) {
    status.failed(problem);
    return null;
  }
  try {
    status.pending("waiting for your signature ...");
    const tx = await build(contracts(state.wallet.signer));
    status.pending(`sent ${tx.hash.slice(0, 10)}..., waiting to be mined ...`);
    const receipt = await tx.wait();
    status.confirmed(`confirmed in block ${receipt.blockNumber}`);
    sawBlock(receipt.blockNumber);
    announce(); // every open screen reads again, at this block or a later one
    return receipt;
  } catch (error) {
    status.failed(describeError(error));
    return null;
  }
}

// Reads and blocks. Every read names the block it reads at, a number at least as new as the newest block the dApp
// has seen (state.block), its own confirmed transactions' blocks included. Why not "latest": ethers' AbstractProvider
// shares identical requests made within `cacheTimeout` (250 ms) through #perform, keyed by the request's JSON. A
// log query "from 0 to latest" sent just after a transaction confirmed is the same request as one sent just before
// it, so it is answered from before the transaction. With a block number in the request, a shared answer is one for
// that very block, which cannot change. The number itself is asked with provider.send("eth_blockNumber"), which no
// cache answers (getBlockNumber() goes through the same 250 ms cache).

/** Note a block the dApp knows exists; reads never go below the newest one noted. */
export function sawBlock(number) {
  const n = Number(number);
  if (Number.isSafeInteger(n) && n > state.block) state.block = n;
}

/** The block to read at: the node's current block, asked now, and never older than a block the dApp has seen. */
export async function readBlock() {
  sawBlock(await state.reader.send("eth_blockNumber", []));
  return state.block;
}

/**
 * The chain as of one block (see readBlock): contract handles whose every call carries that blockTag, and log
 * queries up to that block. A screen renders from one snapshot, so it shows one block's state, all of it at least
 * as new as the last transaction the user saw confirmed.
 */
export async function snapshot() {
  const block = await readBlock();
  const reader = state.reader;
  const { manager, governor, desk, panel } = contracts({ provider: reader, call: (tx) => reader.call({ ...tx, blockTag: block }) });
  let time = null;
  return {
    block,
    manager,
    governor,
    desk,
    panel,
    /** Events of one kind from the deployment up to this block. */
    events: (contract, filter) => history(contract, filter, block),
    /** This block's timestamp, the chain's clock (on the demo chain not the wall clock). */
    time: () => (time ??= chainTime(block)),
  };
}

/** A block's timestamp (by default the newest block's), asked from the node directly. */
export async function chainTime(block) {
  const number = block ?? (await readBlock());
  const header = await state.reader.send("eth_getBlockByNumber", [ethers.toQuantity(number), false]);
  return Number(header.timestamp);
}

/** Events of one kind from the deployment up to the current block (see readBlock). */
export async function events(contract, filter) {
  return history(contract, filter, await readBlock());
}

/**
 * Events of one kind from the deployment block (the gateway's config.logs.fromBlock) up to block `last`, asked
 * config.logs.chunkBlocks blocks per query, in chain order: public RPC providers refuse long log ranges.
 */
export async function history(contract, filter, last) {
  const { fromBlock, chunkBlocks } = state.config.logs;
  const found = [];
  for (const [from, to] of blockRanges(fromBlock, last, chunkBlocks)) {
    found.push(...(await contract.queryFilter(filter, from, to)));
  }
  return found;
}

// New blocks: the node is asked for its block number every BLOCK_POLL_MS while a screen follows the chain; a
// transaction of ours that confirms announces its block at once.
const BLOCK_POLL_MS = 1000;
const watchers = new Set();
let announced = 0;
let poller = null;

function announce() {
  if (state.block <= announced) return;
  announced = state.block;
  for (const watcher of [...watchers]) watcher(announced);
}

function startPolling() {
  if (poller) return;
  const tick = async () => {
    try {
      await readBlock();
      announce();
    } catch {
      // the node did not answer this time; the screens say so when their own reads fail
    }
    poller = watchers.size ? setTimeout(tick, BLOCK_POLL_MS) : null;
  };
  poller = setTimeout(tick, BLOCK_POLL_MS);
}

/** Call `watcher(blockNumber)` for every new block; returns the function that stops it. */
export function onBlock(watcher) {
  watchers.add(watcher);
  startPolling();
  return () => watchers.delete(watcher);
}

/**
 * Keep a screen in step with the chain: `render(snapshot)` now and after every new block, one render at a time; blocks
 * that arrive during a render are folded into one more render at the newest block. `refresh()` asks for a render and
 * resolves when one that began after the call has finished (it rejects with that render's error); `stop()` ends the
 * updates when the screen closes. Errors of the renders new blocks start go to `onError`. After each render the body's
 * data-block attribute names the block the screen now shows.
 */
export function follow(render, onError = (error) => console.warn(describeError(error))) {
  let stopped = false;
  let queued = null; // the render asked for and not yet begun
  let last = Promise.resolve(); // settles when the render before it has finished
  const refresh = () => {
    if (stopped) return Promise.resolve();
    if (!queued) {
      const run = last.then(async () => {
        queued = null;
        if (stopped) return;
        const snap = await snapshot();
        if (stopped) return;
        await render(snap);
        if (!stopped) document.body.setAttribute("data-block", String(snap.block)); // the block the screen shows
      });
      queued = run;
      last = run.catch(() => {});
    }
    return queued;
  };
  const unwatch = onBlock(() => refresh().catch((error) => { if (!stopped) onError(error); }));
  return {
    refresh,
    stop: () => {
      stopped = true;
      unwatch();
    },
  };
}

/** Draw a screen once from a fresh snapshot and keep it following new blocks; resolves to its stop function. */
export async function followScreen(render) {
  const live = follow(render);
  try {
    await live.refresh();
  } catch (error) {
    live.stop();
    throw error;
  }
  return live.stop;
}

export { ethers };
