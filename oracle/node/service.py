"""One oracle node: watch claims, assess each once, report once, and keep going through restarts and RPC outages."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import asdict

import requests
from web3.exceptions import Web3Exception

from oracle.chain.contracts import ClaimsManagerClient, ClaimSubmitted
from oracle.chain.report import Report
from oracle.node.aggregate import AggregateSubmitter, SignatureRelayClient
from oracle.node.signer import Signer
from oracle.node.store import ASSESSED, DISCOVERED, FAILED, ORPHANED, SENDING, JobView, NodeStore
from oracle.node.submitter import VoteSubmitter
from oracle.node.watcher import ClaimWatcher, event_from_record
from oracle.pipeline import ClaimAssessor, ClaimContext, ClaimOutcome, record_in_history

log = logging.getLogger(__name__)
RPC_ERRORS = (requests.exceptions.ConnectionError, requests.exceptions.Timeout, ConnectionError, TimeoutError)


def outcome_record(outcome: ClaimOutcome) -> dict:
    """What the job row keeps of an outcome (the explanation itself lives in the content store)."""
    return {"decision": outcome.decision, "payout": str(outcome.payout), "confidence_bps": outcome.confidence_bps,
            "explanation_hash": outcome.explanation_hash.hex(), "explanation_cid": outcome.explanation_cid,
            "model_hash": outcome.model_hash.hex()}


def report_for(claim_id: int, context: dict, outcome: dict) -> Report:
    """The on-chain report for a stored outcome and claim context."""
    return Report(claim_id, outcome["decision"], int(outcome["payout"]), outcome["confidence_bps"],
                  bytes.fromhex(outcome["explanation_hash"]), bytes.fromhex(outcome["model_hash"]),
                  bytes.fromhex(context["evidence_root"]), bytes.fromhex(context["terms_hash"]))


class OracleNode:
    """A committee member's loop: watch, assess, report; every step resumable from the database."""

    def __init__(self, client: ClaimsManagerClient, store: NodeStore, assessor: ClaimAssessor, signer: Signer, *,
                 confirmations: int = 2, start_block: int = 0, poll_seconds: float = 1.0, max_failures: int = 20,
                 report_mode: str = "vote", relay: SignatureRelayClient | None = None,
                 fallback_seconds: float = 30.0):
        """Assemble a node that votes or, in "aggregate" mode, signs through `relay`; see `Settings` for the rest."""
        if report_mode not in ("vote", "aggregate"):
            raise ValueError(f"report mode must be 'vote' or 'aggregate', got {report_mode!r}")
        if report_mode == "aggregate" and relay is None:
            raise ValueError("report mode 'aggregate' needs a signature relay (CLAIMS_ORACLE_SIGNATURE_RELAY_URL)")
        self.client, self.store, self.assessor, self.signer = client, store, assessor, signer
        self.watcher = ClaimWatcher(client, store, confirmations=confirmations, start_block=start_block)
        self.submitter = (AggregateSubmitter(client, store, signer, relay, fallback_seconds=fallback_seconds)
                          if report_mode == "aggregate" else VoteSubmitter(client, store, signer))
        self.poll_seconds, self.max_failures = poll_seconds, max_failures
        self.chain_id = self.watcher.chain_id

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set; RPC outages are retried with back-off, a persistent failure halts the node."""
        failures = 0
        while not stop.is_set():
            try:
                await self.run_once()
                failures = 0
            except RPC_ERRORS as exc:
                failures += 1
                log.warning("RPC unavailable (%s); retry %d of %d", type(exc).__name__, failures, self.max_failures)
            if failures >= self.max_failures:
                raise RuntimeError(f"node {self.signer.address} stopped after {failures} consecutive RPC failures")
            delay = self.poll_seconds * min(2**failures, 30)
            try:
                await asyncio.wait_for(stop.wait(), timeout=delay)
            except TimeoutError:
                pass

    async def run_once(self) -> int:
        """One poll: record new claims, then move every open job as far as it can go; returns jobs moved."""
        self.watcher.poll()
        moved = 0
        for job in self.store.jobs(self.chain_id, self.client.address):
            try:
                if await self.process(job):
                    moved += 1
            except RPC_ERRORS:
                raise
            except (Web3Exception, ValueError, OSError) as exc:
                self._failed_attempt(job, exc)
        return moved

    async def process(self, job: JobView) -> bool:
        """Advance one job: assess a discovered claim, then see our vote or signed report through; True if it moved."""
        assessed = job.state == DISCOVERED
        if assessed:
            context = self.context(job)
            if context is None:
                self.store.update_job(self.chain_id, self.client.address, job.claim_id, expect_state=DISCOVERED,
                                      state=ORPHANED, error="claim not on chain with this evidence root")
                return True
            outcome = await self.assessor.assess(context)
            record_in_history(self.store, context, outcome)
            self.store.update_job(self.chain_id, self.client.address, job.claim_id, expect_state=DISCOVERED,
                                  state=ASSESSED, outcome=outcome_record(outcome),
                                  event_json=json.dumps({**job.event, "context": _context_record(context)},
                                                        sort_keys=True))
            job = self.store.job(self.chain_id, self.client.address, job.claim_id)
        if job.state in (ASSESSED, SENDING):
            report = report_for(job.claim_id, job.event["context"], job.outcome)
            return self.submitter.submit(job, report) != job.state or assessed
        return assessed

    def context(self, job: JobView) -> ClaimContext | None:
        """The claim, policy and product as the chain has them now, or None if the claim is gone."""
        return claim_context(self.client, job.claim_id, event_from_record(job.event), self.store)

    def _failed_attempt(self, job: JobView, exc: Exception) -> None:
        """Count a failed attempt on a job; after five, park it as failed with the reason."""
        attempts = job.attempts + 1
        state = FAILED if attempts >= 5 else job.state
        log.error("claim %d: attempt %d failed: %s", job.claim_id, attempts, exc)
        self.store.update_job(self.chain_id, self.client.address, job.claim_id, attempts=attempts, state=state,
                              error=f"{type(exc).__name__}: {exc}")


def claim_context(client: ClaimsManagerClient, claim_id: int, event: ClaimSubmitted | None = None,
                  store: NodeStore | None = None, from_block: int = 0) -> ClaimContext | None:
    """The claim's context from the chain (its event looked up from `from_block` if not given); None if it is gone."""
    claim = client.claim(claim_id)
    if event is None:
        event = client.claim_submitted(claim_id, from_block)
    if (claim["status"] == 0 or event is None or bytes(claim["evidenceRoot"]) != event.evidence_root
            or claim["claimedAmount"] != event.claimed_amount):
        return None
    policy = client.policy(claim["policyId"])
    product = client.product(policy["productId"])
    return ClaimContext(
        claim_id=claim_id, chain_id=client.w3.eth.chain_id, contract=client.address,
        policy_id=claim["policyId"], product_id=policy["productId"], evidence_root=event.evidence_root,
        evidence_uri=event.evidence_uri, incident_time=event.incident_time, peril_index=event.peril,
        latitude_e6=event.latitude_e6, longitude_e6=event.longitude_e6, claimed_amount=event.claimed_amount,
        submitted_at=client.w3.eth.get_block(event.block_number).timestamp, policy_start=policy["start"],
        policy_end=policy["end"], remaining_coverage=policy["remainingCoverage"], deductible=product["deductible"],
        covered_perils=product["perils"], terms_hash=bytes(product["termsHash"]),
        insured_object=insured_object(client, claim["policyId"], policy["start"], event.block_number, store),
    )


def insured_object(client: ClaimsManagerClient, policy_id: int, policy_start: int, last_block: int,
                   store: NodeStore | None = None) -> bytes:
    """A policy's insured object: remembered in `store`, else read from the chain (and then remembered)."""
    chain_id = client.w3.eth.chain_id
    known = store.insured_object(chain_id, client.address, policy_id) if store is not None else None
    if known is not None:
        return known
    found = client.insured_object(policy_id, policy_start, last_block)
    if store is not None:
        store.set_insured_object(chain_id, client.address, policy_id, found)
    return found


def _context_record(context: ClaimContext) -> dict:
    """A claim context as JSON-safe data (bytes as hex) for the job row."""
    return {key: (value.hex() if isinstance(value, bytes) else value) for key, value in asdict(context).items()}
