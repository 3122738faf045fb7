"""`claims-oracle chaos`: claims with real photos come in while committee members are SIGKILLed and restarted at
random; then every claim must be decided exactly once, with no conflicting votes or reports.

Everything is real: anvil with the deployed contracts, a 2-of-3 committee of separate `claims-oracle node` OS
processes, each with its own state folder and SQLite database (the content store is shared, as the gateway's is),
the shipped model, and real photos from ../shared/data. Claims are filed at a steady pace while `--kills` SIGKILLs
fall at random moments on a random running member (one that is still starting counts too); each killed member is
restarted on the same database after a random pause. When every claim is decided the checks read:

- the chain: exactly one `ClaimDecided` per claim, at most one `ReportVoted` per member and claim, and every vote on
  a claim for the same report digest;
- each member's database: its job for every claim is done, and a member that signed a report signed the outcome
  the chain decided (decision, payout, explanation hash). An outcome that differs but was never signed (the claim
  was decided before the member got to it) breaks no guarantee; it is listed as a finding.

The table is printed and the numbers are written to bench/chaos.json; exit 0 only if every check holds (this is a
correctness check, so it may fail; no time is judged).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from eth_utils import keccak
from web3.types import RPCEndpoint

from oracle.assess import DEFAULT_TERMS_PATH
from oracle.cas.store import LocalContentStore
from oracle.chain.contracts import ClaimsManagerClient
from oracle.claim.evidence import store_terms
from oracle.db import DISCOVERED, DONE, FAILED, ORPHANED, SENDING, NodeStore
from oracle.dev.bench import (
    BenchWorld,
    ChainObserver,
    PlannedClaim,
    _prepare_phase,
    _submit,
    node_command,
    node_env,
    photo_pool,
    plan_claims,
    stop_process,
)
from oracle.dev.demo import CLAIMS_OPEN
from oracle.dev.devchain import dev_chain
from oracle.dev.stack import COMMITTEE_SIZE, COMMITTEE_THRESHOLD, GENESIS, Roles
from oracle.domain import REPO_ROOT
from oracle.settings import load_settings

DEFAULT_OUTPUT = REPO_ROOT / "bench" / "chaos.json"
ALL_JOB_STATES = (DISCOVERED, "assessed", SENDING, DONE, ORPHANED, FAILED)
DECIDED_EVENT = "ClaimDecided(uint256,uint8,uint256,uint16,bytes32,bytes32,bool,uint256)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `claims-oracle chaos`."""
    parser.add_argument("--claims", type=int, default=100, help="claims filed during the run (default 100)")
    parser.add_argument("--kills", type=int, default=20, help="SIGKILLs of committee members (default 20)")
    parser.add_argument(
        "--interval",
        type=float,
        default=1.5,
        help="seconds between two claims (default 1.5); kills spread over the time the claims take to file",
    )
    parser.add_argument(
        "--restart-after",
        type=float,
        nargs=2,
        default=(0.2, 3.0),
        metavar=("MIN", "MAX"),
        help="a killed member restarts after a random pause in [MIN, MAX] seconds (default 0.2 3.0)",
    )
    parser.add_argument("--seed", type=int, default=17, help="random seed of the kill schedule (default 17)")
    parser.add_argument(
        "--timeout", type=float, default=300, help="seconds to wait for the last decisions after filing (default 300)"
    )
    parser.add_argument("--photos", type=Path, help="a folder of <class>/<image> (default: ../shared/data)")
    parser.add_argument(
        "--output", type=Path, default=DEFAULT_OUTPUT, help="where to write the JSON results (default bench/chaos.json)"
    )
    parser.add_argument("--keep-state", action="store_true", help="keep the state folder (node logs and databases)")


@dataclass
class Member:
    """One committee member: its own folder and database, and the OS process running it now (if any)."""

    index: int
    folder: Path
    command: list[str]
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    kills: int = 0
    logs: list[Path] = field(default_factory=list)

    @property
    def db_path(self) -> Path:
        """The member's SQLite database."""
        return self.folder / "node.db"

    def start(self) -> None:
        """Start (or restart) the member's process on its database, logging to a new file per start."""
        self.starts += 1
        log_path = self.folder / f"run{self.starts}.log"
        self.logs.append(log_path)
        with log_path.open("w") as log:
            self.process = subprocess.Popen(
                self.command, stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=REPO_ROOT
            )

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the process and reap it."""
        if self.process is not None and self.running:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
            self.kills += 1

    def ready(self) -> bool:
        """Whether the current run logged 'ready' (model loaded and run once)."""
        return bool(self.logs) and " ready" in self.logs[-1].read_text(errors="replace")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 30 s."""
        if self.process is not None and self.running:
            stop_process(self.process)

    def errors(self) -> list[str]:
        """Logged errors and tracebacks over every run (a SIGKILL leaves none: it cannot be caught)."""
        return [
            f"run {n}: {line}"
            for n, path in enumerate(self.logs, 1)
            for line in path.read_text(errors="replace").splitlines()
            if " ERROR " in line or "Traceback" in line
        ]


def _say(text: str) -> None:
    print(f"chaos: {text}", file=sys.stderr, flush=True)


def _wait_ready(members: list[Member], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not all(m.ready() for m in members):
        for m in members:
            if not m.running:
                raise RuntimeError(
                    f"chaos: member {m.index} exited at start; its log ends:\n"
                    + m.logs[-1].read_text(errors="replace")[-3000:]
                )
        if time.monotonic() > deadline:
            raise TimeoutError(f"chaos: members not ready after {timeout:.0f} s")
        time.sleep(0.1)


def schedule(args: argparse.Namespace, rng: random.Random) -> list[tuple[float, str, int]]:
    """The run's events in time order: (seconds from the start, "submit" or "kill", claim index or kill number)."""
    duration = max(args.claims - 1, 1) * args.interval
    events = [(i * args.interval, "submit", i) for i in range(args.claims)]
    events += [(rng.uniform(0.3, duration), "kill", k) for k in range(args.kills)]
    return sorted(events)


def run_schedule(
    args: argparse.Namespace,
    rng: random.Random,
    manager,
    holder: str,
    claims: list[PlannedClaim],
    members: list[Member],
) -> list[dict]:
    """File the claims and kill and restart members on schedule; returns the kills (when, whom, during what)."""
    started = time.monotonic()
    restarts: list[tuple[float, Member]] = []
    kills: list[dict] = []
    low, high = args.restart_after
    for at, kind, n in schedule(args, rng):
        while True:  # restarts due before this event
            restarts.sort(key=lambda item: item[0])
            if not restarts or restarts[0][0] > at:
                break
            due, member = restarts.pop(0)
            time.sleep(max(0.0, due - (time.monotonic() - started)))
            member.start()
        time.sleep(max(0.0, at - (time.monotonic() - started)))
        if kind == "submit":
            _submit(manager, holder, claims[n])
            continue
        alive = [m for m in members if m.running]
        if not alive:
            continue
        victim = rng.choice(alive)
        was_ready = victim.ready()
        victim.kill()
        now = time.monotonic() - started
        kills.append({"at_s": round(now, 2), "member": victim.index, "run": victim.starts, "was_ready": was_ready})
        restarts.append((now + rng.uniform(low, high), victim))
        _say(f"kill {len(kills)}/{args.kills}: member {victim.index} (run {victim.starts}) at {now:.1f} s")
    for due, member in sorted(restarts, key=lambda item: item[0]):
        time.sleep(max(0.0, due - (time.monotonic() - started)))
        member.start()
    return kills


def check(
    client: ClaimsManagerClient,
    start_block: int,
    claims: list[PlannedClaim],
    members: list[Member],
    committee: list[str],
) -> dict:
    """Read the chain's decisions and votes and each member's database, and name every violation."""
    contract = client.contract
    decided_logs = contract.events.ClaimDecided().get_logs(from_block=start_block)
    vote_logs = contract.events.ReportVoted().get_logs(from_block=start_block)
    decided: dict[int, list] = defaultdict(list)
    for log in decided_logs:
        decided[log.args.claimId].append(log.args)
    votes: dict[tuple[int, str], list[bytes]] = defaultdict(list)
    digests: dict[int, set[bytes]] = defaultdict(set)
    for log in vote_logs:
        votes[(log.args.claimId, log.args.oracle.lower())].append(bytes(log.args.reportDigest))
        digests[log.args.claimId].add(bytes(log.args.reportDigest))
    ids = [c.claim_id for c in claims]
    problems: list[str] = []
    findings: list[str] = []  # differences that break no guarantee but show the members do not always agree
    exactly_once = [i for i in ids if len(decided.get(i, [])) == 1]
    problems += [f"claim {i}: {len(decided.get(i, []))} ClaimDecided events" for i in ids if i not in exactly_once]
    problems += [f"claim {c}: member {m} voted {len(v)} times" for (c, m), v in votes.items() if len(v) > 1]
    problems += [f"claim {c}: votes for {len(d)} different reports" for c, d in digests.items() if len(d) > 1]
    members_lower = {m.lower() for m in committee}
    problems += [f"claim {c}: a vote from {m}, not a member" for (c, m) in votes if m not in members_lower]
    db_rows: dict[int, dict] = {}
    chain_id = client.chain_id
    for member in members:
        store = NodeStore(f"sqlite:///{member.db_path}")
        try:
            jobs = {job.claim_id: job for job in store.jobs(chain_id, client.address, states=ALL_JOB_STATES)}
        finally:
            store.close()
        states = Counter(job.state for job in jobs.values())
        conflicts = unsent = 0
        for claim_id in ids:
            job = jobs.get(claim_id)
            if job is None:
                problems.append(f"member {member.index}: no job for claim {claim_id}")
                continue
            if job.state != DONE:
                problems.append(f"member {member.index}: claim {claim_id} left {job.state} ({job.error})")
            on_chain = decided.get(claim_id)
            if job.outcome is not None and on_chain:
                mine = (job.outcome["decision"], int(job.outcome["payout"]), job.outcome["explanation_hash"])
                theirs = (on_chain[0].decision, on_chain[0].payout, bytes(on_chain[0].explanationHash).hex())
                if mine == theirs:
                    continue
                what = f"member {member.index}: claim {claim_id} assessed as {mine}, the chain decided {theirs}"
                if job.raw_tx is not None:  # the member signed a report on its different outcome
                    conflicts += 1
                    problems.append(what + " (and signed a report on it)")
                else:  # assessed differently but never signed: the claim was decided before it got there
                    unsent += 1
                    findings.append(what + f" (never signed: explanation {job.outcome['explanation_cid']})")
        db_rows[member.index] = {
            "jobs": len(jobs),
            "states": dict(states),
            "conflicting_outcomes": conflicts,
            "different_outcomes_never_signed": unsent,
        }
    return {
        "claims": len(ids),
        "decided_exactly_once": len(exactly_once),
        "decided_exactly_once_pct": round(100 * len(exactly_once) / len(ids), 2) if ids else 0.0,
        "decision_events": len(decided_logs),
        "votes_mined": len(vote_logs),
        "double_votes": sum(1 for v in votes.values() if len(v) > 1),
        "conflicting_vote_claims": sum(1 for d in digests.values() if len(d) > 1),
        "member_databases": db_rows,
        "problems": problems[:50],
        "problem_count": len(problems),
        "findings": findings[:50],
    }


def run(args: argparse.Namespace) -> int:
    """Run the chaos benchmark and write its results; exit 0 only if every claim was decided exactly once."""
    if args.claims < 1 or args.kills < 0 or args.interval <= 0:
        raise SystemExit("chaos: --claims must be at least 1, --kills at least 0 and --interval positive")
    settings = load_settings()
    if args.photos is None and not (settings.data_dir / "images").is_dir():
        raise SystemExit(f"chaos: no photos: {settings.data_dir / 'images'} not found; pass --photos DIR")
    if not settings.model_path.is_file():
        raise SystemExit(f"chaos: damage model not found at {settings.model_path}")
    pool, _ = photo_pool(settings, args.photos)
    claims = plan_claims(pool, args.claims)
    state_dir = Path(tempfile.mkdtemp(prefix="claims-chaos-"))
    _say(f"state in {state_dir}")
    try:
        results = _run(args, settings, state_dir, claims)
    finally:
        if not args.keep_state:
            shutil.rmtree(state_dir, ignore_errors=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(format_table(results))
    _say(f"wrote {args.output}")
    return 0 if results["ok"] else 1


def _run(args: argparse.Namespace, settings, state_dir: Path, claims: list[PlannedClaim]) -> dict:
    rng = random.Random(args.seed)
    cas = LocalContentStore(state_dir / "cas")
    terms_hash = store_terms(cas, DEFAULT_TERMS_PATH.read_bytes())
    model_hash = hashlib.sha256(settings.model_path.read_bytes()).digest()
    began = time.perf_counter()
    with dev_chain(timestamp=GENESIS) as chain:
        roles = Roles.of(chain.accounts)
        world = BenchWorld(chain, cas, roles, terms_hash, model_hash, state_dir, args)
        _say(f"anvil at {chain.url}; deploying and buying {len(claims)} policies ...")
        committee = roles.oracles[:COMMITTEE_SIZE]
        manager, start_block = _prepare_phase(world, claims, committee, COMMITTEE_THRESHOLD, "chaos")
        chain.w3.provider.make_request(RPCEndpoint("evm_setNextBlockTimestamp"), [CLAIMS_OPEN])
        chain.w3.provider.make_request(RPCEndpoint("evm_mine"), [])
        members = []
        for index in range(COMMITTEE_SIZE):
            folder = state_dir / f"member{index}"
            folder.mkdir()
            keys = world.key_directories[manager.address]
            argv = node_command(index, chain.url, manager.address, keys, f"sqlite:///{folder / 'node.db'}", start_block)
            command = [sys.executable, *argv]
            members.append(Member(index, folder, command, node_env(state_dir / "cas", folder, 0.2, 1)))
        observer = ChainObserver(chain.url.replace("http://", "ws://"), keccak(text=DECIDED_EVENT)).start()
        try:
            for member in members:
                member.start()
            _say(f"starting {len(members)} member processes ...")
            _wait_ready(members)
            _say(f"filing {len(claims)} claims, one every {args.interval} s, with {args.kills} kills ...")
            run_started = time.perf_counter()
            kills = run_schedule(args, rng, manager, roles.claimant, claims, members)
            _say("every claim filed and every member restarted; waiting for the last decisions ...")
            latencies = []
            deadline = time.monotonic() + args.timeout
            for claim in claims:
                filed = observer.wait_block(claim.claim_block, timeout=30)
                claim.decided_block, claim.decision, decided_at = observer.wait_decided(
                    manager.address, claim.claim_id, max(1.0, deadline - time.monotonic())
                )
                latencies.append((decided_at - filed, claim))
            time.sleep(3.0)  # let votes still in flight land, so a late conflicting one would show
            run_seconds = time.perf_counter() - run_started
        finally:
            observer.stop()
            for member in members:
                member.stop()
        result = check(manager, start_block, claims, members, committee)
    slowest_s, slowest = max(latencies, key=lambda item: item[0])
    errors = [f"member {m.index}: {line}" for m in members for line in m.errors()[:5]]
    ordered = sorted(s for s, _ in latencies)
    return {
        **result,
        "ok": result["problem_count"] == 0 and result["decided_exactly_once"] == len(claims),
        "kills": len(kills),
        "kills_of_ready_members": sum(1 for k in kills if k["was_ready"]),
        "kill_log": kills,
        "restarts": sum(m.starts - 1 for m in members),
        "slowest_claim": {"claim_id": slowest.claim_id, "seconds": round(slowest_s, 3), "label": slowest.label},
        "latency_p50_s": round(ordered[len(ordered) // 2], 3),
        "latency_max_s": round(ordered[-1], 3),
        "run_seconds": round(run_seconds, 1),
        "total_seconds": round(time.perf_counter() - began, 1),
        "logged_errors": errors[:20],
        "setup": {
            "committee": f"{COMMITTEE_THRESHOLD}-of-{COMMITTEE_SIZE}, vote transactions, separate `claims-oracle "
            "node` processes, each with its own state folder and SQLite database; shared content store",
            "claims": f"{len(claims)}, one every {args.interval} s, three real photos each",
            "kills": f"{args.kills} SIGKILLs at uniform random times over the filing, of a random running member; "
            f"restart after {args.restart_after[0]}-{args.restart_after[1]} s on the same database",
            "seed": args.seed,
        },
        "machine": {"cpus": os.cpu_count()},
        "load_average_1min_at_end": round(os.getloadavg()[0], 2),
        "unix_time": int(time.time()),
    }


def format_table(results: dict) -> str:
    """The results in a few lines."""
    slowest = results["slowest_claim"]
    lines = [
        f"claims {results['claims']}, kills {results['kills']} ({results['kills_of_ready_members']} of ready members), "
        f"restarts {results['restarts']}, run {results['run_seconds']} s",
        f"decided exactly once: {results['decided_exactly_once']}/{results['claims']} "
        f"({results['decided_exactly_once_pct']}%), target 100%",
        f"decision events {results['decision_events']}, votes mined {results['votes_mined']}, double votes "
        f"{results['double_votes']}, claims with conflicting votes {results['conflicting_vote_claims']}",
        "member databases: "
        + "; ".join(
            f"{i}: {row['jobs']} jobs {row['states']}, {row['conflicting_outcomes']} conflicting reports signed, "
            f"{row['different_outcomes_never_signed']} different outcomes never signed"
            for i, row in results["member_databases"].items()
        ),
        f"slowest claim: {slowest['claim_id']} ({slowest['label']}), {slowest['seconds']} s from its block to its "
        f"decision's; p50 {results['latency_p50_s']} s",
        f"problems: {results['problem_count']}" + "".join(f"\n  {p}" for p in results["problems"][:10]),
        f"findings (no guarantee broken): {len(results['findings'])}"
        + "".join(f"\n  {f}" for f in results["findings"][:10]),
        "result: " + ("PASS" if results["ok"] else "FAIL"),
    ]
    return "\n".join(lines)
