"""`claims-oracle load`: the gateway under 20, 50 and 100 concurrent clients, on the bridge and on uploads.

Everything is real and local: the stack of `oracle/dev/stack.py` (anvil, the deployed contracts, the gateway with
its bridge, content store and upload permits) with no oracle nodes running, so the gateway has the machine to
itself; claims filed on-chain with three real photos each from ../shared/data (every claim a distinct set, so every
bridge request is an uncached assessment); uploads of real photos (each made unique by a trailer after the JPEG's
end, so each is new content) under a policy holder's permit.

Each level runs for a fixed time with N closed-loop clients: a client sends a request, waits for the answer, and
sends the next; a shed request (503) is retried later, after its Retry-After, by whichever client takes it next.
Per level and route the table shows accepted requests per second, the p50 and p95 latency of accepted requests,
and the shed rate (503s of all answers). Results go to bench/load.json. The target (issue 17): the bridge's p95 of
accepted requests at 100 clients is at most 1.5 times its p95 at 20 clients. This is a measurement: nothing here
asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing
import os
import platform
import shutil
import sys
import tempfile
import time
from collections import Counter, deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import aiohttp
from eth_utils import keccak
from web3.types import RPCEndpoint

from oracle.adapter.uploads import PERMIT_HEADER, encode_permit, permit_message
from oracle.chain.deploy import ETH, buy_policy, create_product
from oracle.claim.evidence import store_evidence
from oracle.dev.bench import PlannedClaim, _percentile, _submit, photo_pool
from oracle.dev.demo import CLAIMS_OPEN
from oracle.dev.stack import Stack, product_defaults, running_stack
from oracle.domain import REPO_ROOT
from oracle.settings import load_settings
from oracle.vision import DamageModel

DEFAULT_OUTPUT = REPO_ROOT / "bench" / "load.json"
LEVELS = (20, 50, 100)
PHOTOS_PER_CLAIM = 3
TARGET_P95_RATIO = 1.5
MAX_BRIDGE_CLAIMS_PER_S = 12
"""More than the bridge assesses per second on 2 cores: how many claims to file for the levels' time."""
REQUEST_TIMEOUT_S = 60.0
BENCH_UPLOAD_QUOTA = 1_000_000
"""Uploads per holder per window in the benchmark's gateway: it measures the gateway under load from many clients
of one holder, not the quota (tests/adapter/test_uploads.py covers that)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `claims-oracle load`."""
    parser.add_argument(
        "--levels", type=int, nargs="+", default=list(LEVELS), help="concurrent clients per level (default 20 50 100)"
    )
    parser.add_argument("--bridge-seconds", type=float, default=20.0, help="seconds per bridge level (default 20)")
    parser.add_argument("--upload-seconds", type=float, default=8.0, help="seconds per upload level (default 8)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="the levels take turns this many times, each for its share of the seconds (default 3), so the "
        "machine's other load falls on every level alike",
    )
    parser.add_argument(
        "--claims", type=int, default=0, help="claims filed for the bridge (default: enough for the levels' time)"
    )
    parser.add_argument("--photos", type=Path, help="a folder of <class>/<image> (default: ../shared/data)")
    parser.add_argument(
        "--output", type=Path, default=DEFAULT_OUTPUT, help="where to write the JSON results (default bench/load.json)"
    )


@dataclass
class Level:
    """What one level of one route measured."""

    route: str
    clients: int
    seconds: float
    statuses: Counter = field(default_factory=Counter)
    accepted_latencies: list[float] = field(default_factory=list)
    exhausted: bool = False

    def summary(self) -> dict:
        """The level's figures."""
        answers = sum(self.statuses.values())
        accepted = len(self.accepted_latencies)
        shed = self.statuses.get(503, 0)
        return {
            "route": self.route,
            "clients": self.clients,
            "seconds": round(self.seconds, 2),
            "answers": answers,
            "accepted": accepted,
            "accepted_per_s": round(accepted / self.seconds, 2) if self.seconds else 0.0,
            "p50_s": round(_percentile(self.accepted_latencies, 50), 3) if accepted else None,
            "p95_s": round(_percentile(self.accepted_latencies, 95), 3) if accepted else None,
            "shed": shed,
            "shed_rate": round(shed / answers, 3) if answers else 0.0,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items(), key=lambda kv: str(kv[0]))},
            "pool_exhausted": self.exhausted,
        }


def _say(text: str) -> None:
    print(f"load: {text}", file=sys.stderr, flush=True)


async def _bridge_level(base: str, clients: int, seconds: float, pool: deque[int]) -> Level:
    """Closed-loop clients asking the bridge for uncached claims from `pool` until `seconds` have passed."""
    level = Level("bridge", clients, seconds)
    deadline = time.monotonic() + seconds

    async def client(session: aiohttp.ClientSession) -> None:
        while time.monotonic() < deadline:
            if not pool:
                level.exhausted = True
                return
            claim_id = pool.popleft()
            started = time.perf_counter()
            try:
                async with session.post(base, json={"id": f"load-{claim_id}", "data": {"claimId": claim_id}}) as r:
                    await r.read()
                    status, retry = r.status, r.headers.get("Retry-After")
            except (aiohttp.ClientError, TimeoutError) as exc:
                level.statuses[type(exc).__name__] += 1
                pool.append(claim_id)
                continue
            elapsed = time.perf_counter() - started
            level.statuses[status] += 1
            if status == 200:
                level.accepted_latencies.append(elapsed)
            elif status == 503:
                pool.append(claim_id)  # shed: another client asks for it later
                await asyncio.sleep(min(float(retry or 1), max(0.0, deadline - time.monotonic())))

    await _run_clients(clients, client)
    level.seconds = max(seconds, time.monotonic() - (deadline - seconds))
    return level


async def _upload_level(base: str, clients: int, seconds: float, photos: list[bytes], permit: str) -> Level:
    """Closed-loop clients uploading distinct real photos under one holder's permit until `seconds` have passed."""
    level = Level("upload", clients, seconds)
    deadline = time.monotonic() + seconds
    counter = iter(range(10**9))

    async def client(session: aiohttp.ClientSession) -> None:
        while time.monotonic() < deadline:
            n = next(counter)
            body = photos[n % len(photos)] + b"LOAD" + n.to_bytes(8, "big") + os.urandom(4)  # new content each time
            started = time.perf_counter()
            try:
                async with session.post(f"{base}content", data=body, headers={PERMIT_HEADER: permit}) as r:
                    await r.read()
                    status, retry = r.status, r.headers.get("Retry-After")
            except (aiohttp.ClientError, TimeoutError) as exc:
                level.statuses[type(exc).__name__] += 1
                continue
            elapsed = time.perf_counter() - started
            level.statuses[status] += 1
            if status == 201:
                level.accepted_latencies.append(elapsed)
            elif status in (429, 503):
                await asyncio.sleep(min(float(retry or 1), max(0.0, deadline - time.monotonic())))

    started = time.monotonic()
    await _run_clients(clients, client)
    level.seconds = time.monotonic() - started
    return level


async def _run_clients(clients: int, client) -> None:
    connector = aiohttp.TCPConnector(limit=clients)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(*(client(session) for _ in range(clients)))


def _level_in_process(
    route: str, base: str, clients: int, seconds: float, claims: list[int], photos: list[Path], permit: str
) -> tuple[Level, list[int]]:
    """One level's clients, in a process of their own (so they share no interpreter lock with the gateway); returns
    the level and the claims still to ask for."""
    if route == "bridge":
        pool = deque(claims)
        level = asyncio.run(_bridge_level(base, clients, seconds, pool))
        return level, list(pool)
    bodies = [path.read_bytes() for path in photos]
    return asyncio.run(_upload_level(base, clients, seconds, bodies, permit)), claims


def _merge(into: Level | None, level: Level) -> Level:
    """Add a round's figures to the level's."""
    if into is None:
        return level
    into.statuses.update(level.statuses)
    into.accepted_latencies += level.accepted_latencies
    into.seconds += level.seconds
    into.exhausted = into.exhausted or level.exhausted
    return into


def _file_claims(stack: Stack, photos: list[Path], count: int) -> list[int]:
    """Buy a policy per claim for the claimant, store each claim's evidence, and file the claims; their ids."""
    manager, roles = stack.system.manager, stack.roles
    config = {
        **product_defaults(roles, stack.system.arbitrator.address, stack.model_hash, stack.terms_hash),
        "coverageLimit": 3 * ETH,
    }
    product_id = create_product(manager, roles.insurer, config, count * config["coverageLimit"])
    planned = []
    for i in range(count):
        chosen = [photos[(PHOTOS_PER_CLAIM * i + k) % len(photos)] for k in range(PHOTOS_PER_CLAIM)]
        claim = PlannedClaim("load", chosen, peril=0)
        claim.policy_id = buy_policy(manager, roles.claimant, product_id, keccak(f"LOAD-VIN-{i}".encode()))
        evidence = store_evidence(stack.cas, [(p.name, p.read_bytes()) for p in chosen])
        claim.evidence_root, claim.evidence_uri = evidence.root, evidence.uri
        planned.append(claim)
        if (i + 1) % 200 == 0:
            _say(f"{i + 1}/{count} policies bought")
    stack.w3.provider.make_request(RPCEndpoint("evm_setNextBlockTimestamp"), [CLAIMS_OPEN])
    stack.w3.provider.make_request(RPCEndpoint("evm_mine"), [])
    for claim in planned:
        _submit(manager, roles.claimant, claim)
    return [claim.claim_id for claim in planned]


def _permit(stack: Stack, origin: str) -> str:
    """A permit for the claimant, signed by the dev chain's unlocked account (as the dApp's dev wallet signs it)."""
    holder = stack.roles.claimant
    expires = int(time.time()) + 3 * 3600
    message = permit_message(origin, holder, expires)
    answer = stack.w3.provider.make_request(RPCEndpoint("personal_sign"), ["0x" + message.encode().hex(), holder])
    return encode_permit(origin, holder, expires, bytes.fromhex(answer["result"][2:]))


async def run_load(args: argparse.Namespace) -> dict:
    """Start the stack, file the claims, and run every level on the bridge and on uploads."""
    settings = load_settings()
    model = DamageModel.load(settings.model_path)
    pool_by_label, _ = photo_pool(settings, args.photos)
    photos = [p for label in ("minor", "moderate", "severe", "whole") for p in pool_by_label[label]]
    load_at_start = round(os.getloadavg()[0], 2)
    needed = args.claims or int(MAX_BRIDGE_CLAIMS_PER_S * args.bridge_seconds * len(args.levels)) + 100
    state_dir = Path(tempfile.mkdtemp(prefix="claims-load-"))
    overrides = {
        "upload_quota_count": BENCH_UPLOAD_QUOTA,
        "upload_quota_bytes": 2**40,
        "upload_open_claims": BENCH_UPLOAD_QUOTA,
    }
    try:
        async with running_stack(
            settings, model, state_dir, with_product=False, with_nodes=False, gateway=overrides, progress=_say
        ) as stack:
            _say(f"filing {needed} claims with {PHOTOS_PER_CLAIM} real photos each ...")
            ids = await asyncio.to_thread(_file_claims, stack, photos, needed)
            base = stack.url
            permit = await asyncio.to_thread(_permit, stack, base.rstrip("/"))
            upload_photos = photos[: max(200, 3 * max(args.levels))]
            merged: dict[tuple[str, int], Level] = {}
            claims = list(ids)
            loop = asyncio.get_running_loop()
            # the levels take turns, round after round, so a change in the machine's other load falls on all of them
            with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as clients_process:
                for route, seconds in (("bridge", args.bridge_seconds), ("upload", args.upload_seconds)):
                    for round_ in range(1, args.rounds + 1):
                        for clients in args.levels:
                            level, claims = await loop.run_in_executor(
                                clients_process,
                                partial(
                                    _level_in_process,
                                    route,
                                    base,
                                    clients,
                                    seconds / args.rounds,
                                    claims,
                                    upload_photos,
                                    permit,
                                ),
                            )
                            load_now = os.getloadavg()[0]
                            merged[(route, clients)] = _merge(merged.get((route, clients)), level)
                            _say(
                                f"{route} round {round_}/{args.rounds}, {clients} clients (load {load_now:.1f}): "
                                + _row(level.summary())
                            )
            results = [merged[(route, clients)].summary() for route in ("bridge", "upload") for clients in args.levels]
            for row in results:
                _say(_row(row))
            gateway = gateway_limits()
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)
    bridge = {row["clients"]: row for row in results if row["route"] == "bridge"}
    low, high = min(bridge), max(bridge)
    ratio = (
        round(bridge[high]["p95_s"] / bridge[low]["p95_s"], 3)
        if bridge[low]["p95_s"] and bridge[high]["p95_s"]
        else None
    )
    return {
        "levels": results,
        "bridge_p95_ratio": ratio,
        "bridge_p95_ratio_levels": [low, high],
        "target_p95_ratio": TARGET_P95_RATIO,
        "met": ratio is not None and ratio <= TARGET_P95_RATIO,
        "gateway": gateway,
        "claims_filed": needed,
        "setup": {
            "stack": "oracle/dev/stack.py: anvil, contracts, the gateway (bridge, content, uploads); no oracle nodes",
            "bridge": f"POST / with data.claimId of an on-chain claim of {PHOTOS_PER_CLAIM} real photos, each claim "
            "asked once (uncached); a shed claim is asked again later",
            "uploads": "POST /content of a real photo made unique, under one holder's permit (quota raised for the "
            "benchmark)",
            "clients": "closed loop, in a process apart from the gateway's; a 503 or 429 waits its Retry-After; "
            f"the levels take turns in {args.rounds} rounds",
        },
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "load_average_1min_at_start": load_at_start,
        "load_average_1min_at_end": round(os.getloadavg()[0], 2),
        "unix_time": int(time.time()),
    }


def gateway_limits() -> dict:
    """The gateway's limiter settings in force (from the environment, CLAIMS_ORACLE_ADAPTER_MAX_*)."""
    settings = load_settings()
    return {"max_concurrency": settings.adapter_max_concurrency, "max_queue": settings.adapter_max_queue}


def _row(row: dict) -> str:
    p50 = "-" if row["p50_s"] is None else f"{row['p50_s']:.3f}"
    p95 = "-" if row["p95_s"] is None else f"{row['p95_s']:.3f}"
    return (
        f"{row['route']:<7}{row['clients']:>8}{row['accepted']:>10}{row['accepted_per_s']:>10.2f}{p50:>9}{p95:>9}"
        f"{100 * row['shed_rate']:>8.1f}%  {row['statuses']}"
    )


def format_table(results: dict) -> str:
    """The levels as a table, and the target."""
    lines = [f"{'route':<7}{'clients':>8}{'accepted':>10}{'per s':>10}{'p50 s':>9}{'p95 s':>9}{'shed':>9}  statuses"]
    lines += [_row(row) for row in results["levels"]]
    low, high = results["bridge_p95_ratio_levels"]
    lines.append(
        f"bridge p95 at {high} clients / p95 at {low} clients: {results['bridge_p95_ratio']} (target <= "
        f"{results['target_p95_ratio']}: {'met' if results['met'] else 'not met'}); limiter "
        f"{results['gateway']['max_concurrency']} running, queue {results['gateway']['max_queue']}"
    )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Run the load benchmark, print the table and write bench/load.json."""
    if not args.levels or min(args.levels) < 1:
        raise SystemExit("load: --levels must be positive client counts")
    settings = load_settings()
    if args.photos is None and not (settings.data_dir / "images").is_dir():
        raise SystemExit(f"load: no photos: {settings.data_dir / 'images'} not found; pass --photos DIR")
    if not settings.model_path.is_file():
        raise SystemExit(f"load: damage model not found at {settings.model_path}")
    # the gateway logs each shed request in one line; thousands of them would bury the table
    logging.getLogger("oracle.adapter.app").setLevel(logging.ERROR)
    results = asyncio.run(run_load(args))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(format_table(results))
    _say(f"wrote {args.output}")
    return 0
