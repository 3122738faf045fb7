"""One oracle node: watch claims, assess each once, vote once, and keep going through restarts and RPC outages."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import asdict

import requests
from web3.exceptions import Web3Exception

from oracle.chain.contracts import ClaimsManagerClient
from oracle.chain.report import Report
from oracle.node.signer import Signer
from oracle.node.store import ASSESSED, DISCOVERED, FAILED, ORPHANED, SENDING, JobView, NodeStore
from oracle.node.submitter import VoteSubmitter
from oracle.node.watcher import ClaimWatcher
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
    """A committee member's loop: watch, assess, vote; every step resumable from the database."""

    def __init__(self, client: ClaimsManagerClient, store: NodeStore, assessor: ClaimAssessor, signer: Signer, *,
                 confirmations: int = 2, start_block: int = 0, poll_seconds: float = 1.0, max_failures: int = 20):
        """Assemble a node; `max_failures` consecutive failing polls stop it rather than spin for ever."""
        self.client, self.store, self.assessor, self.signer = client, store, assessor, signer
        self.watcher = ClaimWatcher(client, store, confirmations=confirmations, start_block=start_block)
        self.submitter = VoteSubmitter(client, store, signer)
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
        """Advance one job: assess a discovered claim, then make sure our vote is mined."""
        if job.state == DISCOVERED:
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
            self.submitter.submit(job, report)
            return True
        return False

    def context(self, job: JobView) -> ClaimContext | None:
        """The claim, policy and product as the chain has them now, or None if the claim is gone."""
        return claim_context(self.client, job.claim_id, job.event["evidence_root"], job.event["block_number"])

    def _failed_attempt(self, job: JobView, exc: Exception) -> None:
        """Count a failed attempt on a job; after five, park it as failed with the reason."""
        attempts = job.attempts + 1
        state = FAILED if attempts >= 5 else job.state
        log.error("claim %d: attempt %d failed: %s", job.claim_id, attempts, exc)
        self.store.update_job(self.chain_id, self.client.address, job.claim_id, attempts=attempts, state=state,
                              error=f"{type(exc).__name__}: {exc}")


def claim_context(client: ClaimsManagerClient, claim_id: int, evidence_root: str | None = None,
                  block_number: int | None = None) -> ClaimContext | None:
    """Read a claim's context from the chain; None if it does not exist (with this 0x evidence root, if given)."""
    claim = client.claim(claim_id)
    event = client.claim_submitted(claim_id)
    if claim["status"] == 0 or event is None or bytes(claim["evidenceRoot"]) != event.evidence_root:
        return None
    if evidence_root is not None and "0x" + event.evidence_root.hex() != evidence_root:
        return None
    policy = client.policy(claim["policyId"])
    product = client.product(policy["productId"])
    purchases = client.contract.events.PolicyPurchased().get_logs(
        from_block=0, argument_filters={"policyId": claim["policyId"]})
    insured_object = bytes(purchases[0].args.insuredObject) if purchases else b"\x00" * 32
    submitted_at = client.w3.eth.get_block(block_number or event.block_number).timestamp
    return ClaimContext(
        claim_id=claim_id, chain_id=client.w3.eth.chain_id, contract=client.address,
        policy_id=claim["policyId"], product_id=policy["productId"], evidence_root=event.evidence_root,
        evidence_uri=event.evidence_uri, incident_time=event.incident_time, peril_index=event.peril,
        latitude_e6=event.latitude_e6, longitude_e6=event.longitude_e6, claimed_amount=event.claimed_amount,
        submitted_at=submitted_at, policy_start=policy["start"], policy_end=policy["end"],
        remaining_coverage=policy["remainingCoverage"], deductible=product["deductible"],
        covered_perils=product["perils"], terms_hash=bytes(product["termsHash"]), insured_object=insured_object,
    )


def _context_record(context: ClaimContext) -> dict:
    """A claim context as JSON-safe data (bytes as hex) for the job row."""
    return {key: (value.hex() if isinstance(value, bytes) else value) for key, value in asdict(context).items()}
