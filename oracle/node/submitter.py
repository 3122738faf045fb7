"""Send a committee transaction exactly once: the signed transaction is written down before it is broadcast."""

from __future__ import annotations

import logging
from collections.abc import Callable

from web3.exceptions import ContractLogicError, TransactionNotFound

from oracle.chain.contracts import ClaimsManagerClient
from oracle.chain.report import Report
from oracle.node.signer import Signer
from oracle.node.store import ASSESSED, DONE, SENDING, JobView, NodeStore

log = logging.getLogger(__name__)
SUBMITTED = 1
# Reverts that mean the work is already done: by us before a crash, or by the rest of the committee.
SETTLED_REASONS = ("oracle: already voted", "oracle: claim not awaiting one")


class TransactionSubmitter:
    """Turns an assessed job into exactly one mined transaction from this node, resumable after a crash."""

    kind = "transaction"

    def __init__(self, client: ClaimsManagerClient, store: NodeStore, signer: Signer, receipt_timeout: float = 60):
        """Submit through `client`, recording progress in `store`, signing with `signer`."""
        self.client, self.store, self.signer = client, store, signer
        self.receipt_timeout = receipt_timeout
        self.chain_id = client.w3.eth.chain_id

    def send_once(self, job: JobView, build: Callable[[], dict | None]) -> str:
        """Send the transaction `build` returns (None: not yet) unless one is already out or moot; returns the state."""
        if job.state == SENDING and job.raw_tx:
            return self._resume(job)
        if self.client.claim(job.claim_id)["status"] != SUBMITTED:
            return self._finish(job, ASSESSED, "claim already decided or escalated")
        try:
            tx = build()
        except ContractLogicError as exc:
            if any(reason in str(exc) for reason in SETTLED_REASONS):
                return self._finish(job, ASSESSED, str(exc))
            raise
        if tx is None:
            return job.state
        raw, tx_hash = self.sign_transaction(tx)
        # write-ahead: once this row says SENDING, a restart rebroadcasts these exact bytes (same nonce),
        # so a crash between here and the broadcast can neither lose the transaction nor send a second one
        if not self.store.update_job(self.chain_id, self.client.address, job.claim_id, expect_state=ASSESSED,
                                     state=SENDING, raw_tx=raw, tx_hash=tx_hash):
            return self.store.job(self.chain_id, self.client.address, job.claim_id).state
        return self._broadcast_and_wait(job.claim_id, raw, tx_hash)

    def sign_transaction(self, tx: dict) -> tuple[bytes, bytes]:
        """Sign a transaction at this member's next nonce; returns (raw bytes, hash)."""
        tx = {**tx, "nonce": self.client.w3.eth.get_transaction_count(self.signer.address, "pending"),
              "chainId": self.chain_id}
        return self.signer.sign_transaction(tx)

    def _resume(self, job: JobView) -> str:
        """After a restart: the written-down transaction is either mined, pending, or must be sent again."""
        try:
            receipt = self.client.w3.eth.get_transaction_receipt(job.tx_hash)
        except TransactionNotFound:
            return self._broadcast_and_wait(job.claim_id, job.raw_tx, job.tx_hash)
        return self._settle(job.claim_id, receipt)

    def _broadcast_and_wait(self, claim_id: int, raw: bytes, tx_hash: bytes) -> str:
        """Broadcast (tolerating 'already known') and wait for the receipt."""
        w3 = self.client.w3
        try:
            w3.eth.send_raw_transaction(raw)
        except ValueError as exc:  # the node already has it, or it was mined while we were down
            message = str(exc).lower()
            if "already" not in message and "nonce too low" not in message:
                raise
            log.info("claim %d: transaction %s was already sent", claim_id, tx_hash.hex())
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=self.receipt_timeout)
        return self._settle(claim_id, receipt)

    def _settle(self, claim_id: int, receipt) -> str:
        """Record the mined outcome: success, or a revert that means the claim no longer needs us."""
        if receipt.status == 1:
            log.info("claim %d: %s mined in block %d", claim_id, self.kind, receipt.blockNumber)
        else:
            status = self.client.claim(claim_id)["status"]
            if status == SUBMITTED:  # our transaction failed and the claim still waits: report it, try again later
                self.store.update_job(self.chain_id, self.client.address, claim_id, expect_state=SENDING,
                                      state=ASSESSED, raw_tx=None, tx_hash=None,
                                      error=f"{self.kind} reverted in {receipt.transactionHash.hex()}")
                return ASSESSED
            log.info("claim %d: %s reverted because the claim moved on (status %d)", claim_id, self.kind, status)
        self.store.update_job(self.chain_id, self.client.address, claim_id, expect_state=SENDING, state=DONE)
        return DONE

    def _finish(self, job: JobView, expected: str, why: str) -> str:
        """Mark a job done without sending anything."""
        log.info("claim %d: nothing to send (%s)", job.claim_id, why)
        self.store.update_job(self.chain_id, self.client.address, job.claim_id, expect_state=expected, state=DONE,
                              error=why)
        return DONE


class VoteSubmitter(TransactionSubmitter):
    """Turns an assessed job into one mined `voteReport` transaction from this node."""

    kind = "vote"

    def submit(self, job: JobView, report: Report) -> str:
        """Make sure this node's vote for `report` is on-chain; returns the job's new state."""
        return self.send_once(job, lambda: self.client.vote_report_tx(report, self.signer.address))
