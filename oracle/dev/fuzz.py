"""`claims-oracle fuzz`: generated hostile requests against every route of a gateway on a local chain, counted by
status; the target is no 5xx answer and no dropped connection (`make fuzz`; a short run is part of `make test`)."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import random
import resource
import shutil
import string
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from eth_utils import keccak
from PIL import Image

from oracle.adapter.app import create_app
from oracle.adapter.claims import ChainClaims
from oracle.adapter.dapp import DappConfig, register_dapp_routes
from oracle.adapter.uploads import PERMIT_HEADER, encode_permit, permit_message
from oracle.assess import DEFAULT_TERMS_PATH
from oracle.cas.store import LocalContentStore
from oracle.chain.deploy import ETH, buy_policy, create_product, demo_product_config, deploy_system, submit_claim
from oracle.claim.evidence import store_evidence, store_terms
from oracle.claim.wiring import build_assessor, load_model
from oracle.db import NodeStore
from oracle.dev.devchain import dev_chain
from oracle.dev.stack import Roles
from oracle.settings import load_settings

ROUTES = [
    ("POST", "/"),
    ("GET", "/health"),
    ("GET", "/content/{cid}"),
    ("POST", "/content"),
    ("GET", "/permits/message"),
    ("GET", "/explanations/{hash}"),
    ("POST", "/signatures"),
    ("GET", "/signatures/{chainId}/{contract}/{claimId}"),
    ("GET", "/"),
    ("GET", "/app/{name}"),
    ("GET", "/vendor/ethers.js"),
    ("GET", "/api/config"),
    ("POST", "/api/evidence"),
    ("POST", "/api/terms"),
    ("GET", "/api/places"),
    ("POST", "/api/claims/{claim_id}/verify"),
    ("POST", "/rpc"),
]
"""Every route the gateway serves (the demo's: bridge, content, relay, dApp with its dev wallet)."""
FIELDS = [
    "id",
    "data",
    "meta",
    "responseURL",
    "claimId",
    "chainId",
    "contract",
    "async",
    "photos",
    "claimant",
    "name",
    "cid",
    "jsonrpc",
    "method",
    "params",
    "from",
    "to",
    "value",
    "signature",
    "v",
    "r",
    "s",
    "signer",
    "decision",
    "payout",
    "confidence",
    "explanationHash",
    "modelHash",
    "evidenceRoot",
    "termsHash",
    "costSchedule",
    "vehicleClass",
]
RPC_METHODS = [
    "eth_chainId",
    "eth_blockNumber",
    "eth_call",
    "eth_getLogs",
    "eth_sendTransaction",
    "eth_sendUnsignedTransaction",
    "eth_sign",
    "personal_sign",
    "eth_signTypedData_v4",
    "anvil_setBalance",
    "evm_mine",
    "debug_traceCall",
    "hardhat_impersonateAccount",
    "eth_accounts",
    "net_version",
    "eth_getBalance",
]
CONTENT_TYPES = ["application/json", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data", None]


@dataclass
class World:
    """What the generator knows of the chain and store, so some requests come close to valid ones."""

    chain_id: int
    contract: str
    claim_id: int
    people: list[str]
    nodes: list[str]
    cids: list[str]
    hashes: list[str]
    permits: list[str] = field(default_factory=list)
    """Upload permit headers: a policy holder's for this gateway, one for another gateway, an expired one."""


@dataclass
class Tally:
    """Answers counted by status, with a few examples of every 5xx and dropped connection."""

    statuses: Counter = field(default_factory=Counter)
    by_route: dict = field(default_factory=dict)
    failures: list = field(default_factory=list)

    def add(self, route: str, status: int | str, detail: str) -> None:
        """Count one answer."""
        self.statuses[status] += 1
        self.by_route.setdefault(route, Counter())[status] += 1
        if (not isinstance(status, int) or status >= 500) and len(self.failures) < 20:
            self.failures.append({"route": route, "status": status, "detail": detail[:300]})

    @property
    def server_errors(self) -> int:
        """Answers of 5xx or none at all."""
        return sum(n for s, n in self.statuses.items() if not isinstance(s, int) or s >= 500)


def random_text(rng: random.Random, longest: int = 40) -> str:
    """A short string of letters, digits, punctuation and the odd non-ASCII or control character."""
    alphabet = string.ascii_letters + string.digits + string.punctuation + " éß中\u202e\x00\n"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, longest)))


def random_value(rng: random.Random, world: World, depth: int = 0):
    """A JSON value: scalars of every kind and size, values close to valid ones, nested containers."""
    kind = rng.randrange(14 if depth < 4 else 10)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, 1, -1, 2**53, 2**256, 2**256 - 1, -(2**255) - 1, world.claim_id, world.chain_id])
    if kind == 3:
        return rng.choice([0.5, -1e308, 1e-300, 3.0])
    if kind == 4:
        return random_text(rng)
    if kind == 5:
        return str(rng.choice([world.claim_id, 10**78, -5, 0]))
    if kind == 6:
        return rng.choice(world.people + world.nodes + [world.contract, "0x" + "00" * 20, "0x123"])
    if kind == 7:
        return rng.choice(world.hashes + ["0x" + "ab" * 32, "0x"])
    if kind == 8:
        return rng.choice(world.cids + ["bafkrei" + "a" * 52, "b" * 59])
    if kind == 9:
        return rng.choice(RPC_METHODS)
    if kind in (10, 11):
        return [random_value(rng, world, depth + 1) for _ in range(rng.randint(0, 4))]
    return {rng.choice(FIELDS): random_value(rng, world, depth + 1) for _ in range(rng.randint(0, 6))}


def near_valid(rng: random.Random, world: World, path: str) -> object:
    """A body shaped like the route's real requests, with random values in some fields."""
    if path == "/":
        data = {"claimId": rng.choice([world.claim_id, world.claim_id + 1, random_value(rng, world)])}
        if rng.random() < 0.3:
            data[rng.choice(FIELDS)] = random_value(rng, world)
        body = {"id": random_value(rng, world), "data": data}
        if rng.random() < 0.3:
            body.update(meta={"async": True}, responseURL=rng.choice(["http://127.0.0.1:9/x", "https://evil.example/"]))
        return body
    if path == "/rpc":
        call = {"jsonrpc": "2.0", "id": rng.randint(0, 9), "method": rng.choice(RPC_METHODS)}
        tx = {"from": rng.choice(world.people + world.nodes + [world.contract]), "to": world.contract, "value": "0x0"}
        call["params"] = rng.choice([[], [tx], ["latest"], [tx, "latest"], random_value(rng, world)])
        return [call] * rng.randint(1, 3) if rng.random() < 0.3 else call
    if path == "/api/evidence":
        return {
            "photos": [
                {"name": random_text(rng, 8), "cid": rng.choice(world.cids + [random_text(rng)])}
                for _ in range(rng.randint(0, 14))
            ],
            "claimant": random_value(rng, world),
        }
    if path == "/api/terms":
        terms = json.loads(DEFAULT_TERMS_PATH.read_text())
        key = rng.choice(list(terms))
        terms[key] = random_value(rng, world)
        return terms
    if path == "/signatures":
        body = {k: random_value(rng, world) for k in FIELDS[18:30]}
        body.update(chainId=world.chain_id, contract=world.contract, claimId=str(world.claim_id))
        body["signature"] = {
            "v": rng.choice([27, 28, 0]),
            "r": "0x" + rng.randbytes(32).hex(),
            "s": "0x" + rng.randbytes(32).hex(),
        }
        return body
    return random_value(rng, world)


def random_body(rng: random.Random, world: World, path: str) -> bytes:
    """Bytes for a request body: mostly JSON, sometimes hostile JSON text or raw bytes."""
    kind = rng.randrange(10)
    if kind == 0:
        return rng.randbytes(rng.randint(0, 2048))
    if kind == 1:
        depth = rng.choice([70, 2000, 50_000])
        return b"[" * depth + b"]" * depth
    if kind == 2:
        return b'{"id": 1, "data": {"claimId": ' + b"9" * rng.choice([400, 4400]) + b"}}"
    if kind == 3:
        return rng.choice([b"", b"{", b"NaN", b"\xef\xbb\xbf{}", b'{"a": Infinity}', b"\xff\xfe{}", b"[" * 10])
    value = near_valid(rng, world, path) if kind < 8 else random_value(rng, world)
    return json.dumps(value).encode()


def random_path(rng: random.Random, world: World, template: str) -> str:
    """The route with its parameters filled in: valid ones, near misses and junk."""
    fills = {
        "cid": rng.choice(world.cids + ["x", "..", "b" + "a" * 500, random_text(rng, 20)]),
        "hash": rng.choice(world.hashes + ["0x" + "00" * 32, "0x12", random_text(rng, 20)]),
        "chainId": rng.choice([str(world.chain_id), "0", "-1", "1" * 90, random_text(rng, 8)]),
        "contract": rng.choice([world.contract, "0x" + "11" * 20, random_text(rng, 8)]),
        "claimId": rng.choice([str(world.claim_id), "0", "9" * 100, random_text(rng, 8)]),
        "claim_id": rng.choice([str(world.claim_id), "0", "9" * 100, "12x"]),
        "name": rng.choice(["main.js", "style.css", "../pyproject.toml", ".hidden", random_text(rng, 12)]),
    }
    path = template
    for key, value in fills.items():
        path = path.replace("{" + key + "}", "".join(c if c.isprintable() and c not in "/?#%" else "_" for c in value))
    if template == "/permits/message" and rng.random() < 0.8:
        path += "?address=" + rng.choice([*world.people, "0x123", random_text(rng, 12).replace("&", "_")])
    if template == "/api/places":
        query = {"q": rng.choice(["des mo", "z", "x" * 70, random_text(rng, 12)])}
        if rng.random() < 0.5:
            query["limit"] = rng.choice(["1", "20", "0", "99", "-3", random_text(rng, 4)])
        path += "?" + urlencode(query)
    return path or "/"


async def one_request(session, base: str, rng: random.Random, world: World, tally: Tally) -> None:
    """Send one generated request and count its answer."""
    method, template = rng.choice(ROUTES)
    path = random_path(rng, world, template)
    headers = {}
    content_type = rng.choice(CONTENT_TYPES)
    if content_type:
        headers["Content-Type"] = content_type
    if rng.random() < 0.1:
        headers["Origin"] = rng.choice(["https://evil.example", "null", base])
    if rng.random() < 0.05:
        headers["Host"] = rng.choice(["rebind.evil.example", "localhost"])
    if template in ("/content", "/api/evidence") and rng.random() < 0.6:
        junk = "".join(rng.choice(string.ascii_letters + string.digits + "+/=_-") for _ in range(rng.randint(0, 80)))
        headers[PERMIT_HEADER] = rng.choice([*world.permits, junk, "e30", "W10"])
    body = random_body(rng, world, template) if method == "POST" else None
    try:
        async with session.request(
            method, base + path, data=body, headers=headers, skip_auto_headers=["Content-Type"]
        ) as response:
            text = await response.text(errors="replace")
            tally.add(f"{method} {template}", response.status, text)
    except (TimeoutError, aiohttp.ClientError) as exc:
        tally.add(f"{method} {template}", type(exc).__name__, str(exc))


async def fuzz(requests: int, seed: int, with_model: bool, concurrency: int = 8) -> dict:
    """Start a chain and a gateway, send `requests` generated requests, and return the counts and measures."""
    rng = random.Random(seed)
    state = Path(tempfile.mkdtemp(prefix="claims-fuzz-"))
    settings = load_settings(
        state_dir=state,
        content_store_url=f"file://{state / 'cas'}",
        db_url=f"sqlite:///{state / 'gateway.db'}",
        adapter_callback_hosts=["127.0.0.1"],
    )
    cas = LocalContentStore(state / "cas")
    terms_hash = store_terms(cas, DEFAULT_TERMS_PATH.read_bytes())
    model = load_model(settings) if with_model else None
    model_hash = bytes.fromhex(model.model_sha256) if model is not None else keccak(b"no model")
    with dev_chain() as chain:
        roles = Roles.of(chain.accounts)
        system = deploy_system(chain.w3, roles.deployer, roles.panel)
        config = demo_product_config(roles.oracles, 2, system.arbitrator.address, model_hash, terms_hash)
        product_id = create_product(system.manager, roles.insurer, config, 20 * ETH)
        policy_id = buy_policy(system.manager, roles.claimant, product_id, keccak(b"FUZZ-VIN"))
        buffer = io.BytesIO()
        Image.new("RGB", (320, 240), (90, 120, 150)).save(buffer, format="JPEG")
        evidence = store_evidence(cas, [("front.jpg", buffer.getvalue())])
        now = chain.w3.eth.get_block("latest").timestamp
        claim_id = submit_claim(
            system.manager, roles.claimant, policy_id, evidence.root, evidence.uri, now, 0, 41_600_000, -93_600_000, ETH
        )
        history = NodeStore(settings.db_url)
        assessor = build_assessor(
            settings, history, model, sources=[], code_version="fuzz", store=cas, record_history=True
        )
        app = create_app(settings, assessor, cas, claims=ChainClaims(system.manager, history))
        register_dapp_routes(
            app,
            DappConfig(
                chain_id=chain.w3.eth.chain_id,
                chain_name="fuzz",
                claims_manager=system.manager.address,
                arbitrator=system.arbitrator.address,
                rpc_upstream=chain.url,
                dev_accounts=roles.for_dapp(),
            ),
        )
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        base = f"http://127.0.0.1:{runner.addresses[0][1]}"
        world = World(
            chain.w3.eth.chain_id,
            system.manager.address,
            claim_id,
            [a["address"] for a in roles.for_dapp()],
            [roles.deployer, *roles.oracles],
            [evidence.uri.removeprefix("ipfs://")],
            ["0x" + evidence.root.hex(), "0x" + terms_hash.hex()],
        )
        world.permits = [
            _permit(chain.w3, base, roles.claimant, 3600),  # a policy holder's, for this gateway
            _permit(chain.w3, "https://other-gateway.example", roles.claimant, 3600),
            _permit(chain.w3, base, roles.claimant, -60),  # expired
            _permit(chain.w3, base, roles.insurer, 3600),  # signed, but the insurer holds no policy
        ]
        disk_before = _disk(state)
        tally, started = Tally(), time.perf_counter()
        try:
            timeout = aiohttp.ClientTimeout(total=60)
            async with aiohttp.ClientSession(timeout=timeout) as session:
                sent = 0
                while sent < requests:
                    batch = min(concurrency, requests - sent)
                    await asyncio.gather(*(one_request(session, base, rng, world, tally) for _ in range(batch)))
                    sent += batch
        finally:
            await runner.cleanup()
            assessor.close()
            history.close()
        elapsed = time.perf_counter() - started
        disk_after = _disk(state)
    shutil.rmtree(state, ignore_errors=True)
    return {
        "requests": requests,
        "seed": seed,
        "model": with_model,
        "seconds": round(elapsed, 1),
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items(), key=lambda kv: str(kv[0]))},
        "byRoute": {
            route: {str(k): v for k, v in sorted(c.items(), key=lambda kv: str(kv[0]))}
            for route, c in sorted(tally.by_route.items())
        },
        "serverErrors": tally.server_errors,
        "failures": tally.failures,
        "peakRssMiB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "diskGrowthKiB": round((disk_after - disk_before) / 1024, 1),
    }


def _permit(w3, origin: str, holder: str, lifetime_s: int) -> str:
    """An upload permit signed by a dev chain's unlocked account (personal_sign), as the dApp's dev wallet signs."""
    expires = int(time.time()) + lifetime_s
    text = permit_message(origin, holder, expires)
    answer = w3.provider.make_request("personal_sign", ["0x" + text.encode().hex(), holder])
    return encode_permit(origin, holder, expires, bytes.fromhex(answer["result"][2:]))


def _disk(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `claims-oracle fuzz`."""
    parser.add_argument("--requests", type=int, default=10_000, help="generated requests to send (default 10,000)")
    parser.add_argument("--seed", type=int, default=17, help="random seed (the same seed sends the same requests)")
    parser.add_argument("--no-model", action="store_true", help="serve without the damage model (faster)")
    parser.add_argument("--json", type=Path, default=Path("bench/fuzz.json"), help="where to write the results")


def run(args: argparse.Namespace) -> int:
    """Fuzz, print the counts, write the JSON; exit 1 if any answer was a 5xx or a dropped connection."""
    result = asyncio.run(fuzz(args.requests, args.seed, not args.no_model))
    print(f"{result['requests']} requests in {result['seconds']} s (seed {result['seed']}, model {result['model']})")
    print("by status: " + ", ".join(f"{k}: {v}" for k, v in result["statuses"].items()))
    for route, counts in result["byRoute"].items():
        print(f"  {route:<48} " + ", ".join(f"{k}: {v}" for k, v in counts.items()))
    print(
        f"5xx or no answer: {result['serverErrors']} (target 0); peak RSS {result['peakRssMiB']} MiB; "
        f"disk growth {result['diskGrowthKiB']} KiB"
    )
    for failure in result["failures"]:
        print(f"  {failure}", file=sys.stderr)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    return 0 if result["serverErrors"] == 0 else 1
