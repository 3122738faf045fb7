"""`claims-oracle bench`: end-to-end latency and throughput of the oracle, measured in one run on this machine.

Everything is real: anvil with the deployed contracts, oracle nodes run as separate `claims-oracle node`
processes (as an operator runs them), the shipped model, and real photos from ../shared/data. Three phases:

1. latency: a 2-of-3 committee decides `--claims` claims filed one at a time (each after the previous one's
   decision is mined); a claim's latency runs from the block holding its `submitClaim` to the block holding its
   `ClaimDecided`, each block timed by when its header reaches us over an `eth_subscribe("newHeads")` websocket
   (anvil's block timestamps have whole-second resolution, too coarse for this);
2. throughput: one node deciding alone (a 1-of-1 product) works through `--throughput-claims` claims that were
   all filed before it started; claims per second is the steady rate between the decision that ends the warm-up
   (the first tenth of the claims) and the last decision;
3. the bare model: `DamageModel.predict` on the throughput phase's photos, in the batches the node uses when its
   queue is full, heat maps included (the node asks for them), in this process while nothing else runs.

The table is printed and the numbers are written to bench/e2e.json, with the gas per step from bench/gas.json
(`make bench-gas`) when that file exists. This is a measurement, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from eth_utils import keccak
from web3.logs import DISCARD
from web3.types import RPCEndpoint

from oracle.assess import DEFAULT_TERMS_PATH
from oracle.cas.store import ContentStore
from oracle.chain.contracts import ClaimsManagerClient
from oracle.chain.deploy import DAY, buy_policy, create_product, deploy_system, transact
from oracle.claim.evidence import store_evidence, store_terms
from oracle.dev.demo import CLAIMS_OPEN
from oracle.dev.devchain import DevChain, dev_chain
from oracle.dev.postgres import new_database, throwaway_postgres
from oracle.dev.stack import DEMO_CAPITAL, GENESIS, Roles, content_gateway, person_reader, product_defaults
from oracle.domain import REPO_ROOT, Decision, public_area
from oracle.settings import load_settings
from oracle.vision import DamageModel
from oracle.vision.data import list_samples

DEFAULT_OUTPUT = REPO_ROOT / "bench" / "e2e.json"
DEFAULT_GAS = REPO_ROOT / "bench" / "gas.json"
PHOTOS_PER_CLAIM = 3
BENCH_PLACE_E6 = (41_587_300, -93_624_900)  # each claim's precise place, sealed; the chain gets its 0.1-degree area
LABELS = ("minor", "moderate", "severe", "whole")  # claim i shows three photos of LABELS[i % 4]
HAIL_EVERY = 5  # every fifth claim is a hail claim, so the weather lookup is on the path as well
_ASSESSED = re.compile(r"decided (\d+) claim\(s\) in [\d.]+ s after the model")
WORKER_ARMS = (1, 2)
"""Worker processes of one member in the workers phase's arms."""
TARGETS = {"latency_p50_s": 1.0, "latency_p95_s": 2.0, "pipeline_vs_model_ratio": 0.8}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `claims-oracle bench`."""
    parser.add_argument(
        "--claims", type=int, default=100, help="claims the 2-of-3 committee decides in the latency phase (default 100)"
    )
    parser.add_argument(
        "--throughput-claims",
        type=int,
        default=200,
        help="claims one node decides alone in the throughput phase (default 200)",
    )
    parser.add_argument(
        "--workers-claims",
        type=int,
        default=100,
        help="claims one member decides with 1, then 2 worker processes on one PostgreSQL database (default 100; "
        "0 skips the phase)",
    )
    parser.add_argument(
        "--output", type=Path, default=DEFAULT_OUTPUT, help="where to write the JSON results (default bench/e2e.json)"
    )
    parser.add_argument(
        "--gas-json",
        type=Path,
        default=DEFAULT_GAS,
        help="gas per step to copy into the results (default bench/gas.json, from make bench-gas)",
    )
    parser.add_argument(
        "--photos",
        type=Path,
        help="a folder laid out as <class>/<image> (whole, minor, moderate, "
        "severe); default: ../shared/data, val photos first",
    )
    parser.add_argument(
        "--poll-seconds",
        type=float,
        default=0.05,
        help="the nodes' poll interval (default 0.05: an idle poll is one eth_blockNumber, and "
        "anvil mines at once, so a block waits for the next poll)",
    )
    parser.add_argument(
        "--node-model-threads",
        type=int,
        default=1,
        help="ONNX Runtime threads per node process (default 1: the latency phase runs three nodes "
        "on this machine); the bare model is timed with this and with the library default",
    )
    parser.add_argument(
        "--timeout", type=float, default=120, help="seconds to wait for any one decision before giving up (default 120)"
    )
    parser.add_argument(
        "--profile-dir", type=Path, help="run the node processes under cProfile and write their .prof files here"
    )
    parser.add_argument(
        "--keep-state",
        action="store_true",
        help="keep the temporary state directory (node logs and databases, content store)",
    )


# ------------------------------------------------------------------ photos and claims


@dataclass
class PlannedClaim:
    """One bench claim: its photos, policy and evidence, and what happened to it."""

    label: str
    photos: list[Path]
    peril: int = 0
    policy_id: int = 0
    evidence_root: bytes = b""
    evidence_uri: str = ""
    claim_id: int = 0
    claim_block: int = 0
    decided_block: int = 0
    decision: int = 0


def photo_pool(settings, photos_dir: Path | None) -> tuple[dict[str, list[Path]], dict[Path, str]]:
    """Real photos by class (val photos before train photos), and the split each came from."""
    pool: dict[str, list[Path]] = {label: [] for label in LABELS}
    split_of: dict[Path, str] = {}
    if photos_dir is not None:
        for label in LABELS:
            for path in sorted(p for p in (photos_dir / label).glob("*") if p.is_file()):
                pool[label].append(path)
                split_of[path] = "given"
        return pool, split_of

    samples = list_samples(settings.data_dir)
    for split in ("val", "train"):
        for sample in samples:
            if sample.split == split and sample.label in pool:
                path = settings.data_dir / sample.path
                pool[sample.label].append(path)
                split_of[path] = split
    return pool, split_of


def plan_claims(pool: dict[str, list[Path]], count: int) -> list[PlannedClaim]:
    """`count` claims of PHOTOS_PER_CLAIM distinct photos each (no photo twice, so no reused-photo referral)."""
    taken = dict.fromkeys(LABELS, 0)
    claims = []
    for i in range(count):
        label = LABELS[i % len(LABELS)]
        photos = pool[label][taken[label] : taken[label] + PHOTOS_PER_CLAIM]
        if len(photos) < PHOTOS_PER_CLAIM:
            raise SystemExit(
                f"bench: not enough {label} photos for {count} claims of {PHOTOS_PER_CLAIM} photos "
                f"({len(pool[label])} found)"
            )
        taken[label] += PHOTOS_PER_CLAIM
        claims.append(PlannedClaim(label, photos, peril=1 if i % HAIL_EVERY == HAIL_EVERY - 1 else 0))
    return claims


# ------------------------------------------------------------------ watching blocks


class ChainObserver:
    """Times every new block by when its header arrives over an eth_subscribe websocket, and collects
    `ClaimDecided` logs, from a thread of its own."""

    def __init__(self, ws_url: str, decided_topic: bytes):
        self.ws_url, self.decided_topic = ws_url, "0x" + decided_topic.hex()
        self.block_seen: dict[int, float] = {}
        self.decided: dict[tuple[str, int], tuple[int, int]] = {}  # (contract, claim id) -> (block, decision)
        self.changed = threading.Condition()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="bench-observer", daemon=True)

    def start(self) -> ChainObserver:
        """Connect and subscribe; returns once both subscriptions are confirmed."""
        self._thread.start()
        if not self._ready.wait(20) or self._error is not None:
            raise RuntimeError(f"bench: cannot subscribe to {self.ws_url}: {self._error}")
        return self

    def stop(self) -> None:
        """Close the websocket and end the thread."""
        self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._stopping = asyncio.Event()
        try:
            self._loop.run_until_complete(self._listen())
        except BaseException as exc:  # noqa: BLE001 - reported to the waiting thread
            self._error = exc
            self._ready.set()
            with self.changed:
                self.changed.notify_all()

    async def _listen(self) -> None:

        async with aiohttp.ClientSession() as session, session.ws_connect(self.ws_url, max_msg_size=0) as ws:
            await ws.send_json({"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"]})
            await ws.send_json(
                {
                    "jsonrpc": "2.0",
                    "id": 2,
                    "method": "eth_subscribe",
                    "params": ["logs", {"topics": [self.decided_topic]}],
                }
            )
            confirmed = 0
            reader = asyncio.ensure_future(ws.receive())
            stopping = asyncio.ensure_future(self._stopping.wait())
            while True:
                done, _ = await asyncio.wait({reader, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if stopping in done:
                    reader.cancel()
                    return
                message = reader.result()
                seen = time.perf_counter()
                if message.type != aiohttp.WSMsgType.TEXT:
                    raise RuntimeError(f"websocket closed ({message.type.name})")
                reader = asyncio.ensure_future(ws.receive())
                body = json.loads(message.data)
                if "id" in body:
                    if "error" in body:
                        raise RuntimeError(body["error"])
                    confirmed += 1
                    if confirmed == 2:
                        self._ready.set()
                    continue
                result = body.get("params", {}).get("result", {})
                with self.changed:
                    if "topics" in result:
                        claim_id = int(result["topics"][1], 16)
                        decision = int(result["data"][2:66], 16)
                        self.decided[(result["address"].lower(), claim_id)] = (int(result["blockNumber"], 16), decision)
                    elif "number" in result:
                        self.block_seen.setdefault(int(result["number"], 16), seen)
                    self.changed.notify_all()

    def wait_decided(self, contract: str, claim_id: int, timeout: float) -> tuple[int, int, float]:
        """Block until the claim's decision and its block's header are in; returns (block, decision, seen)."""
        key, deadline = (contract.lower(), claim_id), time.monotonic() + timeout
        with self.changed:
            while True:
                if self._error is not None:
                    raise RuntimeError(f"bench: lost the chain subscription: {self._error}")
                if key in self.decided and self.decided[key][0] in self.block_seen:
                    block, decision = self.decided[key]
                    return block, decision, self.block_seen[block]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"bench: claim {claim_id} not decided within {timeout:.0f} s")
                self.changed.wait(min(left, 1.0))

    def wait_block(self, number: int, timeout: float = 10) -> float:
        """When block `number`'s header arrived."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while number not in self.block_seen:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"bench: block {number} never announced")
                self.changed.wait(min(left, 1.0))
            return self.block_seen[number]


# ------------------------------------------------------------------ node processes


def node_command(
    index: int, chain_url: str, contract: str, key_directory: str, db_url: str, start_block: int
) -> list[str]:
    """The `claims-oracle node` command line of committee member `index` (anvil account 3 + index) on the database
    at `db_url`, opening claim evidence sealed for the key it publishes in `key_directory`."""
    return [
        "-m",
        "oracle.cli",
        "node",
        "--dev-account",
        str(3 + index),
        "--rpc-url",
        chain_url,
        "--contract",
        contract,
        "--key-directory",
        key_directory,
        "--db-url",
        db_url,
        "--confirmations",
        "0",
        "--start-block",
        str(start_block),
    ]


def node_env(cas_dir: Path, state_dir: Path, poll_seconds: float | None, model_threads: int) -> dict[str, str]:
    """The environment of a node process: the shared content store, its own state folder, poll and threads."""
    env = {
        **os.environ,
        "CLAIMS_ORACLE_CONTENT_STORE_URL": f"file://{cas_dir}",
        "CLAIMS_ORACLE_STATE_DIR": str(state_dir),
        "CLAIMS_ORACLE_MODEL_THREADS": str(model_threads),
        "PYTHONUNBUFFERED": "1",
    }
    if poll_seconds is not None:
        env["CLAIMS_ORACLE_POLL_INTERVAL_S"] = str(poll_seconds)
    return env


def process_tree_cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of process `pid` and its living descendants (a node's IPFS peer), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    parent_of, used = {}, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended while we looked
        child = int(stat.parent.name)
        parent_of[child] = int(fields[1])
        used[child] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    tree, grew = {pid}, True
    while grew:
        more = {child for child, parent in parent_of.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    return sum(used.get(member, 0.0) for member in tree)


def machine_busy_seconds() -> float:
    """CPU seconds this machine's CPUs have spent busy (not idle, not waiting for I/O) since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def stop_process(process: subprocess.Popen) -> None:
    """Stop a child process: SIGTERM, then SIGKILL if it has not ended after 30 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class NodeProcess:
    """One `claims-oracle node` process for committee member `index` (anvil account 3 + index)."""

    def __init__(
        self,
        index: int,
        tag: str,
        chain_url: str,
        contract: str,
        key_directory: str,
        state_dir: Path,
        start_block: int,
        poll_seconds: float | None,
        profile_dir: Path | None,
        model_threads: int = 0,
        gateway: tuple[str, str] | None = None,
        db_url: str | None = None,
    ):
        self.index, self.log_path = index, state_dir / f"{tag}-node{index}.log"
        node_dir = state_dir / f"{tag}-node{index}"  # its database, IPFS peer and keccak index; nothing shared
        db_url = db_url or f"sqlite:///{node_dir / 'node.db'}"  # several workers of one member share a PostgreSQL
        command = [sys.executable]
        if profile_dir is not None:
            profile_dir.mkdir(parents=True, exist_ok=True)
            command += ["-m", "cProfile", "-o", str(profile_dir / f"{tag}-node{index}.prof")]
        command += node_command(index, chain_url, contract, key_directory, db_url, start_block)
        env = node_env(state_dir / "cas", node_dir, poll_seconds, model_threads)
        if gateway is not None:  # its own IPFS peer, dialling the gateway's, which also answers keccak lookups
            gateway_url, gateway_peer = gateway
            env["CLAIMS_ORACLE_IPFS_PEER"] = "true"
            env["CLAIMS_ORACLE_IPFS_PEERS"] = json.dumps([gateway_peer])
            env["CLAIMS_ORACLE_IPFS_GATEWAY_URL"] = gateway_url
        self.log = self.log_path.open("w")
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=REPO_ROOT)

    def wait_ready(self, timeout: float = 120) -> float:
        """Wait for the node's 'ready' line (model loaded and run once, weather tables parsed); returns when."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if " ready" in self.log_path.read_text(errors="replace"):
                return time.perf_counter()
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(
            f"bench: node {self.index} did not start; its log ({self.log_path}) ends:\n"
            + self.log_path.read_text(errors="replace")[-3000:]
        )

    def check_alive(self) -> None:
        """Raise if the node process died."""
        if self.process.poll() is not None:
            raise RuntimeError(
                f"bench: node {self.index} exited with {self.process.returncode}; its log ends:\n"
                + self.log_path.read_text(errors="replace")[-3000:]
            )

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 30 s."""
        stop_process(self.process)
        self.log.close()

    def cpu_seconds(self) -> float:
        """CPU seconds the node process and its children have used so far."""
        return process_tree_cpu_seconds(self.process.pid)

    def claims_assessed(self) -> int:
        """How many claims the node assessed, from its 'decided N claim(s) ... after the model' log lines."""
        return sum(int(n) for n in _ASSESSED.findall(self.log_path.read_text(errors="replace")))

    def count(self, text: str) -> int:
        """How many of the node's log lines contain `text`."""
        return sum(text in line for line in self.log_path.read_text(errors="replace").splitlines())

    def errors(self) -> list[str]:
        """The node's logged errors (failed attempts and the like)."""
        return [
            line
            for line in self.log_path.read_text(errors="replace").splitlines()
            if " ERROR " in line or "Traceback" in line
        ]


# ------------------------------------------------------------------ the run


@dataclass
class BenchWorld:
    """The chain and what the phases share."""

    chain: DevChain
    cas: ContentStore
    roles: Roles
    terms_hash: bytes
    model_hash: bytes
    state_dir: Path
    args: argparse.Namespace
    gateway_url: str | None = None
    """The claims gateway the node processes ask and announce to, with its IPFS peer's multiaddr (bench); without
    it (chaos) the nodes share the store's directory."""
    gateway_peer: str | None = None
    observer: ChainObserver | None = None
    notes: list[str] = field(default_factory=list)
    key_directories: dict[str, str] = field(default_factory=dict)  # by manager address: where its members publish

    @property
    def started_observer(self) -> ChainObserver:
        """The chain observer, which `_run` starts before the phases."""
        if self.observer is None:
            raise RuntimeError("bench: the chain observer is not started")
        return self.observer


def _say(text: str) -> None:
    print(f"bench: {text}", file=sys.stderr, flush=True)


def _prepare_phase(world: BenchWorld, claims: list[PlannedClaim], committee: list[str], threshold: int, tag: str):
    """Deploy a manager with one product for this phase, buy a policy per claim and store each claim's evidence."""

    w3 = world.chain.w3
    system = deploy_system(w3, world.roles.deployer, world.roles.panel)
    start_block = w3.eth.block_number
    config = {
        **product_defaults(world.roles, system.arbitrator.address, world.model_hash, world.terms_hash),
        "committee": committee,
        "threshold": threshold,
    }
    capital = max(DEMO_CAPITAL, len(claims) * config["coverageLimit"])  # each policy locks its coverage
    product_id = create_product(system.manager, world.roles.insurer, config, capital)
    world.key_directories[system.manager.address] = system.keys.address
    # sealed as the dApp seals: for each member's key (the one its node derives and publishes when it starts)
    readers = [
        (member, person_reader(w3, system.keys.address, world.chain.accounts.index(member)).public_key)
        for member in committee
    ]
    for i, claim in enumerate(claims):
        claim.policy_id = buy_policy(
            system.manager, world.roles.claimant, product_id, keccak(f"BENCH-VIN-{tag}-{i}".encode())
        )
        photos = [(p.name, p.read_bytes()) for p in claim.photos]
        evidence = store_evidence(world.cas, photos, sealed_for=readers, place_e6=BENCH_PLACE_E6)
        claim.evidence_root, claim.evidence_uri = evidence.root, evidence.uri
    return system.manager, start_block


def _submit(manager: ClaimsManagerClient, holder: str, claim: PlannedClaim) -> None:
    """File one claim and note its id and block."""

    w3 = manager.w3
    incident = CLAIMS_OPEN - 5 * DAY if claim.peril == 1 else w3.eth.get_block("latest")["timestamp"] - 3600
    receipt = transact(
        w3,
        manager.contract.functions.submitClaim(
            claim.policy_id,
            claim.evidence_root,
            claim.evidence_uri,
            incident,
            claim.peril,
            *public_area(BENCH_PLACE_E6),
            2 * 10**18,
        ),
        holder,
    )
    claim.claim_id = manager.contract.events.ClaimSubmitted().process_receipt(receipt, errors=DISCARD)[0].args.claimId
    claim.claim_block = receipt["blockNumber"]


def _percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation between order statistics."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _node_process(
    world: BenchWorld, manager, start_block: int, index: int, tag: str, db_url: str | None = None
) -> NodeProcess:
    """Start member `index`'s node process for `manager`, with the run's settings and the gateway's peer."""
    return NodeProcess(
        index,
        tag,
        world.chain.url,
        manager.address,
        world.key_directories[manager.address],
        world.state_dir,
        start_block,
        world.args.poll_seconds,
        world.args.profile_dir,
        world.args.node_model_threads,
        (world.gateway_url, world.gateway_peer) if world.gateway_url and world.gateway_peer else None,
        db_url,
    )


def _start_nodes(world: BenchWorld, tag: str, manager, start_block: int, members: int) -> list[NodeProcess]:
    nodes = [_node_process(world, manager, start_block, i, tag) for i in range(members)]
    for node in nodes:
        node.wait_ready()
    return nodes


def _wait_decided(world: BenchWorld, manager, claim: PlannedClaim, nodes: list[NodeProcess]) -> float:
    """Wait for a claim's decision, note it on the claim and return when its block arrived; a timeout first
    checks that no node died."""
    try:
        claim.decided_block, claim.decision, decided = world.started_observer.wait_decided(
            manager.address, claim.claim_id, world.args.timeout
        )
    except TimeoutError:
        for node in nodes:
            node.check_alive()
        raise
    return decided


def _stop_nodes(world: BenchWorld, nodes: list[NodeProcess]) -> dict:
    """Stop the nodes, keep their logged errors as notes, and count what their logs say about the votes."""
    for node in nodes:
        node.stop()
        world.notes.extend(f"node {node.index}: {line}" for line in node.errors()[:5])
    return {
        "votes_mined": sum(node.count("vote mined in block") for node in nodes),
        "votes_not_sent_claim_decided": sum(node.count("nothing to send") for node in nodes),
        "votes_reverted_claim_decided": sum(node.count("reverted because the claim moved on") for node in nodes),
    }


def latency_phase(world: BenchWorld, manager, start_block: int, claims: list[PlannedClaim]) -> dict:
    """File claims one at a time before a 2-of-3 committee and time each from its block to its decision's."""
    _say(f"latency: starting 3 node processes for {len(claims)} claims ...")
    nodes = _start_nodes(world, "latency", manager, start_block, 3)
    latencies = []
    try:
        for n, claim in enumerate(claims, 1):
            _submit(manager, world.roles.claimant, claim)
            filed = world.started_observer.wait_block(claim.claim_block)
            latencies.append(_wait_decided(world, manager, claim, nodes) - filed)
            if n % 10 == 0 or n == len(claims):
                _say(
                    f"latency: {n}/{len(claims)} decided, last {latencies[-1]:.3f} s, "
                    f"median so far {_percentile(latencies, 50):.3f} s"
                )
    finally:
        votes = _stop_nodes(world, nodes)
    return {
        "latency_votes": votes,
        "latency_p50_s": round(_percentile(latencies, 50), 4),
        "latency_p95_s": round(_percentile(latencies, 95), 4),
        "latency_mean_s": round(sum(latencies) / len(latencies), 4),
        "latency_max_s": round(max(latencies), 4),
        "latency_claims": len(latencies),
        "latency_decisions": dict(Counter(Decision(c.decision).name for c in claims)),
        "latency_samples_s": [round(x, 4) for x in latencies],
    }


def throughput_phase(world: BenchWorld, manager, start_block: int, claims: list[PlannedClaim]) -> dict:
    """File every claim first, then start one node of a 1-of-1 product and time its decisions."""
    _say(f"throughput: filing {len(claims)} claims ...")
    for claim in claims:
        _submit(manager, world.roles.claimant, claim)
    _say("throughput: starting one node process ...")
    [node] = _start_nodes(world, "throughput", manager, start_block, 1)
    ready = time.perf_counter()
    times = []
    try:
        for n, claim in enumerate(claims, 1):
            times.append(_wait_decided(world, manager, claim, [node]))
            if n % 50 == 0:
                _say(f"throughput: {n}/{len(claims)} decided")
    finally:
        votes = _stop_nodes(world, [node])
    times.sort()
    warmup = max(1, len(times) // 10) if len(times) > 1 else 0
    span = times[-1] - times[warmup - 1] if warmup else 0.0
    steady = (len(times) - warmup) / span if span > 0 else float("nan")
    return {
        "claims_per_second": round(steady, 3),
        "claims_per_second_from_start": round(len(times) / (times[-1] - ready), 3),
        "throughput_claims": len(times),
        "throughput_warmup_claims": warmup,
        "throughput_decisions": dict(Counter(Decision(c.decision).name for c in claims)),
        "throughput_votes": votes,
    }


def workers_phase(world: BenchWorld, arms: dict[int, tuple], postgres_server: str) -> dict:
    """For each arm (1 and 2 workers of one member on one PostgreSQL database, a 1-of-1 product), file every claim
    first, then start the workers and time their decisions and the CPU they and the machine used."""
    results = {}
    for workers, (manager, start_block, claims) in arms.items():
        _say(f"workers: filing {len(claims)} claims for {workers} worker(s) ...")
        for claim in claims:
            _submit(manager, world.roles.claimant, claim)
        with new_database(postgres_server) as db_url:
            nodes = [
                _node_process(world, manager, start_block, 0, f"workers{workers}-{k}", db_url) for k in range(workers)
            ]
            times = []
            try:
                for node in nodes:
                    node.wait_ready()
                ready, node_cpu, machine = (
                    time.perf_counter(),
                    sum(n.cpu_seconds() for n in nodes),
                    machine_busy_seconds(),
                )
                times = [_wait_decided(world, manager, claim, nodes) for claim in claims]
                node_cpu = sum(n.cpu_seconds() for n in nodes) - node_cpu
                machine = machine_busy_seconds() - machine
            finally:
                votes = _stop_nodes(world, nodes)
        wall = max(times) - ready
        results[str(workers)] = {
            "claims": len(times),
            "claims_per_second": round(len(times) / wall, 3),
            "node_cpu_seconds": round(node_cpu, 2),
            "claims_per_node_cpu_second": round(len(times) / node_cpu, 3),
            "machine_cpu_seconds": round(machine, 2),
            "claims_per_machine_cpu_second": round(len(times) / machine, 3),
            "votes_mined": votes["votes_mined"],
            "assessed_by_worker": [node.claims_assessed() for node in nodes],
        }
    return {"workers": results}


def model_phase(settings, claims: list[PlannedClaim], batch_claims: int, node_threads: int) -> dict:
    """DamageModel.predict alone on the throughput phase's photos, in the node's batches: with the node's thread
    setting and with the library default, heat maps on (the node asks for them) and off (for reference)."""

    photos = [p.read_bytes() for claim in claims for p in claim.photos]
    batch = PHOTOS_PER_CLAIM * batch_claims
    configs = {"node": node_threads or None, "default": None} if node_threads else {"default": None}
    result: dict = {"model_batch_photos": batch, "model_images": len(photos), "model_configs": {}}
    for name, threads in configs.items():
        model = DamageModel.load(settings.model_path, threads=threads)
        model.predict(photos[:batch])  # warm-up: first-run allocations are not the model's steady cost
        timed: dict[str, float | None] = {"threads": threads or os.cpu_count()}
        for key, heatmaps in (("images_per_second", True), ("images_per_second_no_heatmaps", False)):
            started = time.perf_counter()
            for start in range(0, len(photos), batch):
                model.predict(photos[start : start + batch], batch_size=batch, heatmaps=heatmaps)
            timed[key] = round(len(photos) / (time.perf_counter() - started), 2)
        result["model_configs"][name] = timed
    best = max(result["model_configs"].values(), key=lambda timed: timed["images_per_second"])
    result["model_images_per_second"] = best["images_per_second"]
    result["model_images_per_second_no_heatmaps"] = max(
        timed["images_per_second_no_heatmaps"] for timed in result["model_configs"].values()
    )
    return result


def run(args: argparse.Namespace) -> int:
    """Run the three phases and write the results."""

    if args.claims < 1 or args.throughput_claims < 2:
        raise SystemExit("bench: --claims must be at least 1 and --throughput-claims at least 2")
    settings = load_settings()
    if args.photos is None and not (settings.data_dir / "images").is_dir():
        raise SystemExit(f"bench: no photos: {settings.data_dir / 'images'} not found; pass --photos DIR")
    pool, split_of = photo_pool(settings, args.photos)
    latency_claims = plan_claims(pool, args.claims)
    throughput_claims = plan_claims(pool, args.throughput_claims)
    worker_claims = {w: plan_claims(pool, args.workers_claims) for w in WORKER_ARMS} if args.workers_claims > 0 else {}
    state_dir = Path(tempfile.mkdtemp(prefix="claims-bench-"))
    _say(f"state in {state_dir}")
    try:
        results = _run(args, settings, state_dir, latency_claims, throughput_claims, worker_claims)
    finally:
        if not args.keep_state:
            shutil.rmtree(state_dir, ignore_errors=True)
    every_claim = latency_claims + throughput_claims + [c for claims in worker_claims.values() for c in claims]
    used = [p for c in every_claim for p in c.photos]
    results["photos"] = {
        "per_claim": PHOTOS_PER_CLAIM,
        "distinct": len(set(used)),
        "by_split": dict(Counter(split_of[p] for p in set(used))),
        "source": str(args.photos or settings.data_dir / "images"),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(format_table(results))
    _say(f"wrote {args.output}")
    return 0


def _run(args, settings, state_dir: Path, latency_claims, throughput_claims, worker_claims) -> dict:

    if not settings.model_path.is_file():
        raise SystemExit(f"bench: damage model not found at {settings.model_path}")
    model_sha256 = hashlib.sha256(settings.model_path.read_bytes()).hexdigest()  # as DamageModel.load hashes it
    gateway = content_gateway(settings, state_dir / "gateway", settings.max_blob_bytes)
    with ExitStack() as stack:
        gateway_url, cas, peer = stack.enter_context(gateway)
        chain = stack.enter_context(dev_chain(timestamp=GENESIS))
        postgres_server = stack.enter_context(throwaway_postgres()) if worker_claims else ""
        _say(f"content gateway at {gateway_url}, its IPFS peer {peer.peer_id}")
        terms_hash = store_terms(cas, DEFAULT_TERMS_PATH.read_bytes())
        roles = Roles.of(chain.accounts)
        world = BenchWorld(
            chain=chain,
            cas=cas,
            gateway_url=gateway_url,
            gateway_peer=peer.multiaddr,
            roles=roles,
            terms_hash=terms_hash,
            model_hash=bytes.fromhex(model_sha256),
            state_dir=state_dir,
            args=args,
        )
        _say(
            f"anvil at {chain.url}; deploying two managers and buying "
            f"{len(latency_claims) + len(throughput_claims)} policies ..."
        )
        committee_manager, committee_start = _prepare_phase(world, latency_claims, roles.oracles, 2, "latency")
        solo_manager, solo_start = _prepare_phase(world, throughput_claims, roles.oracles[:1], 1, "throughput")
        arms = {
            w: (*_prepare_phase(world, claims, roles.oracles[:1], 1, f"workers{w}"), claims)
            for w, claims in worker_claims.items()
        }
        chain.w3.provider.make_request(RPCEndpoint("evm_setNextBlockTimestamp"), [CLAIMS_OPEN])
        chain.w3.provider.make_request(RPCEndpoint("evm_mine"), [])
        decided_topic = keccak(text="ClaimDecided(uint256,uint8,uint256,uint16,bytes32,bytes32,bool,uint256)")
        world.observer = ChainObserver(chain.url.replace("http://", "ws://"), decided_topic).start()
        try:
            latency = latency_phase(world, committee_manager, committee_start, latency_claims)
            throughput = throughput_phase(world, solo_manager, solo_start, throughput_claims)
            workers = workers_phase(world, arms, postgres_server) if arms else {"workers": {}}
        finally:
            world.observer.stop()
    _say("bare model on the same photos ...")
    batch_claims = settings.node_batch_claims
    bare = model_phase(settings, throughput_claims, batch_claims, args.node_model_threads)
    ratio = throughput["claims_per_second"] * PHOTOS_PER_CLAIM / bare["model_images_per_second"]
    gas = json.loads(args.gas_json.read_text()) if args.gas_json and args.gas_json.is_file() else None
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {
        **{k: v for k, v in latency.items() if k != "latency_samples_s"},
        **throughput,
        **workers,
        **bare,
        "pipeline_vs_model_ratio": round(ratio, 3),
        "pipeline_vs_model_ratio_no_heatmaps": round(
            throughput["claims_per_second"] * PHOTOS_PER_CLAIM / bare["model_images_per_second_no_heatmaps"], 3
        ),
        "targets": TARGETS,
        "met": {
            "latency_p50_s": latency["latency_p50_s"] <= TARGETS["latency_p50_s"],
            "latency_p95_s": latency["latency_p95_s"] <= TARGETS["latency_p95_s"],
            "pipeline_vs_model_ratio": ratio >= TARGETS["pipeline_vs_model_ratio"],
        },
        "gas": gas,
        "gas_source": str(args.gas_json) if gas is not None else None,
        "setup": {
            "chain": "anvil, automine (one block per transaction), confirmations 0",
            "nodes": "separate `claims-oracle node` processes, SQLite databases, one shared local content store",
            "latency_committee": "2-of-3, vote transactions",
            "throughput_committee": "1-of-1, vote transactions",
            "workers": "one member (1-of-1 product) running 1, then 2 `claims-oracle node` processes with one key on "
            "one throwaway PostgreSQL database (fsync off), each with its own IPFS peer",
            "poll_seconds": args.poll_seconds if args.poll_seconds is not None else settings.poll_interval_s,
            "node_batch_claims": batch_claims,
            "node_model_threads": args.node_model_threads or "one per CPU",
            "claims": f"three photos of one class per claim, classes in turn ({', '.join(LABELS)}); every "
            f"{HAIL_EVERY}th claim is a hail claim (weather lookup), the rest collisions",
        },
        "measured": {
            "latency": "claims filed one at a time, each after the previous decision; latency = arrival of the "
            "ClaimDecided block's header minus arrival of the submitClaim block's header, both over "
            "one eth_subscribe(newHeads) websocket (wall clock; anvil block timestamps are whole "
            "seconds)",
            "claims_per_second": "all claims filed before the node starts; (claims - warm-up) / (time of last "
            "decision - time of the warm-up's last decision), warm-up = first tenth of the "
            "decisions; claims_per_second_from_start counts from the node's readiness (model "
            "loaded and run once, weather tables parsed)",
            "model_images_per_second": "DamageModel.predict in this process on the throughput phase's photos, "
            "in batches of model_batch_photos (the node's full-queue batch), heat maps "
            "on as the node asks for them, with the node's thread setting and with the "
            "library default (model_configs); the faster is used; the no_heatmaps "
            "figure is for reference",
            "pipeline_vs_model_ratio": "claims_per_second * photos per claim / model_images_per_second",
            "workers": "all claims filed before the workers start; claims_per_second = claims / (last decision - all "
            "workers ready); node_cpu_seconds = user+system CPU of the worker processes and their children "
            "(IPFS peers) over the same span, from /proc; machine_cpu_seconds = the whole machine's busy CPU "
            "time over the span (anvil, PostgreSQL, the gateway and this process included)",
            "pipeline_vs_model_ratio_no_heatmaps": "the same against the model without heat maps (the node renders "
            "them, so this only shows what the heat maps cost)",
        },
        "latency_samples_s": latency["latency_samples_s"],
        "notes": world.notes,
        "model_sha256": model_sha256,
        "machine": {"cpus": os.cpu_count(), "processor": platform.machine(), "python": platform.python_version()},
        "load_average_1min_at_end": round(load, 2) if load is not None else None,
        "unix_time": int(time.time()),
    }


def format_table(results: dict) -> str:
    """The results as a small table: each measure, its value, and the target where there is one."""
    rows = [
        ("latency p50 (s), 2-of-3", results["latency_p50_s"], "<= 1.0"),
        ("latency p95 (s), 2-of-3", results["latency_p95_s"], "<= 2.0"),
        ("latency mean / max (s)", f"{results['latency_mean_s']} / {results['latency_max_s']}", ""),
        ("claims per second, 1-of-1", results["claims_per_second"], ""),
        ("  from node start", results["claims_per_second_from_start"], ""),
        ("model images per second", results["model_images_per_second"], ""),
        ("  without heat maps", results["model_images_per_second_no_heatmaps"], ""),
        ("pipeline vs model", results["pipeline_vs_model_ratio"], ">= 0.8"),
    ]
    for workers, arm in results.get("workers", {}).items():
        rows.append((f"{workers} worker(s): claims/s", arm["claims_per_second"], ""))
        rows.append(("  per node CPU-second", arm["claims_per_node_cpu_second"], ""))
        rows.append(("  per machine CPU-second", arm["claims_per_machine_cpu_second"], ""))
    lines = [f"{'measure':<30}{'value':>16}  target", "-" * 56]
    lines += [f"{name:<30}{value!s:>16}  {target}" for name, value, target in rows]
    lines.append(f"decisions: latency {results['latency_decisions']}, throughput {results['throughput_decisions']}")
    votes = results["latency_votes"]
    lines.append(
        f"2-of-3 votes: {votes['votes_mined']} mined, {votes['votes_reverted_claim_decided']} of them "
        f"reverted (a third vote that lost the race), {votes['votes_not_sent_claim_decided']} not sent "
        f"(claim already decided)"
    )
    if results.get("gas"):
        lines.append("gas: " + ", ".join(f"{k} {v}" for k, v in sorted(results["gas"].items())))
    return "\n".join(lines)
