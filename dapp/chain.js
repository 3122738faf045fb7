// The dApp's connection to the chain: configuration, the wallet (EIP-1193 or the dev chain's unlocked
// accounts), contract handles, and transactions reported as pending, confirmed or failed in words.
import { ethers } from "/vendor/ethers.js";
import { txStatus } from "./ui.js";

export const STATUS = ["unknown", "submitted", "decided, window open", "disputed", "resolved", "paid"];
export const DECISION = ["-", "APPROVE", "PARTIAL", "REJECT", "REFER"];
export const PERILS = ["collision", "hail", "flood", "wind", "theft", "fire"];
export const RULINGS = [
  { code: 1, name: "Uphold the oracle's decision" },
  { code: 2, name: "For the claimant" },
  { code: 3, name: "For the insurer" },
];

export const state = {
  config: null,
  reader: null, // a provider for reads, always on the configured chain
  wallet: null, // { kind: "dev" | "injected", address, signer, chainId }
  listeners: new Set(),
};

/** Load /api/config and open a read-only connection to the configured chain. */
export async function loadConfig() {
  const response = await fetch("/api/config");
  if (!response.ok) throw new Error(`the gateway did not give its configuration (HTTP ${response.status})`);
  state.config = await response.json();
  const rpc = state.config.devWallet ? new URL(state.config.devWallet.rpcUrl, location.origin).href : null;
  if (rpc) {
    state.reader = new ethers.JsonRpcProvider(rpc, state.config.chainId, { staticNetwork: true, pollingInterval: 500 });
  } else if (window.ethereum) {
    state.reader = new ethers.BrowserProvider(window.ethereum);
  }
  return state.config;
}

/** Contract handles for reads (or, given a signer, for transactions). */
export function contracts(runner = state.reader) {
  const c = state.config.contracts;
  return {
    manager: new ethers.Contract(c.ClaimsManager.address, c.ClaimsManager.abi, runner),
    panel: c.PanelArbitrator.address ? new ethers.Contract(c.PanelArbitrator.address, c.PanelArbitrator.abi, runner) : null,
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
 * `build(contracts)` returns the pending transaction promise. Returns the receipt, or null on failure.
 */
export async function send(label, build) {
  const status = txStatus(label);
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
    return receipt;
  } catch (error) {
    status.failed(describeError(error));
    return null;
  }
}

/** The latest block's timestamp: the chain's clock, which on the demo chain is not the wall clock. */
export async function chainTime() {
  // asked directly: ethers' getBlock("latest") can answer from its poller's last block for a few seconds
  const block = await state.reader.send("eth_getBlockByNumber", ["latest", false]);
  return Number(block.timestamp);
}

/** Events of one kind from the start of the chain. */
export async function events(contract, filter) {
  return contract.queryFilter(filter, 0, "latest");
}

export { ethers };
