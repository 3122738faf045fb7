"""One oracle node: watch claims, assess each once, report once, and keep going through restarts and RPC outages."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from typing import Any

import requests
from eth_abi.exceptions import DecodingError
from web3.exceptions import Web3Exception

from oracle.assess import Claim
from oracle.cas.ipfs import IpfsContentStore, hold_prefix
from oracle.cas.store import ContentStoreError
from oracle.chain.contracts import ClaimsManagerClient
from oracle.chain.report import Report, report_deadline
from oracle.claim.assessor import ClaimAssessor
from oracle.claim.batch import ClaimBatch, ClaimOutcome
from oracle.claim.context import claim_from_chain
from oracle.claim.history import record_in_history
from oracle.db import ASSESSED, ASSESSING, DISCOVERED, DONE, FAILED, NOT_OURS, ORPHANED, SENDING, JobView, NodeStore
from oracle.domain import ClaimStatus
from oracle.node.aggregate import AggregateSubmitter, SignatureRelayClient
from oracle.node.metrics import NodeMetrics
from oracle.node.share import KeySharer
from oracle.node.signer import Signer
from oracle.node.submitter import MAX_FEE_CAP, REPLACE_SECONDS, TransactionSubmitter, VoteSubmitter
from oracle.node.watcher import ClaimWatcher, event_from_record
from oracle.settings import LOW_BALANCE_VOTES, NODE_BATCH_CLAIMS
from oracle.sources.records import SourceError

log = logging.getLogger(__name__)
RPC_ERRORS = (requests.exceptions.ConnectionError, requests.exceptions.Timeout, ConnectionError, TimeoutError)
# what is one claim's own problem: a failed attempt on it, never a reason to stop the node (a hostile insurer can
# name a terms document nobody holds; a claimant, evidence that does not check out)
CLAIM_ERRORS = (Web3Exception, ValueError, OSError, SourceError, ContentStoreError)
PIPELINE_BATCHES = 16  # batches one poll takes on at most, deciding one while the next is in the model
FULL_POLL_SECONDS = 5.0  # a full poll at least this often even without a new block (a reorg at the same height)
BALANCE_CHECK_SECONDS = 60.0  # how often the account's balance is read for the metrics and the low-balance warning
REVOTE_CHECK_SECONDS = 30.0  # how often the governor's MemberLeft events are read (a leave voids the votes cast)
FINALITY_CHECK_SECONDS = 600.0  # how often the claims whose evidence this member holds are checked for finality
SHARE_CHECK_SECONDS = 15.0  # how often new disputes are read for claims whose panel lacks the photos' key
FINALITY_CHECKS_PER_ROUND = 200  # claims read from the chain in one such check, at most

Loaded = tuple[list[tuple[JobView, Claim]], ClaimBatch | None, int]
"""A batch ready for the model: the live jobs with their claims, the loaded batch (None: none live), jobs orphaned."""


def outcome_record(outcome: ClaimOutcome) -> dict[str, Any]:
    """What the job row keeps of an outcome (the explanation itself lives in the content store)."""
    return {
        "decision": outcome.decision,
        "payout": str(outcome.payout),
        "confidence_bps": outcome.confidence_bps,
        "explanation_hash": outcome.explanation_hash.hex(),
        "explanation_cid": outcome.explanation_cid,
        "model_hash": outcome.model_hash.hex(),
    }


def report_for(claim_id: int, context: dict[str, Any], outcome: dict[str, Any], epoch: int) -> Report:
    """The on-chain report for a stored outcome and claim context, signed for the claim's rules `epoch`.

    Its deadline follows from the claim's submission time, so every member's report has the same digest."""
    return Report(
        claim_id,
        outcome["decision"],
        int(outcome["payout"]),
        outcome["confidence_bps"],
        bytes.fromhex(outcome["explanation_hash"]),
        bytes.fromhex(outcome["model_hash"]),
        bytes.fromhex(context["evidence_root"]),
        bytes.fromhex(context["terms_hash"]),
        epoch,
        report_deadline(int(context["submitted_at"])),
    )


class NotOurClaimError(Exception):
    """A claim of a product whose committee does not include this node."""


class OracleNode:
    """A committee member's loop: watch, assess, report; every step resumable from the database."""

    def __init__(
        self,
        client: ClaimsManagerClient,
        store: NodeStore,
        assessor: ClaimAssessor,
        signer: Signer,
        *,
        confirmations: int = 2,
        start_block: int = 0,
        poll_seconds: float = 1.0,
        max_failures: int = 20,
        report_mode: str = "vote",
        relay: SignatureRelayClient | None = None,
        fallback_seconds: float = 30.0,
        batch_claims: int = NODE_BATCH_CLAIMS,
        replace_after: float = REPLACE_SECONDS,
        max_fee_cap: int = MAX_FEE_CAP,
        metrics: NodeMetrics | None = None,
        sharer: KeySharer | None = None,
    ) -> None:
        """Assemble a node that votes or, in "aggregate" mode, signs through `relay`; see `Settings` for the rest.

        Up to `batch_claims` waiting claims are assessed together (one model call for all their photos); the node's
        health goes to `metrics` (by default a registry of its own that nothing serves); `sharer` shares the photos'
        key of this member's claims that reach an arbitration panel without it."""
        if report_mode not in ("vote", "aggregate"):
            raise ValueError(f"report mode must be 'vote' or 'aggregate', got {report_mode!r}")
        if report_mode == "aggregate" and relay is None:
            raise ValueError("report mode 'aggregate' needs a signature relay (CLAIMS_ORACLE_SIGNATURE_RELAY_URL)")
        if batch_claims < 1:
            raise ValueError(f"batch_claims must be at least 1, got {batch_claims}")
        self.client, self.store, self.assessor, self.signer = client, store, assessor, signer
        self.watcher = ClaimWatcher(client, store, confirmations=confirmations, start_block=start_block)
        self.submitter: TransactionSubmitter
        if report_mode == "aggregate":
            assert relay is not None  # refused above
            self.submitter = AggregateSubmitter(client, store, signer, relay, fallback_seconds=fallback_seconds)
        else:
            self.submitter = VoteSubmitter(client, store, signer, replace_after=replace_after, max_fee_cap=max_fee_cap)
        self.metrics = metrics or NodeMetrics(LOW_BALANCE_VOTES)
        self.submitter.on_mined = self.metrics.claims_voted.inc
        self._balance_due = 0.0  # when the balance is next read (0: at the next poll)
        self._finality_due = 0.0  # when held evidence is next checked for claims that became final
        self._revote_due = 0.0  # when the governor's MemberLeft events are next read
        self.sharer, self._share_due = sharer, 0.0  # when disputes are next read for keys to share
        # several workers of one node may share a PostgreSQL store: all assess the claims they take (take_jobs), the
        # one holding this lock also watches the chain and sends, so the nonces are handed out in one place
        self._leader_lock = f"claims-oracle node {client.chain_id} {client.address} {signer.address}"
        self._leading = False
        if not store.shared:  # the only worker: jobs a previous run took are waiting again
            store.release_jobs(client.chain_id, client.address)
        self.poll_seconds, self.max_failures, self.batch_claims = poll_seconds, max_failures, batch_claims
        self.chain_id = self.watcher.chain_id
        self._retry_at: dict[int, float] = {}  # claim id -> when a job whose last attempt failed may try again
        self._due = 0.0  # when a job can next move without a new block (0: now)
        self._sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="send")
        self.ready = asyncio.Event()  # set once the model has run once and the weather tables are parsed

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set; RPC outages are retried with back-off, a persistent failure halts the node.

        A poll that finds neither a new block nor a job ready to move costs one `eth_blockNumber`; after a poll
        that moved something the next one follows at once."""
        await asyncio.to_thread(self.assessor.warm)
        log.info("node %s ready", self.signer.address)
        self.ready.set()
        failures, last_head, last_full = 0, None, 0.0
        while not stop.is_set():
            moved = 0
            try:
                head = self.client.rpc("eth_blockNumber", [])
                now = time.monotonic()
                if head != last_head or now >= self._due or now - last_full >= FULL_POLL_SECONDS:
                    moved = await self.run_once()
                    last_head, last_full = head, now
                failures = 0
            except RPC_ERRORS as exc:
                failures += 1
                self.metrics.rpc_errors.inc()
                log.warning("RPC unavailable (%s); retry %d of %d", type(exc).__name__, failures, self.max_failures)
            if failures >= self.max_failures:
                raise RuntimeError(f"node {self.signer.address} stopped after {failures} consecutive RPC failures")
            delay = 0.0 if moved else self.poll_seconds * min(2**failures, 30)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay) if delay else await asyncio.sleep(0)

    async def run_once(self) -> int:
        """One poll: record new claims, then move open jobs on; returns the number of jobs moved.

        Waiting claims, oldest first, go through a pipeline in batches of `batch_claims`: while one batch is
        decided (rules, history, explanations stored), the next one's photos are in the model and the one after
        is read from the chain, and the votes of the one before are being sent. New claims join as long as some
        are waiting (up to PIPELINE_BATCHES batches a poll); votes of claims assessed before are sent alongside."""
        now = time.monotonic()
        resting = {claim_id for claim_id, at in self._retry_at.items() if at > now}
        self._leading = self.store.try_lead(self._leader_lock)
        if self._leading:
            self._poll()
        if now >= self._balance_due:
            self._balance_due = now + BALANCE_CHECK_SECONDS
            self._record_balance()
        if self._leading and now >= self._revote_due and isinstance(self.submitter, VoteSubmitter):
            self._revote_due = now + REVOTE_CHECK_SECONDS
            try:
                self.revote_after_leaves()
            except (Web3Exception, ValueError, DecodingError) as exc:  # e.g. no contract there yet; an outage raises
                log.warning("could not read the governor's MemberLeft events: %s", exc)
        if self._leading and now >= self._finality_due:
            self._finality_due = now + FINALITY_CHECK_SECONDS
            await asyncio.to_thread(self.release_final_evidence)
        if self._leading and self.sharer is not None and now >= self._share_due:
            self._share_due = now + SHARE_CHECK_SECONDS
            await asyncio.get_running_loop().run_in_executor(self._sender, self.share_keys)
        sendable = [
            job
            for job in (
                self.store.jobs(self.chain_id, self.client.address, (ASSESSED, SENDING)) if self._leading else []
            )
            if job.claim_id not in resting
        ]
        sends = [self._send(sendable)] if sendable else []
        moved = 0
        try:
            moved += await self._assess_waiting(resting, sends)
        finally:
            results = await asyncio.gather(*sends, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
            moved += result
        self._schedule()
        return moved

    def _take(
        self, taken: set[int], resting: set[int], poll: bool
    ) -> tuple[list[JobView], list[Claim | None | Exception]]:
        """The next batch of waiting claims not yet taken, with their chain reads (after a watcher poll)."""
        if poll and self._leading:
            self._poll()
        batch = self.store.take_jobs(self.chain_id, self.client.address, self.batch_claims, skip=resting)
        taken.update(job.claim_id for job in batch)
        return batch, self._contexts(batch) if batch else []

    async def _load(self, taken: set[int], resting: set[int], poll: bool) -> Loaded | None:
        """The next batch taken and loaded (chain reads, evidence, weather), ready for the model: (the live jobs
        with their contexts, the loaded batch or None, how many jobs were orphaned), or None when none waits."""
        batch, contexts = await asyncio.to_thread(self._take, taken, resting, poll)
        if not batch:
            return None
        live: list[tuple[JobView, Claim]] = []
        orphaned: list[tuple[int, str | None, dict[str, Any]]] = []
        for job, context in zip(batch, contexts, strict=True):  # one context per job
            if isinstance(context, NotOurClaimError):  # anyone can create a product: its claims cost us nothing
                orphaned.append((job.claim_id, ASSESSING, {"state": NOT_OURS, "error": str(context)}))
            elif isinstance(context, Exception):
                self._fail_or_raise(job, context)
            elif context is None:
                orphaned.append(
                    (
                        job.claim_id,
                        ASSESSING,
                        {"state": ORPHANED, "error": "claim not on chain with this evidence root"},
                    )
                )
            else:
                live.append((job, context))
        moved = (
            sum(await asyncio.to_thread(self.store.update_jobs, self.chain_id, self.client.address, orphaned))
            if orphaned
            else 0
        )
        loaded = await self.assessor.load_batch([context for _, context in live]) if live else None
        return live, loaded, moved

    async def _assess_waiting(self, resting: set[int], sends: list[asyncio.Future[int]]) -> int:
        """Run waiting claims through the pipeline (see run_once); returns how many jobs moved."""
        taken: set[int] = set()
        first = await self._load(taken, resting, False)
        if first is None:
            return 0
        # one batch decided while the next is in the model; an error of the producer; None: no more batches
        ready: asyncio.Queue[Loaded | Exception | None] = asyncio.Queue(maxsize=1)

        async def produce() -> None:
            upcoming: Loaded | None = first
            try:
                for count in range(PIPELINE_BATCHES):
                    if upcoming is None:
                        break
                    live, loaded, orphaned = upcoming
                    more = count + 1 < PIPELINE_BATCHES
                    following = asyncio.ensure_future(self._load(taken, resting, True)) if more else None
                    try:
                        if loaded is not None:
                            started = time.perf_counter()
                            await self.assessor.predict_batch(loaded)
                            log.info("model done for %d claim(s) in %.3f s", len(live), time.perf_counter() - started)
                    finally:
                        upcoming = await following if following is not None else None
                    await ready.put((live, loaded, orphaned))
            except Exception as exc:  # noqa: BLE001 - handed to the consumer below, which raises it
                await ready.put(exc)
            await ready.put(None)

        producer = asyncio.ensure_future(produce())
        moved = 0
        try:
            while (item := await ready.get()) is not None:
                if isinstance(item, Exception):
                    raise item
                moved += await self._conclude(*item, sends)
        finally:
            producer.cancel()
            await asyncio.gather(producer, return_exceptions=True)
        return moved

    async def _conclude(
        self,
        live: list[tuple[JobView, Claim]],
        prepared: ClaimBatch | None,
        orphaned: int,
        sends: list[asyncio.Future[int]],
    ) -> int:
        """Decide a prepared batch, record the outcomes (and the history) and queue the votes; returns moves."""
        if not live or prepared is None:  # a batch is loaded exactly when some of its claims are live
            return orphaned
        started = time.perf_counter()
        outcomes = await self.assessor.conclude_batch(
            prepared, record=lambda context, outcome: record_in_history(self.store, context, outcome)
        )
        changes: list[tuple[int, str | None, dict[str, Any]]] = []
        assessed: list[JobView] = []
        for (job, context), outcome in zip(live, outcomes, strict=True):  # one outcome per claim
            if isinstance(outcome, Exception):
                self._fail_or_raise(job, outcome)
                continue
            event = {**job.event, "context": _context_record(context)}
            record = outcome_record(outcome)
            changes.append(
                (
                    job.claim_id,
                    ASSESSING,
                    {"state": ASSESSED, "outcome": record, "event_json": json.dumps(event, sort_keys=True)},
                )
            )
            assessed.append(dataclasses.replace(job, state=ASSESSED, outcome=record, event=event))
        moved = orphaned
        if changes:
            written = await asyncio.to_thread(self.store.update_jobs, self.chain_id, self.client.address, changes)
            assessed = [job for job, ok in zip(assessed, written, strict=True) if ok]
            moved += len(assessed)
            self.metrics.claims_assessed.inc(len(assessed))
            if assessed and self._leading:  # the other workers' votes go out with the leader's next poll
                sends.append(self._send(assessed))
        log.info("decided %d claim(s) in %.3f s after the model", len(changes), time.perf_counter() - started)
        return moved

    def _poll(self) -> None:
        """Record new claims (the watcher's poll), counting them and the lag behind the head."""
        self.metrics.claims_seen.inc(len(self.watcher.poll()))
        cursor = self.store.cursor(self.chain_id, self.client.address)
        if self.watcher.head is not None:
            scanned = cursor[0] if cursor else self.watcher.start_block - 1
            self.metrics.head_lag.set(max(self.watcher.head - scanned, 0))

    def revote_after_leaves(self) -> int:
        """Vote again on claims whose votes a member's leaving voided (the contract then counts only the votes cast
        after it, and this node had marked its vote done): each voted claim of a product someone left that still
        waits for the committee, before its report deadline, goes back to assessed, so its vote is sent again.
        Returns how many."""
        head = int(self.client.rpc("eth_blockNumber", []), 16)
        governor = self.client.governor  # its cursor row: the last block read for MemberLeft events
        cursor = self.store.cursor(self.chain_id, governor)
        first = cursor[0] + 1 if cursor else self.watcher.start_block
        if first > head:
            return 0
        products = self.client.products_left(first, head)
        self.store.set_cursor(self.chain_id, governor, head, bytes(32))
        if not products:
            return 0
        now, moved = self.client.latest_timestamp(), 0
        for job in self.store.jobs(self.chain_id, self.client.address, (DONE,)):
            if ((job.event or {}).get("context") or {}).get("product_id") not in products:
                continue
            record = self.client.claim(job.claim_id)
            if record["status"] != ClaimStatus.SUBMITTED or now >= report_deadline(int(record["timestamp"])):
                continue
            if self.store.update_job(
                self.chain_id, self.client.address, job.claim_id, expect_state=DONE, state=ASSESSED
            ):
                moved += 1
        if moved:
            log.info(
                "a member left products %s: voting again on %d claim(s) whose votes it voided", sorted(products), moved
            )
        return moved

    def release_final_evidence(self, now: float | None = None) -> int:
        """Start the retention period of held claims the chain now shows final (resolved or paid) and unpin the
        evidence whose claims are all past it; returns how many content ids were unpinned."""
        store = self.assessor.store
        if not isinstance(store, IpfsContentStore):
            return 0
        now = time.time() if now is None else now
        prefix = hold_prefix(self.chain_id, self.client.address)
        for key in store.claims_not_final(prefix, FINALITY_CHECKS_PER_ROUND):
            status = self.client.claim(int(key.removeprefix(prefix)))["status"]
            if status in (ClaimStatus.RESOLVED, ClaimStatus.PAID):
                store.claim_final(key, now)
        released = store.release_held(now)
        if released:
            log.info("unpinned %d pieces of evidence of claims final for longer than their retention", released)
        return released

    def share_keys(self) -> int:
        """Share the photos' key of this member's claims at a panel that cannot open them yet (on the sender thread,
        so its transactions take nonces in turn with the votes); returns how many claims were shared."""
        if self.sharer is None:
            return 0
        try:
            return self.sharer.poll()
        except RPC_ERRORS:
            raise
        except CLAIM_ERRORS as exc:  # tried again at the next check
            log.warning("could not share claim keys with the arbitrator: %s", exc)
            return 0

    def _record_balance(self) -> None:
        """Read the account's balance and the current fees into the metrics (which warn when it runs low)."""
        balance = int(self.client.rpc("eth_getBalance", [self.signer.address, "latest"]), 16)
        self.metrics.record_balance(self.signer.address, balance, self.client.fee_fields()["maxFeePerGas"])

    def _send(self, jobs: list[JobView]) -> asyncio.Future[int]:
        """Hand jobs to the sender thread: one call at a time, so nonces are handed out in order."""
        return asyncio.get_running_loop().run_in_executor(self._sender, self._submit_jobs, jobs)

    def _schedule(self) -> None:
        """Work out when a job can next move without a new block: now if any is ready, else the earliest retry."""
        now = time.monotonic()
        self._retry_at = {claim_id: at for claim_id, at in self._retry_at.items() if at > now}
        ready = set(self.store.job_ids(self.chain_id, self.client.address)) - set(self._retry_at)
        self._due = now if ready else min(self._retry_at.values(), default=float("inf"))

    def _contexts(self, batch: list[JobView]) -> list[Claim | None | Exception]:
        """The chain's view of each claim, read at one block so the product is read once per batch."""
        block = int(self.client.rpc("eth_blockNumber", []), 16)
        products: dict[int, dict[str, Any]] = {}
        members: dict[tuple[int, int], bool] = {}  # (product, rules epoch) -> whether this node is on its committee
        contexts: list[Claim | None | Exception] = []
        for job in batch:
            try:
                context = claim_from_chain(
                    self.client, job.claim_id, event_from_record(job.event), self.store, block=block, products=products
                )
                product_id = None if context is None else context.product_id
                key = None
                if product_id is not None:
                    key = (product_id, self.client.report_epoch(job.claim_id, product_id, block))
                if key is not None and key not in members:
                    members[key] = self.signer.address in self.client.committee(*key, block=block)
                if key is not None and not members[key]:
                    contexts.append(
                        NotOurClaimError(
                            f"{self.signer.address} is not on the committee of product {key[0]} for claims of its "
                            f"rules epoch {key[1]}; claim skipped"
                        )
                    )
                else:
                    contexts.append(context)
            except RPC_ERRORS:
                raise
            except (Web3Exception, ValueError, OSError) as exc:
                contexts.append(exc)
        return contexts

    def _submit_jobs(self, jobs: list[JobView]) -> int:
        """Send (or check on) the transactions of assessed jobs; returns how many changed state."""

        def epoch_of(job: JobView) -> int:
            """The rules epoch the claim was submitted under, which its report must name."""
            return self.client.report_epoch(job.claim_id, int(job.event["context"]["product_id"]))

        items = [(job, _report(job, epoch_of(job))) for job in jobs]
        states = self.submitter.submit_many(items)
        moved = 0
        for job, _ in items:
            state = states.get(job.claim_id, job.state)
            if isinstance(state, Exception):
                self._fail_or_raise(job, state)
            elif state != job.state:
                moved += 1
        return moved

    def _fail_or_raise(self, job: JobView, exc: Exception) -> None:
        """A job's own error counts as a failed attempt (bad evidence, terms or photos nobody serves, a source that
        failed); an RPC outage or an unexpected error is raised."""
        if isinstance(exc, RPC_ERRORS) or not isinstance(exc, CLAIM_ERRORS):
            raise exc
        self._failed_attempt(job, exc)

    def _failed_attempt(self, job: JobView, exc: Exception) -> None:
        """Count a failed attempt on a job; after five, park it as failed with the reason. The next attempt waits
        a little longer each time (a second, then 2, 4, 8), however fast the node polls."""
        attempts = job.attempts + 1
        state = FAILED if attempts >= 5 else DISCOVERED if job.state == ASSESSING else job.state
        log.error("claim %d: attempt %d failed: %s", job.claim_id, attempts, exc)
        self.store.update_job(
            self.chain_id,
            self.client.address,
            job.claim_id,
            attempts=attempts,
            state=state,
            error=f"{type(exc).__name__}: {exc}",
        )
        self._retry_at[job.claim_id] = time.monotonic() + max(self.poll_seconds, 1.0) * 2 ** (attempts - 1)


def _report(job: JobView, epoch: int) -> Report:
    """The report of an assessed job, from the outcome and claim context its row keeps, for the claim's `epoch`."""
    assert job.outcome is not None, f"claim {job.claim_id}: a {job.state} job without its outcome"
    return report_for(job.claim_id, job.event["context"], job.outcome, epoch)


def _context_record(context: Claim) -> dict[str, Any]:
    """A claim context as JSON-safe data (bytes as hex) for the job row."""
    return {key: (value.hex() if isinstance(value, bytes) else value) for key, value in asdict(context).items()}
