"""Uploads belong to someone: permits signed by policy holders (or insurers, for evidence), quotas per address, and
a sweeper that deletes the uploads no claim references once they are older than a TTL. The content store keeps its
put/get/has interface; all of this sits in front of it, in the gateway."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from eth_account import Account
from eth_account.messages import defunct_hash_message, encode_defunct
from eth_utils import keccak, to_checksum_address

from oracle.adapter.claims import ChainNotConfiguredError, ClaimSource
from oracle.adapter.http import ForbiddenRequestError, read_limited
from oracle.cas.cid import is_cid
from oracle.cas.store import ContentNotFoundError, ContentStore
from oracle.cas.unixfs import cid_for_bytes
from oracle.explain.canonical import hex0x
from oracle.settings import Settings
from oracle.wire.fields import BadRequestError

log = logging.getLogger(__name__)

PERMIT_HEADER = "X-Upload-Permit"
"""The request header carrying an upload permit: base64url of {"origin", "address", "expires", "signature"}."""
PERMIT_TITLE = "Claims oracle upload permit"
MAX_PERMIT_LIFETIME_S = 24 * 3600
"""The longest a permit may run: a stolen permit is good for a day at most."""
DEFAULT_PERMIT_LIFETIME_S = 12 * 3600
"""What /permits/message offers: one signature covers a working session."""
MAX_PERMIT_HEADER_BYTES = 4096
MAX_SIGNATURE_BYTES = 1024
"""An EOA signature is 65 bytes; a contract (EIP-1271) may want more, but not more than this."""
PERMIT_CACHE_S = 60.0
"""How long a checked permit (signature and policy) is trusted before the chain is asked again."""
PERMIT_CACHE_ENTRIES = 4096
MAX_REFERENCE_DOC_BYTES = 64 * 1024
"""Largest manifest or ERC-1497 evidence document the sweeper reads to find what it references."""


class UploadPermitRequiredError(PermissionError):
    """The upload carries no permit, or one that is malformed, expired or not signed by the address it names."""


class UploadForbiddenError(ForbiddenRequestError):
    """The permit is genuine but does not allow this upload: it names another gateway, or no policy holder."""


class UploadQuotaError(RuntimeError):
    """The address has used its upload quota; retry after `retry_after_s`."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


def permit_message(origin: str, address: str, expires: int) -> str:
    """The EIP-191 text a policy holder signs to upload to the gateway at `origin` until `expires` (unix time)."""
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(expires))
    return (
        f"{PERMIT_TITLE}\n"
        f"Gateway: {origin}\n"
        f"Address: {to_checksum_address(address)}\n"
        f"Expires: {expires} ({when})\n"
        "\n"
        "Lets this gateway store the photos and documents you upload for your claims. It moves no funds."
    )


def is_permit_message(text: str, address: str) -> bool:
    """Whether `text` is exactly an upload permit message for `address` (for any gateway and expiry), so a wallet
    relay can sign it and nothing else."""
    lines = text.split("\n")
    if len(lines) < 4 or lines[0] != PERMIT_TITLE or not lines[1].startswith("Gateway: "):
        return False
    expires = lines[3].removeprefix("Expires: ").split(" ", 1)[0]
    if not expires.isdigit() or len(expires) > 12:
        return False
    try:
        return text == permit_message(lines[1].removeprefix("Gateway: "), address, int(expires))
    except ValueError:
        return False


@dataclass(frozen=True)
class Permit:
    """A decoded upload permit."""

    origin: str
    address: str
    expires: int
    signature: bytes

    @property
    def message(self) -> str:
        """The text the signature must be over."""
        return permit_message(self.origin, self.address, self.expires)


def parse_permit(header: str | None) -> Permit:
    """Decode the permit header, raising UploadPermitRequiredError that says what is missing or wrong."""
    if not header:
        raise UploadPermitRequiredError(
            f"uploads need a permit signed by a policy holder: GET /permits/message?address=<your address>, sign "
            f"the message with your wallet (personal_sign), and send it in the {PERMIT_HEADER} header"
        )
    if len(header) > MAX_PERMIT_HEADER_BYTES:
        raise UploadPermitRequiredError(f"{PERMIT_HEADER} is over {MAX_PERMIT_HEADER_BYTES} bytes")
    try:
        fields = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    except (binascii.Error, ValueError, RecursionError):
        raise UploadPermitRequiredError(
            f"{PERMIT_HEADER} is not base64 of a JSON object {{origin, address, expires, signature}}"
        ) from None
    if not isinstance(fields, dict):
        raise UploadPermitRequiredError(f"{PERMIT_HEADER} must hold a JSON object {{origin, address, expires, ...}}")
    origin, address, expires, signature = (fields.get(k) for k in ("origin", "address", "expires", "signature"))
    if not isinstance(origin, str) or not 0 < len(origin) <= 256:
        raise UploadPermitRequiredError("permit origin must be the gateway's origin, e.g. https://gateway.example")
    try:
        checksummed = to_checksum_address(address) if isinstance(address, str) and len(address) == 42 else None
    except ValueError:
        checksummed = None
    if checksummed is None:
        raise UploadPermitRequiredError(f"permit address must be a 0x-prefixed 20-byte address: {str(address)[:60]!r}")
    if not isinstance(expires, int) or isinstance(expires, bool) or not 0 < expires < 2**40:
        raise UploadPermitRequiredError("permit expires must be a unix time in seconds")
    try:
        raw = bytes.fromhex(signature[2:]) if isinstance(signature, str) and signature.startswith("0x") else None
    except ValueError:
        raw = None
    if not raw or len(raw) > MAX_SIGNATURE_BYTES:
        raise UploadPermitRequiredError(f"permit signature must be 0x-hex of 1 to {MAX_SIGNATURE_BYTES} bytes")
    return Permit(origin, checksummed, expires, raw)


def encode_permit(origin: str, address: str, expires: int, signature: bytes) -> str:
    """The permit header value for a signature (what the dApp sends; tests and benchmarks use it too)."""
    fields = {"origin": origin, "address": to_checksum_address(address), "expires": expires}
    fields["signature"] = hex0x(signature)
    return base64.urlsafe_b64encode(json.dumps(fields).encode()).decode().rstrip("=")


def sign_permit(private_key: bytes | str, origin: str, expires: int) -> str:
    """A permit header signed with a private key (for scripts, tests and benchmarks; people sign in their wallet)."""
    account = Account.from_key(private_key)
    signed = Account.sign_message(encode_defunct(text=permit_message(origin, account.address, expires)), private_key)
    return encode_permit(origin, account.address, expires, bytes(signed.signature))


def gateway_origins(request: web.Request, settings: Settings) -> frozenset[str]:
    """The origins this gateway answers as: the configured public ones, else http://<each of its host names>:<the
    port this request reached>; a permit naming another origin was signed for another gateway."""
    if settings.adapter_public_origins:
        return frozenset(o.rstrip("/") for o in settings.adapter_public_origins)
    sockname = request.transport.get_extra_info("sockname") if request.transport is not None else None
    port = sockname[1] if isinstance(sockname, tuple) and len(sockname) >= 2 else settings.adapter_port
    names = {n.lower().strip("[]") for n in (*settings.adapter_allowed_hosts, settings.adapter_host)}
    names -= {"0.0.0.0", "::"}
    origins = set()
    for name in names:
        host = f"[{name}]" if ":" in name else name
        origins.add(f"http://{host}:{port}")
        if port == 80:
            origins.add(f"http://{host}")
    return frozenset(origins)


class UploadLedger:
    """Who uploaded what and when (SQLite): quotas per address, ownership of new content, references, a cursor."""

    def __init__(self, path: Path | str) -> None:
        """Open (or create) the ledger at `path` (":memory:" for one that lives with the process)."""
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.executescript(
                """
                PRAGMA journal_mode=WAL;
                CREATE TABLE IF NOT EXISTS upload_events (address TEXT, at REAL, bytes INTEGER);
                CREATE INDEX IF NOT EXISTS upload_events_by_address ON upload_events (address, at);
                CREATE TABLE IF NOT EXISTS owned (cid TEXT PRIMARY KEY, address TEXT, bytes INTEGER, at REAL,
                                                  referenced INTEGER DEFAULT 0);
                CREATE INDEX IF NOT EXISTS owned_pending ON owned (referenced, at);
                CREATE TABLE IF NOT EXISTS reference_cursor (id INTEGER PRIMARY KEY, block INTEGER);
                """
            )

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def usage(self, address: str, since: float) -> tuple[int, int, float | None]:
        """Uploads and bytes `address` sent since `since`, and when its oldest of them was."""
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(bytes), 0), MIN(at) FROM upload_events WHERE address = ? AND at >= ?",
                (address.lower(), since),
            ).fetchone()
        return int(row[0]), int(row[1]), row[2]

    def pending(self, address: str) -> int:
        """How many uploads `address` owns that no submitted claim references yet."""
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*) FROM owned WHERE address = ? AND referenced = 0", (address.lower(),)
            ).fetchone()
        return int(row[0])

    def record(self, address: str, cid: str, size: int, at: float, *, owned: bool) -> None:
        """Count an upload against `address`; `owned` when it brought new content into the store."""
        with self._lock:
            self._db.execute("INSERT INTO upload_events VALUES (?, ?, ?)", (address.lower(), at, size))
            if owned:
                self._db.execute(
                    "INSERT OR IGNORE INTO owned (cid, address, bytes, at) VALUES (?, ?, ?, ?)",
                    (cid, address.lower(), size, at),
                )

    def owner(self, cid: str) -> str | None:
        """The address that brought `cid` into the store through the gateway, if one did and it is still held."""
        with self._lock:
            row = self._db.execute("SELECT address FROM owned WHERE cid = ?", (cid,)).fetchone()
        return row[0] if row else None

    def mark_referenced(self, cids: Iterable[str]) -> int:
        """Mark content a submitted claim (or published evidence) references: it never expires; returns how many."""
        marked = 0
        with self._lock:
            for cid in set(cids):
                marked += self._db.execute(
                    "UPDATE owned SET referenced = 1 WHERE cid = ? AND referenced = 0", (cid,)
                ).rowcount
        return marked

    def expired(self, before: float, limit: int = 1000) -> list[str]:
        """Unreferenced uploads older than `before`, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT cid FROM owned WHERE referenced = 0 AND at < ? ORDER BY at LIMIT ?", (before, limit)
            ).fetchall()
        return [row[0] for row in rows]

    def forget(self, cids: Iterable[str]) -> None:
        """Drop deleted uploads from the ledger."""
        with self._lock:
            self._db.executemany("DELETE FROM owned WHERE cid = ?", [(cid,) for cid in cids])

    def prune(self, before: float) -> None:
        """Forget upload events older than `before` (outside every quota window)."""
        with self._lock:
            self._db.execute("DELETE FROM upload_events WHERE at < ?", (before,))

    def cursor(self) -> int:
        """The block the reference scan reads from next."""
        with self._lock:
            row = self._db.execute("SELECT block FROM reference_cursor WHERE id = 0").fetchone()
        return int(row[0]) if row else 0

    def set_cursor(self, block: int) -> None:
        """Remember where the reference scan got to."""
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO reference_cursor VALUES (0, ?)", (block,))


class UploadGate:
    """Checks permits and quotas for uploads, records them, and sweeps the unreferenced ones."""

    def __init__(
        self, settings: Settings, store: ContentStore, ledger: UploadLedger, claims: ClaimSource | None, clock=time.time
    ) -> None:
        """A gate in front of `store`, checking holders on `claims`' chain."""
        self.settings, self.store, self.ledger, self.claims, self.clock = settings, store, ledger, claims, clock
        self._checked: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self.swept = 0

    @property
    def pending_limit(self) -> int:
        """Unreferenced uploads one address may hold."""
        return self.settings.upload_open_claims * (self.settings.max_photos + 1)  # photos and a manifest a claim

    async def holder(self, request: web.Request) -> str:
        """The policy holder whose permit this request carries, after checking origin, expiry, signature (EOA or
        EIP-1271) and that the address holds a policy; raises 401, 403 or 503 errors."""
        header = request.headers.get(PERMIT_HEADER)
        now = self.clock()
        cached = self._checked.get(header or "")
        if cached is not None and cached[0] > now:
            return cached[1]
        permit = parse_permit(header)
        origins = gateway_origins(request, self.settings)
        if permit.origin.rstrip("/") not in origins:
            raise UploadForbiddenError(
                f"this permit was signed for the gateway at {permit.origin[:120]!r}, not this one "
                f"({', '.join(sorted(origins))}); sign a permit for this gateway"
            )
        if permit.expires <= now:
            raise UploadPermitRequiredError(
                f"this permit expired at {permit.expires} ({int(now - permit.expires)} s ago); sign a new one"
            )
        if permit.expires > now + MAX_PERMIT_LIFETIME_S:
            raise UploadPermitRequiredError(
                f"a permit may run at most {MAX_PERMIT_LIFETIME_S // 3600} hours; this one runs until {permit.expires}"
            )
        if self.claims is None:
            raise ChainNotConfiguredError(
                "this gateway accepts uploads from policy holders only and has no contract to check them against: "
                "set CLAIMS_ORACLE_CONTRACT_ADDRESS"
            )
        if not await self._signed_by(permit):
            raise UploadPermitRequiredError(
                f"the permit's signature is not {permit.address}'s over the permit message for this gateway "
                "(neither an EOA signature nor one its contract accepts under EIP-1271)"
            )
        if not await asyncio.to_thread(self.claims.holds_policy, permit.address) and not await asyncio.to_thread(
            self.claims.insures_product, permit.address
        ):
            raise UploadForbiddenError(
                f"{permit.address} holds no live policy and insures no product on ClaimsManager "
                f"{self.claims.contract}; uploads are for policy holders' claims and insurers' evidence"
            )
        self._checked[header or ""] = (min(now + PERMIT_CACHE_S, permit.expires), permit.address)
        while len(self._checked) > PERMIT_CACHE_ENTRIES:
            self._checked.popitem(last=False)
        return permit.address

    async def _signed_by(self, permit: Permit) -> bool:
        try:
            recovered = Account.recover_message(encode_defunct(text=permit.message), signature=permit.signature)
        except Exception:  # noqa: BLE001 - any malformed signature simply recovers nobody
            recovered = None
        if recovered is not None and recovered.lower() == permit.address.lower():
            return True
        assert self.claims is not None
        digest = defunct_hash_message(text=permit.message)
        accepted = await asyncio.to_thread(
            self.claims.contract_accepts_signature, permit.address, bytes(digest), permit.signature
        )
        return bool(accepted)

    def check_quota(self, address: str, incoming: int = 0) -> None:
        """Refuse (429) an upload of `incoming` bytes past the address's window or pending quota."""
        settings, now = self.settings, self.clock()
        window = settings.upload_window_s
        count, used, oldest = self.ledger.usage(address, now - window)
        retry = max(1, int((oldest or now) + window - now) + 1)
        if count >= settings.upload_quota_count:
            raise UploadQuotaError(
                f"{address} has made {count} uploads in the last {window:.0f} s, the most allowed "
                f"(CLAIMS_ORACLE_UPLOAD_QUOTA_COUNT={settings.upload_quota_count}); retry in {retry} s",
                retry,
            )
        if used + incoming > settings.upload_quota_bytes:
            raise UploadQuotaError(
                f"{address} has uploaded {used} bytes in the last {window:.0f} s; {incoming} more would pass the "
                f"quota of {settings.upload_quota_bytes} (CLAIMS_ORACLE_UPLOAD_QUOTA_BYTES); retry in {retry} s",
                retry,
            )
        pending = self.ledger.pending(address)
        if pending >= self.pending_limit:
            raise UploadQuotaError(
                f"{address} holds {pending} uploads that no submitted claim references yet, the most allowed "
                f"({settings.upload_open_claims} claims of {settings.max_photos} photos and a manifest, "
                "CLAIMS_ORACLE_UPLOAD_OPEN_CLAIMS); submit the claim they are for, or wait until they expire "
                f"({settings.upload_ttl_s:.0f} s after upload)",
                int(settings.upload_sweep_interval_s),
            )

    def put(self, address: str, data: bytes) -> str:
        """Store `data` for `address` and count it (blocking; run in a thread)."""
        self.check_quota(address, len(data))
        existed = self.store.has(cid_for_bytes(data))
        cid = self.store.put(data)
        self.ledger.record(address, cid, len(data), self.clock(), owned=not existed)
        return cid

    async def sweep(self) -> dict[str, int]:
        """Mark what newly submitted claims and published evidence reference, then delete the uploads that nothing
        references once older than the TTL; returns the counts."""
        referenced = 0
        if self.claims is not None:
            roots, uris, next_block = await asyncio.to_thread(self.claims.evidence_references, self.ledger.cursor())
            cids = await asyncio.to_thread(self._referenced_cids, roots, uris)
            referenced = await asyncio.to_thread(self.ledger.mark_referenced, cids)
            await asyncio.to_thread(self.ledger.set_cursor, next_block)
        now = self.clock()
        expired = await asyncio.to_thread(self.ledger.expired, now - self.settings.upload_ttl_s)
        deleted = await asyncio.to_thread(self._delete, expired)
        await asyncio.to_thread(self.ledger.prune, now - self.settings.upload_window_s)
        self.swept += deleted
        return {"referenced": referenced, "deleted": deleted}

    def _referenced_cids(self, roots: list[bytes], uris: list[str]) -> list[str]:
        """The content ids a list of evidence roots (manifest and its photos) and evidence URIs (document and its
        file) name."""
        cids: list[str] = []
        for root in roots:
            manifest = self.store.cid_for_keccak(root)
            if manifest is not None:
                cids.append(manifest)
                doc = self._small_json(manifest)
                photos = doc.get("photos") if isinstance(doc, dict) else None
                cids += [p["cid"] for p in photos or [] if isinstance(p, dict) and isinstance(p.get("cid"), str)]
        for uri in uris:
            cid = uri.removeprefix("ipfs://")
            if is_cid(cid):
                cids.append(cid)
                doc = self._small_json(cid)
                file_uri = doc.get("fileURI") if isinstance(doc, dict) else None
                if isinstance(file_uri, str) and is_cid(file_uri.removeprefix("ipfs://")):
                    cids.append(file_uri.removeprefix("ipfs://"))
        return cids

    def _small_json(self, cid: str) -> object:
        try:
            data = self.store.get(cid)
        except (ContentNotFoundError, ValueError):
            return None
        if len(data) > MAX_REFERENCE_DOC_BYTES:
            return None
        try:
            return json.loads(data)
        except (ValueError, RecursionError):
            return None

    def _delete(self, cids: list[str]) -> int:
        delete = getattr(self.store, "delete", None)
        if delete is None:
            return 0  # a store that cannot delete (a pinning service) keeps them; the ledger still bounds each owner
        for cid in cids:
            delete(cid)
        self.ledger.forget(cids)
        return len(cids)


UPLOADS = web.AppKey("uploads", UploadGate)


async def put_content(request: web.Request) -> web.Response:
    """POST /content: store one blob (a photo or a document) for a policy holder, answering its content id and
    keccak256; 401 without a valid permit, 403 for someone who holds no policy, 413 too large, 429 over quota."""
    gate = request.app[UPLOADS]
    address = await gate.holder(request)
    await asyncio.to_thread(gate.check_quota, address)
    settings = gate.settings
    data = await read_limited(request, min(settings.adapter_max_body_bytes, settings.max_blob_bytes))
    if not data:
        raise BadRequestError("upload is empty; send the file's bytes as the request body")
    cid = await asyncio.to_thread(gate.put, address, data)
    return web.json_response(
        {
            "cid": cid,
            "bytes": len(data),
            "keccak256": hex0x(keccak(data)),
            "url": f"{request.scheme}://{request.host}/content/{cid}",
            "owner": address,
        },
        status=201,
    )


async def get_permit_message(request: web.Request) -> web.Response:
    """GET /permits/message?address=0x...: the text to sign (personal_sign) for an upload permit at this gateway."""
    settings = request.app[UPLOADS].settings
    address = request.query.get("address", "")
    try:
        checksummed = to_checksum_address(address) if len(address) == 42 else None
    except ValueError:
        checksummed = None
    if checksummed is None:
        raise BadRequestError(f"address must be a 0x-prefixed 20-byte address, got {address[:60]!r}")
    origins = gateway_origins(request, settings)
    here = f"{request.scheme}://{request.host}"
    origin = here if here in origins else min(origins)
    expires = int(time.time()) + DEFAULT_PERMIT_LIFETIME_S
    return web.json_response(
        {
            "message": permit_message(origin, checksummed, expires),
            "origin": origin,
            "address": checksummed,
            "expires": expires,
            "header": PERMIT_HEADER,
        },
        headers={"Cache-Control": "no-store"},
    )


async def sweeper(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: sweep unreferenced uploads every upload_sweep_interval_s while the app runs."""
    gate = app[UPLOADS]

    async def loop() -> None:
        while True:
            await asyncio.sleep(gate.settings.upload_sweep_interval_s)
            try:
                counts = await gate.sweep()
                if counts["deleted"] or counts["referenced"]:
                    log.info("uploads: %(referenced)d newly referenced, %(deleted)d expired and deleted", counts)
            except Exception as exc:  # noqa: BLE001 - a failed sweep (chain down) is retried next time
                log.warning("uploads: sweep failed (%s: %s); retrying later", type(exc).__name__, str(exc)[:200])

    task = asyncio.create_task(loop())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    gate.ledger.close()


def register_upload_routes(app: web.Application, settings: Settings, store: ContentStore, claims: ClaimSource | None):
    """Serve permitted uploads and the permit message from `app`, with the ledger in the settings' state folder."""
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    app[UPLOADS] = UploadGate(settings, store, UploadLedger(settings.state_dir / "uploads.db"), claims)
    app.cleanup_ctx.append(sweeper)
    app.router.add_post("/content", put_content, name="upload")
    app.router.add_get("/permits/message", get_permit_message, name="permit_message")
