"""The aiohttp app: the Chainlink bridge endpoint, health, and the content gateway for explanations and photos."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web
from yarl import URL

from oracle.adapter.cache import SingleFlightCache
from oracle.adapter.claims import (
    CLAIMS,
    ChainNotConfiguredError,
    ChainUnavailableError,
    ClaimNotOnChainError,
    ClaimSource,
)
from oracle.adapter.http import (
    ForbiddenRequestError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
    decode_json,
    read_limited,
)
from oracle.adapter.schema import BridgeRequest, ClaimRequestData, job_run_id, parse_bridge_request
from oracle.adapter.signatures import register_signature_routes
from oracle.adapter.uploads import (
    UploadForbiddenError,
    UploadPermitRequiredError,
    UploadQuotaError,
    register_upload_routes,
)
from oracle.assess import Claim
from oracle.cas.cid import InvalidCidError, is_cid
from oracle.cas.ipfs import FETCH_TIMEOUT_S, IpfsContentStore
from oracle.cas.store import (
    BlobTooLargeError,
    ContentIntegrityError,
    ContentNotFoundError,
    ContentStore,
    ContentStoreError,
)
from oracle.chain.report import report_deadline
from oracle.claim.assessor import ClaimAssessor
from oracle.claim.batch import ClaimOutcome
from oracle.claim.context import ClaimContextError
from oracle.claim.model import ModelUnavailableError, model_id
from oracle.claim.replay import ExplanationNotFoundError
from oracle.domain import Decision
from oracle.encoding import MAX_JSON_DEPTH, json_depth
from oracle.explain.canonical import CanonicalJSONError, hex0x, parse_canonical
from oracle.explain.evidence import EvidenceError
from oracle.settings import Settings
from oracle.sources.open_meteo import UpstreamError
from oracle.sources.terms import TermsError
from oracle.vision.images import ImageError
from oracle.wire.fields import BadRequestError

log = logging.getLogger(__name__)

BRIDGE_MAX_BODY_BYTES = 64 * 1024
"""A bridge request carries claim facts and hashes only; photos travel through the content store."""
IMMUTABLE = "public, max-age=31536000, immutable"
PATCH_ATTEMPTS = 3
MAX_PENDING_CALLBACKS = 256
"""Async answers waiting to be delivered; past it, async requests are shed like uncached assessments."""
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
"""What the content, API and error responses allow a browser to do with them: nothing (no scripts, no framing)."""
_KECCAK = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")
ANNOUNCE_MAX_BODY_BYTES = 8 * 1024
MAX_ANNOUNCED = 32
"""Content ids one announcement may name: an explanation and a heat map per photo fit with room."""
MAX_ANNOUNCED_BYTES = 4 * 1024 * 1024
"""The largest announced document the gateway fetches and pins (explanations and heat maps are far smaller)."""
ANNOUNCE_CONCURRENCY = 2
ANNOUNCE_FETCH_WORKERS = 8
"""Threads of the gateway's own that fetch announced ids. Anyone may announce, and an unknown id holds its thread up
to FETCH_TIMEOUT_S; on the shared default pool (a handful of threads) a flood of them stalled every other request."""
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_EXPLANATION_WAIT_S = 30
"""The longest GET /explanations/{hash}?wait=S holds a request for a document that has not arrived yet (a decision's
explanation reaches the gateway a moment after the decision): the dApp asks once instead of polling through 404s."""
EXPLANATION_WAITERS = 64
"""Requests that may wait for an explanation at once; past that one is answered at once, as without `wait`."""
EXPLANATION_WAIT_POLL_S = 0.25


class NotFoundError(LookupError):
    """The requested content or explanation is not in the store."""


class OverloadedError(RuntimeError):
    """The bridge's queue of uncached assessments is full; the caller should retry after `retry_after_s`."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


@dataclass
class Limiter:
    """The bound on concurrent assessments, with counters that show it holding."""

    limit: int
    max_waiting: int = 8
    semaphore: asyncio.Semaphore = field(init=False)
    in_flight: int = 0
    peak: int = 0
    waiting: int = 0
    reading: int = 0
    shed: int = 0

    @property
    def max_reading(self) -> int:
        """Claims read from the chain at once before a request is shed: as many as may run or wait to run. Without
        this bound every request, the shed ones too, first read its claim on the shared thread pool, and at 100
        clients those reads queued behind each other without end (p95 13 s at 100 clients against 3.7 s at 20)."""
        return self.limit + self.max_waiting

    def __post_init__(self) -> None:
        self.semaphore = asyncio.Semaphore(self.limit)


ANNOUNCING = web.AppKey("announcing", asyncio.Semaphore)
EXPLAINING = web.AppKey("explaining", asyncio.Semaphore)
ANNOUNCE_POOL = web.AppKey("announce_pool", ThreadPoolExecutor)
SETTINGS = web.AppKey("settings", Settings)
ASSESSOR = web.AppKey("assessor", ClaimAssessor)
STORE = web.AppKey("store", ContentStore)
CACHE = web.AppKey("cache", SingleFlightCache)
LIMITER = web.AppKey("limiter", Limiter)
HTTP = web.AppKey("http", aiohttp.ClientSession)
BACKGROUND: web.AppKey[set[asyncio.Task[None]]] = web.AppKey("background", set)
CALLBACKS = web.AppKey("callbacks", aiohttp.ClientSession)

# Domain errors and the HTTP status each one means; the first match wins, so subclasses come first.
ERROR_STATUS: tuple[tuple[type[BaseException], int], ...] = (
    (PayloadTooLargeError, 413),
    (BlobTooLargeError, 413),
    (UploadPermitRequiredError, 401),
    (UploadForbiddenError, 403),
    (ForbiddenRequestError, 403),
    (UploadQuotaError, 429),
    (UnsupportedMediaTypeError, 415),
    (BadRequestError, 400),
    (InvalidCidError, 400),
    (EvidenceError, 400),
    (ImageError, 400),
    (ClaimContextError, 400),
    (TermsError, 400),
    (UpstreamError, 502),
    (ChainUnavailableError, 502),
    (ClaimNotOnChainError, 404),
    (ChainNotConfiguredError, 503),
    (ContentNotFoundError, 404),
    (NotFoundError, 404),
    (ExplanationNotFoundError, 404),
    (ModelUnavailableError, 503),
    (OverloadedError, 503),
    (ContentIntegrityError, 500),
    (ContentStoreError, 502),
)


def classify(exc: BaseException) -> tuple[int, str, str]:
    """Map an exception to (HTTP status, error name, message) for people; unknown errors are a 500."""
    if isinstance(exc, web.HTTPException):
        return exc.status, type(exc).__name__, exc.text or exc.reason
    for kind, status in ERROR_STATUS:
        if isinstance(exc, kind):
            return status, type(exc).__name__, str(exc)
    return 500, "InternalError", "the gateway failed unexpectedly; its log has the details"


def bridge_error(job_id: object, status: int, name: str, message: str) -> dict:
    """The Chainlink bridge error body."""
    return {"jobRunID": job_id, "status": "errored", "statusCode": status, "error": {"name": name, "message": message}}


@web.middleware
async def error_middleware(request: web.Request, handler) -> web.StreamResponse:
    """Turn domain errors into JSON errors with the right status: bridge format on POST /, plain elsewhere."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        failure: BaseException = exc
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - the one place every error becomes an HTTP answer
        failure = exc
    status, name, message = classify(failure)
    if status >= 500 and name == "InternalError":
        log.exception("unexpected error on %s %s", request.method, request.path[:200], exc_info=failure)
    else:  # one line, no traceback: the answer already says what was wrong
        log.log(
            logging.WARNING if status >= 500 else logging.INFO,
            "%s %s -> %d %s: %s",
            request.method,
            request.path[:200],
            status,
            name,
            " ".join(message[:300].split()),
        )
    retry_after = getattr(failure, "retry_after_s", None)  # shed load (503) and quotas (429) say when to come back
    headers = {"Retry-After": str(retry_after)} if isinstance(retry_after, int) else None
    body = bridge_error(request.get("bridge_job"), status, name, message)
    return web.json_response(body, status=status, headers=headers)


def base_url(request: web.Request) -> str:
    """The scheme and host this request reached the adapter at, for links back to the gateway."""
    return f"{request.scheme}://{request.host}"


def success_body(job_id: object, claim: Claim, outcome: ClaimOutcome, epoch: int, base: str) -> dict:
    """The Chainlink bridge success body; result is the explanationHash, payout a decimal string (uint256)."""
    explanation_hash = hex0x(outcome.explanation_hash)
    data = {
        "claimId": str(claim.claim_id),
        "decision": outcome.decision,
        "decisionName": Decision(outcome.decision).name,
        "payout": str(outcome.payout),
        "confidence": outcome.confidence_bps,
        "explanationHash": explanation_hash,
        "modelHash": hex0x(outcome.model_hash),
        "evidenceRoot": hex0x(claim.evidence_root),
        "termsHash": hex0x(claim.terms_hash),
        "epoch": str(epoch),
        "reportDeadline": str(report_deadline(claim.submitted_at)),
        "explanationCid": outcome.explanation_cid,
        "explanationURI": f"ipfs://{outcome.explanation_cid}",
        "explanationURL": f"{base}/content/{outcome.explanation_cid}",
        "result": explanation_hash,
    }
    return {"jobRunID": job_id, "data": data, "result": explanation_hash, "statusCode": 200}


async def read_claim(app: web.Application, data: ClaimRequestData) -> Claim:
    """The claim a bridge request names, as the chain records it; the request supplies its id and nothing else."""
    source = app.get(CLAIMS)
    if source is None:
        raise ChainNotConfiguredError(
            "this gateway reads each claim from the chain and has no contract to read from: set "
            "CLAIMS_ORACLE_CONTRACT_ADDRESS and CLAIMS_ORACLE_RPC_URL"
        )
    limiter = app[LIMITER]
    busy = limiter.in_flight + limiter.waiting + limiter.reading >= limiter.limit + limiter.max_waiting
    # a claim already assessed or being assessed joins its answer; any other is shed before its chain read when
    # the queue is full, so shed requests cost no reading (at 100 clients they took a third of the throughput)
    known = busy and app[CACHE].any_key(lambda key: isinstance(key, tuple) and key[2:3] == (data.claimId,))
    if limiter.reading >= limiter.max_reading or (busy and not known):
        raise shed(
            limiter, f"{limiter.reading} claims are being read from the chain and {limiter.waiting} assessments wait"
        )
    limiter.reading += 1
    try:
        chain_id = await asyncio.to_thread(lambda: source.chain_id)
        if data.chainId is not None and data.chainId != chain_id:
            raise BadRequestError(f"data.chainId {data.chainId} is not this gateway's chain {chain_id}")
        if data.contract is not None and data.contract.lower() != source.contract.lower():
            raise BadRequestError(
                f"data.contract {data.contract} is not this gateway's ClaimsManager {source.contract}"
            )
        return await asyncio.to_thread(source.claim, data.claimId)
    finally:
        limiter.reading -= 1


async def report_epoch(app: web.Application, claim: Claim) -> int:
    """The committee epoch a report on `claim` must name, read from the chain as the answer is made."""
    return await asyncio.to_thread(app[CLAIMS].report_epoch, claim.claim_id)


def shed(limiter: Limiter, what: str) -> OverloadedError:
    """Count a shed request and return the 503 that says why and when to retry."""
    limiter.shed += 1
    return OverloadedError(
        f"the bridge is busy: {what} (CLAIMS_ORACLE_ADAPTER_MAX_QUEUE={limiter.max_waiting}); retry later",
        retry_after_s=max(1, -(-(limiter.waiting + 1) // limiter.limit)),
    )


async def decide(app: web.Application, claim: Claim) -> ClaimOutcome:
    """Assess a claim once per (chain, contract, claimId, evidenceRoot), within the concurrency bound."""
    limiter, assessor = app[LIMITER], app[ASSESSOR]

    async def compute() -> ClaimOutcome:
        if limiter.semaphore.locked() and limiter.waiting >= limiter.max_waiting:
            raise shed(limiter, f"{limiter.in_flight} assessments run and {limiter.waiting} wait")
        limiter.waiting += 1
        try:
            await limiter.semaphore.acquire()
        finally:
            limiter.waiting -= 1
        try:
            limiter.in_flight += 1
            limiter.peak = max(limiter.peak, limiter.in_flight)
            return await assessor.assess(claim)
        finally:
            limiter.in_flight -= 1
            limiter.semaphore.release()

    return await app[CACHE].get(claim.key, compute)


async def bridge(request: web.Request) -> web.Response:
    """POST /: the Chainlink bridge; answers the decision at once, or {"pending": true} and PATCHes it later."""
    request["bridge_job"] = None
    body = decode_json(await read_limited(request, BRIDGE_MAX_BODY_BYTES))
    request["bridge_job"] = job_run_id(body)
    parsed = parse_bridge_request(body)
    app = request.app
    if parsed.wants_async:
        if not parsed.responseURL:
            raise BadRequestError("async mode needs responseURL, the URL to PATCH the result to")
        check_callback(app[SETTINGS], parsed.responseURL)
        if len(app[BACKGROUND]) >= MAX_PENDING_CALLBACKS:
            raise OverloadedError(f"{len(app[BACKGROUND])} async answers are waiting to be delivered; retry later", 5)
        task = asyncio.create_task(complete_async(app, parsed, base_url(request), parsed.responseURL))
        app[BACKGROUND].add(task)
        task.add_done_callback(app[BACKGROUND].discard)
        return web.json_response({"pending": True})
    claim = await read_claim(app, parsed.data)
    outcome = await decide(app, claim)
    epoch = await report_epoch(app, claim)
    return web.json_response(success_body(parsed.id, claim, outcome, epoch, base_url(request)))


async def complete_async(app: web.Application, request: BridgeRequest, base: str, response_url: str) -> None:
    """Assess in the background and PATCH `response_url` (the request's responseURL) with {"value": <success body
    as JSON text>} or {"error"}."""
    try:
        claim = await read_claim(app, request.data)
        outcome = await decide(app, claim)
        epoch = await report_epoch(app, claim)
        body = success_body(request.id, claim, outcome, epoch, base)
        payload = {"value": json.dumps(body, separators=(",", ":"))}
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - every failure goes back to the node as an error
        status, name, message = classify(exc)
        if name == "InternalError":
            log.exception("async claim %s failed", request.data.claimId)
        payload = {"error": f"{name} ({status}): {message}"}
    session = app[CALLBACKS]
    for attempt in range(1, PATCH_ATTEMPTS + 1):
        try:
            async with session.patch(response_url, json=payload, allow_redirects=False) as response:
                if response.status < 500:
                    if response.status >= 400:
                        log.warning("responseURL %s refused the result: HTTP %s", response_url, response.status)
                    return
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.warning("PATCH %s failed (attempt %d): %s", response_url, attempt, exc)
        await asyncio.sleep(0.2 * attempt)
    log.error("gave up delivering claim %s to %s", request.data.claimId, response_url)


def check_callback(settings: Settings, url: str) -> None:
    """Refuse a responseURL whose host is not a configured callback host (the Chainlink node), so nobody can have
    the gateway send requests to any address it can reach."""
    try:
        target = URL(url)
        host, port = (target.host or "").lower(), target.port
    except ValueError:
        host, port = "", None
    allowed = {h.lower() for h in settings.adapter_callback_hosts}
    if not host or (host not in allowed and f"{host}:{port}" not in allowed):
        raise BadRequestError(
            f"responseURL host {host or url[:80]!r} is not a callback host of this gateway "
            f"(CLAIMS_ORACLE_ADAPTER_CALLBACK_HOSTS={sorted(allowed)}); ask synchronously or configure the "
            "Chainlink node's host"
        )


async def health(request: web.Request) -> web.Response:
    """GET /health: whether a model is loaded (and which), the store, and the concurrency and cache counters."""
    app = request.app
    assessor, limiter, cache = app[ASSESSOR], app[LIMITER], app[CACHE]
    model, model_hash = assessor.model, assessor.model_hash  # both None without a model
    ok = model is not None
    body = {
        "ok": ok,
        "model": (
            None if model is None or model_hash is None else {"id": model_id(model), "sha256": hex0x(model_hash)}
        ),
        "store": repr(app[STORE]),
        "codeVersion": assessor.code_version,
        "maxConcurrency": limiter.limit,
        "inFlight": limiter.in_flight,
        "peakInFlight": limiter.peak,
        "waiting": limiter.waiting,
        "reading": limiter.reading,
        "maxQueue": limiter.max_waiting,
        "shed": limiter.shed,
        "cache": {"entries": len(cache), "hits": cache.hits, "computations": cache.computations},
    }
    if not ok:
        body["reason"] = "no damage model is loaded; claims cannot be assessed (the content gateway still works)"
    return web.json_response(body, status=200 if ok else 503)


def content_type(data: bytes) -> str:
    """Guess the media type of stored bytes from their first bytes (JSON, PNG, JPEG, WebP, else binary)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:1] in (b"{", b"[") and json_depth(data) <= MAX_JSON_DEPTH:  # deeper text could crash the parser
        try:
            json.loads(data)
            return "application/json"
        except (ValueError, RecursionError):
            pass
    return "application/octet-stream"


def immutable_response(request: web.Request, cid: str, data: bytes) -> web.Response:
    """Serve verified content-addressed bytes with their type and headers that let caches keep them for ever."""
    etag = f'"{cid}"'
    headers = {"Cache-Control": IMMUTABLE, "ETag": etag, "X-Content-Cid": cid, "X-Content-Type-Options": "nosniff"}
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers=headers)
    kind = content_type(data)
    return web.Response(
        body=data, content_type=kind, charset="utf-8" if kind == "application/json" else None, headers=headers
    )


async def get_content(request: web.Request) -> web.Response:
    """GET /content/{cid}: the bytes for a content id, re-hashed on every read."""
    cid = request.match_info["cid"]
    if not is_cid(cid):
        raise BadRequestError(f"{cid!r} is not a content id (CIDv1, raw or dag-pb, sha2-256, base32 'b...')")
    data = await asyncio.to_thread(request.app[STORE].get, cid)
    return immutable_response(request, cid, data)


async def get_explanation(request: web.Request) -> web.Response:
    """GET /explanations/{hash}?wait=S: the explanation whose keccak256 is the on-chain explanationHash, waiting up
    to S seconds (at most MAX_EXPLANATION_WAIT_S) for one that has not reached the store yet."""
    text = request.match_info["hash"]
    if not _KECCAK.match(text):
        raise BadRequestError(f"{text!r} is not a keccak256 hash (0x followed by 64 hex digits)")
    store, h = request.app[STORE], bytes.fromhex(text.removeprefix("0x"))
    text_wait = request.query.get("wait", "0")
    if not (text_wait.isascii() and text_wait.isdecimal()) or len(text_wait) > 6:
        raise BadRequestError("wait: a whole number of seconds")
    wait = min(int(text_wait), MAX_EXPLANATION_WAIT_S)
    cid = await asyncio.to_thread(store.cid_for_keccak, h)
    waiters = request.app[EXPLAINING]
    if cid is None and wait and not waiters.locked():
        async with waiters:  # a bounded number wait, each asking the store again every EXPLANATION_WAIT_POLL_S
            deadline = asyncio.get_running_loop().time() + wait
            while cid is None and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(EXPLANATION_WAIT_POLL_S)
                cid = await asyncio.to_thread(store.cid_for_keccak, h)
    if cid is None:
        raise NotFoundError(f"no explanation with keccak256 {text.lower()} is in the content store")
    data = await asyncio.to_thread(store.get, cid)
    return immutable_response(request, cid, data)


def _keccak_param(text: str) -> bytes:
    if not _KECCAK.match(text):
        raise BadRequestError(f"{text[:80]!r} is not a keccak256 hash (0x followed by 64 hex digits)")
    return bytes.fromhex(text.removeprefix("0x"))


async def get_cid(request: web.Request) -> web.Response:
    """GET /cids/{hash}: the content id of stored content whose keccak256 is hash (callers verify the bytes)."""
    h = _keccak_param(request.match_info["hash"])
    cid = await asyncio.to_thread(request.app[STORE].cid_for_keccak, h)
    if cid is None:
        raise NotFoundError(f"no content with keccak256 0x{h.hex()} is in the content store")
    return web.json_response({"cid": cid, "keccak256": hex0x(h)})


def _well_formed(data: bytes) -> str | None:
    """Why announced bytes are refused (None when they are a PNG image or a canonical JSON document)."""
    if data.startswith(PNG_MAGIC):
        return None
    try:
        parse_canonical(data)
    except CanonicalJSONError as exc:
        return f"neither a PNG image nor a canonical JSON document ({exc})"
    return None


def _fetch_announced(store: IpfsContentStore, cid: str) -> bytes | str:
    """Fetch announced content over IPFS, verified by its id; answer the bytes, or why they cannot be had."""
    try:
        return store.fetch(cid, pin=False, index=False, max_bytes=MAX_ANNOUNCED_BYTES, timeout_s=FETCH_TIMEOUT_S)
    except ContentStoreError as exc:
        return str(exc)


def _heat_maps_named(data: bytes) -> set[str]:
    """The heat-map ids an explanation document names (sealed heat maps are ciphertext, taken for its sake)."""
    try:
        doc = parse_canonical(data)
    except CanonicalJSONError:
        return set()
    findings = doc.get("findings") if isinstance(doc, dict) else None
    if not isinstance(findings, list):
        return set()
    return {f["heatmapCid"] for f in findings if isinstance(f, dict) and is_cid(f.get("heatmapCid"))}


def _take_announced(store: IpfsContentStore, fetched: dict[str, bytes | str]) -> dict[str, str | None]:
    """Pin and index what an announcement named: PNG images, canonical JSON documents, and the sealed heat maps
    an announced explanation names; answer, per id, why it was refused (None when taken)."""
    named: set[str] = set()
    for data in fetched.values():
        if isinstance(data, bytes):
            named |= _heat_maps_named(data)
    reasons: dict[str, str | None] = {}
    for cid, data in fetched.items():
        if isinstance(data, str):
            reasons[cid] = data
            continue
        reasons[cid] = None if cid in named else _well_formed(data)
        if reasons[cid] is None:
            store.pin(cid)
            store.index.add(data, cid)
    return reasons


async def announce_content(request: web.Request) -> web.Response:
    """POST /content/announce {"cids": [...]}: a node tells the gateway about documents its IPFS peer holds; the
    gateway fetches each over IPFS, verifies it by CID, and pins and indexes it if it is a PNG, canonical JSON, or a
    sealed heat map that an explanation announced with it names."""
    store = request.app[STORE]
    if not isinstance(store, IpfsContentStore):
        raise NotFoundError("this gateway's content store is not on IPFS; there is nothing to announce to")
    body = decode_json(await read_limited(request, ANNOUNCE_MAX_BODY_BYTES))
    cids = body.get("cids") if isinstance(body, dict) else None
    if not isinstance(cids, list) or not cids or len(cids) > MAX_ANNOUNCED:
        raise BadRequestError(f'body must be {{"cids": [...]}} with 1..{MAX_ANNOUNCED} content ids')
    for cid in cids:
        if not is_cid(cid):
            raise BadRequestError(f"{str(cid)[:80]!r} is not a content id (CIDv1, raw or dag-pb, sha2-256, base32)")
    unique = list(dict.fromkeys(cids))
    loop, pool = asyncio.get_running_loop(), request.app[ANNOUNCE_POOL]  # never the threads other requests need
    async with request.app[ANNOUNCING]:  # a few announcements at a time, each fetching its documents side by side
        fetched = await asyncio.gather(*(loop.run_in_executor(pool, _fetch_announced, store, cid) for cid in unique))
        reasons = await loop.run_in_executor(pool, _take_announced, store, dict(zip(unique, fetched, strict=True)))
    refused = [{"cid": cid, "reason": reason} for cid, reason in reasons.items() if reason]
    accepted = [cid for cid, reason in reasons.items() if not reason]
    return web.json_response({"accepted": accepted, "refused": refused})


async def http_session(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: the client session for the dev-wallet relay, and a bounded one of its own for async
    PATCHes to the callback hosts (so slow callbacks cannot starve anything else); on shutdown, finish background
    work first."""
    settings = app[SETTINGS]
    app[HTTP] = aiohttp.ClientSession()
    timeout_s = settings.adapter_callback_timeout_s
    app[CALLBACKS] = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=settings.adapter_callback_pool),
        timeout=aiohttp.ClientTimeout(total=timeout_s, connect=min(timeout_s, 3.0)),
    )
    yield
    background = app[BACKGROUND]
    for task in list(background):
        task.cancel()
    await asyncio.gather(*background, return_exceptions=True)
    await app[CACHE].close()
    app[ANNOUNCE_POOL].shutdown(wait=False, cancel_futures=True)
    await app[HTTP].close()
    await app[CALLBACKS].close()


async def default_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Every response not setting its own (the dApp's pages do) gets a CSP that allows nothing, and nosniff."""
    response.headers.setdefault("Content-Security-Policy", API_CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")


def create_app(
    settings: Settings,
    assessor: ClaimAssessor,
    store: ContentStore,
    *,
    claims: ClaimSource | None = None,
    cache_entries: int = 4096,
) -> web.Application:
    """Build the adapter and gateway app around an assessor and a content store; the bridge assesses the claims
    `claims` reads from the chain (without it the bridge answers 503 and the gateway still serves content)."""
    app = web.Application(
        middlewares=[error_middleware],
        client_max_size=max(settings.adapter_max_body_bytes, BRIDGE_MAX_BODY_BYTES),
    )
    app[SETTINGS] = settings
    app[ASSESSOR] = assessor
    app[STORE] = store
    app[CACHE] = SingleFlightCache(cache_entries)
    app[LIMITER] = Limiter(settings.adapter_max_concurrency, settings.adapter_max_queue)
    app[BACKGROUND] = set()
    app[ANNOUNCING] = asyncio.Semaphore(ANNOUNCE_CONCURRENCY)
    app[EXPLAINING] = asyncio.Semaphore(EXPLANATION_WAITERS)
    app[ANNOUNCE_POOL] = ThreadPoolExecutor(max_workers=ANNOUNCE_FETCH_WORKERS, thread_name_prefix="announced")
    if claims is not None:
        app[CLAIMS] = claims
    app.cleanup_ctx.append(http_session)
    app.on_response_prepare.append(default_headers)
    app.router.add_post("/", bridge, name="bridge")
    app.router.add_get("/health", health, name="health")
    app.router.add_get("/content/{cid}", get_content, name="content")
    app.router.add_get("/explanations/{hash}", get_explanation, name="explanation")
    app.router.add_get("/cids/{hash}", get_cid, name="cid")
    app.router.add_post("/content/announce", announce_content, name="announce")
    register_signature_routes(app, claims)
    register_upload_routes(app, settings, store, claims)
    return app
