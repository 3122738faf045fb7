"""The dApp's side of the gateway: its static files, its chain configuration, evidence and terms uploads,
decision replays, and (on a dev chain only) a JSON-RPC relay to the node's unlocked accounts."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import aiohttp
from aiohttp import web
from eth_utils import keccak
from yarl import URL

from oracle.adapter.app import HTTP, SETTINGS, STORE, NotFoundError
from oracle.adapter.http import ForbiddenRequestError, decode_json, read_limited, require_json_content_type
from oracle.adapter.places import places, warm_gazetteer
from oracle.adapter.uploads import UPLOADS, is_permit_message
from oracle.chain.contracts import contract_type
from oracle.claim.verify import VerificationError, verify_claim
from oracle.domain import PHOTO_TYPES, REPO_ROOT, dapp_constants
from oracle.explain.canonical import hex0x
from oracle.explain.evidence import CLAIMANT_KEYS, build_manifest, verify_evidence
from oracle.privacy import SealError, encryption_key_message, parse_content_key
from oracle.sources.terms import MAX_TERMS_BYTES, parse_terms
from oracle.wire.fields import BadRequestError

log = logging.getLogger(__name__)

DAPP_DIR = REPO_ROOT / "dapp"
ETHERS_JS = REPO_ROOT / "node_modules" / "ethers" / "dist" / "ethers.min.js"
STATIC_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
EVIDENCE_MAX_BODY_BYTES = 32 * 1024
VERIFY_MAX_BODY_BYTES = 1024
RPC_MAX_BODY_BYTES = 256 * 1024
RPC_TIMEOUT_S = 30.0
RPC_MAX_BATCH = 100
"""ethers batches at most 100 calls (its batchMaxCount)."""
# What the dev-wallet relay forwards: the reads, fee estimates and filters ethers makes for the dApp, and one way to
# sign, eth_sendTransaction, only from a dev account meant for a person. Never eth_sendUnsignedTransaction,
# eth_sign*, personal_*, anvil_*/evm_*/hardhat_* chain surgery or debug_*.
RPC_READ_METHODS = frozenset(
    {
        "eth_accounts",
        "eth_blockNumber",
        "eth_call",
        "eth_chainId",
        "eth_estimateGas",
        "eth_feeHistory",
        "eth_gasPrice",
        "eth_getBalance",
        "eth_getBlockByHash",
        "eth_getBlockByNumber",
        "eth_getCode",
        "eth_getLogs",
        "eth_getStorageAt",
        "eth_getTransactionByHash",
        "eth_getTransactionCount",
        "eth_getTransactionReceipt",
        "eth_maxPriorityFeePerGas",
        "eth_blobBaseFee",
        "eth_newBlockFilter",
        "eth_newFilter",
        "eth_getFilterChanges",
        "eth_getFilterLogs",
        "eth_uninstallFilter",
        "eth_syncing",
        "net_version",
        "net_listening",
        "web3_clientVersion",
    }
)
RPC_SENDING_METHODS = frozenset({"eth_sendTransaction"})
RPC_KEY_SIGNING_METHOD = "personal_sign"
"""Forwarded only for the messages a person signs in the dApp: the one deriving its evidence key (oracle.privacy)
and its upload permit (oracle.adapter.uploads), each from that person's own dev account."""
CSP = (
    "default-src 'self'; img-src 'self' data: blob:; connect-src 'self'; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


@dataclass(frozen=True)
class DappConfig:
    """What the browser needs to find the chain and contracts; dev_accounts is set only on a local dev chain."""

    chain_id: int
    chain_name: str
    claims_manager: str
    arbitrator: str | None = None
    key_directory: str | None = None
    rpc_upstream: str | None = None
    dev_accounts: list[dict] = field(default_factory=list)
    defaults: dict = field(default_factory=dict)


ResponseT = TypeVar("ResponseT", bound=web.StreamResponse)

DAPP_CONFIG = web.AppKey("dapp_config", DappConfig)
ABIS = web.AppKey("abis", dict)
RPC_HOSTS = web.AppKey("rpc_hosts", frozenset)


def contract_abis() -> dict[str, list]:
    """The ABIs of the contracts the dApp calls, from the compiled build (never copied by hand)."""
    names = ("ClaimsManager", "ProductGovernor", "DisputeDesk", "PanelArbitrator", "KeyDirectory")
    return {name: contract_type(name)["abi"] for name in names}


def security_headers(response: ResponseT) -> ResponseT:
    """Headers that keep the dApp's pages from being framed, sniffed or fed foreign scripts."""
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def static_file(path: Path) -> web.Response:
    """One file of the dApp with its media type; the files change with the checkout, so no long caching."""
    kind = STATIC_TYPES.get(path.suffix)
    if kind is None or not path.is_file():
        raise NotFoundError(f"no dApp file {path.name!r}")
    response = web.Response(body=path.read_bytes(), content_type=kind, headers={"Cache-Control": "no-cache"})
    return security_headers(response)


async def index(request: web.Request) -> web.Response:
    """GET /: the dApp's single page."""
    return static_file(DAPP_DIR / "index.html")


async def asset(request: web.Request) -> web.Response:
    """GET /app/{name}: a script or stylesheet of the dApp (flat names only, no directory walking)."""
    name = request.match_info["name"]
    if "/" in name or name.startswith("."):
        raise NotFoundError(f"no dApp file {name!r}")
    return static_file(DAPP_DIR / name)


async def ethers_module(request: web.Request) -> web.Response:
    """GET /vendor/ethers.js: the ethers v6 ES module from the project's npm install."""
    if not ETHERS_JS.is_file():
        raise NotFoundError(f"ethers is not installed at {ETHERS_JS}: run `make setup` (npm ci)")
    return static_file(ETHERS_JS)


async def config(request: web.Request) -> web.Response:
    """GET /api/config: chain, contract addresses and ABIs, upload limits, defaults, and dev accounts if any."""
    cfg, settings = request.app[DAPP_CONFIG], request.app[SETTINGS]
    body = {
        "chainId": cfg.chain_id,
        "chainName": cfg.chain_name,
        "contracts": {
            "ClaimsManager": {"address": cfg.claims_manager, "abi": request.app[ABIS]["ClaimsManager"]},
            "PanelArbitrator": {"address": cfg.arbitrator, "abi": request.app[ABIS]["PanelArbitrator"]},
            # the dApp reads these two addresses from the manager (`governor()`, `desk()`)
            "ProductGovernor": {"address": None, "abi": request.app[ABIS]["ProductGovernor"]},
            "DisputeDesk": {"address": None, "abi": request.app[ABIS]["DisputeDesk"]},
            "KeyDirectory": {"address": cfg.key_directory, "abi": request.app[ABIS]["KeyDirectory"]},
        },
        "devWallet": {"rpcUrl": "/rpc", "accounts": cfg.dev_accounts} if cfg.rpc_upstream else None,
        "limits": {
            "maxPhotos": settings.max_photos,
            "maxPhotoBytes": settings.max_photo_bytes,
            "photoTypes": sorted(PHOTO_TYPES.values()),
            "maxTermsBytes": MAX_TERMS_BYTES,
        },
        "defaults": cfg.defaults,
        "verify": bool(settings.contract_address),
        # history scans start at the deployment and ask for at most chunkBlocks blocks per eth_getLogs
        "logs": {"fromBlock": settings.start_block, "chunkBlocks": settings.log_chunk_blocks},
        "constants": dapp_constants(),
    }
    return web.json_response(body, headers={"Cache-Control": "no-store"})


async def make_evidence(request: web.Request) -> web.Response:
    """POST /api/evidence: build, check and store the evidence manifest for photos already uploaded to /content.

    Body: {"photos": [{"name": ..., "cid": ...}], "claimant": {"countyFips": ...}, "sealed": {...}, "place": "0x.."};
    answers the evidence root the claim transaction must carry and the manifest's URI. With `sealed` (the scheme, the
    key commitment and the key grants the browser made) the photos are ciphertext, checked against the manifest
    only, and `place` is the precise place sealed with the same key.
    Like an upload, it needs a policy holder's permit, and the manifest counts as one of the holder's uploads until a
    submitted claim names it.
    """
    settings, store, gate = request.app[SETTINGS], request.app[STORE], request.app[UPLOADS]
    body = decode_json(await read_limited(request, EVIDENCE_MAX_BODY_BYTES))
    if not isinstance(body, dict) or not isinstance(body.get("photos"), list):
        raise BadRequestError('expected {"photos": [{"name": ..., "cid": ...}, ...], "claimant": {...}}')
    photos = body["photos"]
    if not photos:
        raise BadRequestError("a claim needs at least one photo")
    if len(photos) > settings.max_photos:
        raise BadRequestError(f"{len(photos)} photos is over the limit of {settings.max_photos} per claim")
    claimant = body.get("claimant") or {}
    if not isinstance(claimant, dict) or set(claimant) - set(CLAIMANT_KEYS):
        raise BadRequestError(
            f"claimant may hold only {list(CLAIMANT_KEYS)}; the vehicle class is the policy's, declared when it was "
            "bought, and a claim cannot name one"
        )
    for i, photo in enumerate(photos, start=1):
        if (
            not isinstance(photo, dict)
            or not isinstance(photo.get("cid"), str)
            or not isinstance(photo.get("name"), str)
        ):
            raise BadRequestError(f"photo {i}: expected an object with string fields name and cid")
    holder = await gate.holder(request)  # after the shape checks, so a malformed body is a 400 whoever sends it
    pairs = []
    for photo in photos:
        data = await asyncio.to_thread(store.get, photo["cid"])
        pairs.append((photo["name"], data))
    sealed, place = body.get("sealed"), body.get("place")
    manifest = build_manifest(pairs, {k: v for k, v in claimant.items() if v}, sealed, place)
    # the same checks a node runs (all but decoding, for sealed photos), so a claim the oracle would refuse is
    # refused before it costs gas
    await asyncio.to_thread(
        verify_evidence,
        manifest.data,
        manifest.root,
        store,
        max_photos=settings.max_photos,
        max_photo_bytes=settings.max_photo_bytes,
        decode_images=sealed is None,
    )
    cid = await asyncio.to_thread(gate.put, holder, manifest.data)
    return web.json_response(
        {"evidenceRoot": manifest.root_hex, "evidenceURI": f"ipfs://{cid}", "manifestCid": cid}, status=201
    )


async def upload_terms(request: web.Request) -> web.Response:
    """POST /api/terms: check an insurer's terms document (cost schedule, thresholds) and store it."""
    data = await read_limited(request, MAX_TERMS_BYTES)
    terms = parse_terms(data)
    cid = await asyncio.to_thread(request.app[STORE].put, data)
    return web.json_response(
        {
            "termsHash": hex0x(keccak(data)),
            "cid": cid,
            "name": terms.name,
            "vehicleClasses": list(terms.cost_schedule),  # in schedule order: class k is the product's k-th price
        },
        status=201,
    )


async def verify(request: web.Request) -> web.Response:
    """POST /api/claims/{claim_id}/verify: replay the recorded decision, as `claims-oracle verify` does; for sealed
    evidence the body is {"contentKey": "0x..."}, which the caller discloses to this gateway by sending it."""
    settings = request.app[SETTINGS]
    if not settings.contract_address:
        raise NotFoundError("this gateway has no contract configured to replay decisions against")
    text = request.match_info["claim_id"]
    if not text.isdigit() or len(text) > 78:
        raise BadRequestError(f"claim id {text!r} is not a decimal number")
    raw = await read_limited(request, VERIFY_MAX_BODY_BYTES)
    body = decode_json(raw) if raw.strip() else {}
    if not isinstance(body, dict) or set(body) - {"contentKey"}:
        raise BadRequestError('expected an empty body or {"contentKey": "0x..."}')
    try:
        opener = parse_content_key(body["contentKey"]) if "contentKey" in body else None
    except SealError as exc:
        raise BadRequestError(str(exc)) from None
    try:
        result = await asyncio.to_thread(verify_claim, settings, int(text), opener)
    except VerificationError as exc:
        raise NotFoundError(str(exc)) from None
    return web.json_response(result)


def check_rpc_call(call: object, people: frozenset[str], cfg: DappConfig) -> None:
    """Refuse one JSON-RPC call the dev-wallet relay must not forward: a method the dApp does not use, or a
    transaction that is not `from` one of the dev accounts meant for people (never a node's or the deployer's)."""
    if not isinstance(call, dict) or not isinstance(call.get("method"), str):
        raise BadRequestError("each JSON-RPC call must be an object with a string method")
    method = call["method"]
    if method in RPC_READ_METHODS:
        return
    if method == RPC_KEY_SIGNING_METHOD:
        check_key_signing(call.get("params"), people, cfg)
        return
    if method not in RPC_SENDING_METHODS:
        raise ForbiddenRequestError(
            f"the dev-wallet relay does not forward {method[:64]!r}: it forwards the reads the dApp makes and "
            "eth_sendTransaction from the dev accounts of the insurer, the claimants and the arbitration panel"
        )
    params = call.get("params")
    tx = params[0] if isinstance(params, list) and params else None
    sender = tx.get("from") if isinstance(tx, dict) else None
    if not isinstance(sender, str) or sender.lower() not in people:
        raise ForbiddenRequestError(
            f"{method} from {str(sender)[:64]!r} refused: the dev wallet sends only from the accounts it lists in "
            "/api/config (insurer, claimants, arbitration panel)"
        )


def check_key_signing(params: object, people: frozenset[str], cfg: DappConfig) -> None:
    """Refuse a personal_sign that is not a person's dev account signing exactly its evidence-key message or its upload
    permit."""
    message, account = params if isinstance(params, list) and len(params) == 2 else (None, None)
    if not isinstance(account, str) or account.lower() not in people:
        raise ForbiddenRequestError(
            f"personal_sign for {str(account)[:64]!r} refused: the dev wallet signs only for the accounts it lists"
        )
    try:
        text = bytes.fromhex(str(message).removeprefix("0x")).decode("utf-8")
    except ValueError:
        text = ""
    if is_permit_message(text, account):
        return
    if cfg.key_directory is None or text != encryption_key_message(cfg.chain_id, cfg.key_directory, account):
        raise ForbiddenRequestError(
            "personal_sign refused: the dev wallet signs only the message that derives the account's evidence key "
            "and the account's upload permit"
        )


def same_origin_only(request: web.Request, allowed_hosts: frozenset[str]) -> None:
    """Refuse a request addressed to a host name that is not the gateway's (DNS rebinding: a foreign name that
    resolves to this machine) or sent by a page of another origin."""
    host = request.host
    try:
        hostname = URL(f"http://{host}").host
    except ValueError:
        hostname = None
    if not hostname or hostname.lower().strip("[]") not in allowed_hosts:
        raise ForbiddenRequestError(
            f"Host {host[:80]!r} is not one of this gateway's names {sorted(allowed_hosts)}; "
            "set CLAIMS_ORACLE_ADAPTER_ALLOWED_HOSTS to serve the dev wallet under another name"
        )
    origin = request.headers.get("Origin")
    if origin is not None and origin not in (f"http://{host}", f"https://{host}"):
        raise ForbiddenRequestError(
            f"Origin {origin[:80]!r} is not this gateway's; the dev wallet serves its own dApp only"
        )


async def rpc_relay(request: web.Request) -> web.Response:
    """POST /rpc: forward the dApp's JSON-RPC calls to the dev chain so it can use the people's unlocked accounts."""
    cfg = request.app[DAPP_CONFIG]
    if cfg.rpc_upstream is None:
        raise NotFoundError("this gateway has no dev wallet; connect a browser wallet instead")
    same_origin_only(request, request.app[RPC_HOSTS])
    require_json_content_type(request)
    body = await read_limited(request, RPC_MAX_BODY_BYTES)
    payload = decode_json(body)
    calls = payload if isinstance(payload, list) else [payload]
    if not calls or len(calls) > RPC_MAX_BATCH:
        raise BadRequestError(f"a JSON-RPC batch holds 1 to {RPC_MAX_BATCH} calls, got {len(calls)}")
    people = frozenset(str(account["address"]).lower() for account in cfg.dev_accounts)
    for call in calls:  # a refusal is logged in one line by the error middleware
        check_rpc_call(call, people, cfg)
    async with request.app[HTTP].post(
        cfg.rpc_upstream,
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=aiohttp.ClientTimeout(total=RPC_TIMEOUT_S),
    ) as response:
        answer = await response.read()
        return web.Response(body=answer, status=response.status, content_type="application/json")


def register_dapp_routes(app: web.Application, dapp: DappConfig) -> None:
    """Serve the dApp and its API from the adapter/gateway app."""
    app[DAPP_CONFIG] = dapp
    app[ABIS] = contract_abis()
    settings = app[SETTINGS]
    names = (*settings.adapter_allowed_hosts, settings.adapter_host)
    app[RPC_HOSTS] = frozenset(h.lower().strip("[]") for h in names) - {"0.0.0.0", "::"}  # wildcards name no host
    app.router.add_get("/", index, name="dapp")
    app.router.add_get("/app/{name}", asset, name="dapp_asset")
    app.router.add_get("/vendor/ethers.js", ethers_module, name="ethers")
    app.router.add_get("/api/config", config, name="dapp_config")
    app.router.add_post("/api/evidence", make_evidence, name="evidence")
    app.router.add_post("/api/terms", upload_terms, name="terms")
    app.router.add_get("/api/places", places, name="places")
    app.cleanup_ctx.append(warm_gazetteer)
    app.router.add_post("/api/claims/{claim_id}/verify", verify, name="verify")
    app.router.add_post("/rpc", rpc_relay, name="rpc")
