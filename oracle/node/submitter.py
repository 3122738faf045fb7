"""Send a committee transaction exactly once: the signed transaction is written down before it is broadcast."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from eth_account.typed_transactions import TypedTransaction
from eth_typing import Hash32
from hexbytes import HexBytes
from web3.exceptions import ContractLogicError, Web3RPCError
from web3.types import TxReceipt

from oracle.chain.contracts import ClaimsManagerClient, Receipt
from oracle.chain.report import Report
from oracle.db import ASSESSED, DONE, SENDING, JobView, NodeStore
from oracle.node.signer import Signer
from oracle.settings import GWEI, MAX_FEE_CAP_GWEI, REPLACE_AFTER_S

log = logging.getLogger(__name__)
SUBMITTED = 1
# Reverts that mean the work is already done: by us before a crash, or by the rest of the committee.
SETTLED_REASONS = ("oracle: already voted", "oracle: claim not awaiting one")

REPLACE_SECONDS = REPLACE_AFTER_S  # a sent vote still unmined after this long is replaced with higher fees
MAX_FEE_CAP = MAX_FEE_CAP_GWEI * GWEI  # the highest maxFeePerGas a replacement may offer
FEE_BUMP = (9, 8)  # a replacement's fees: at least 12.5% above the old ones (nodes require 10%), as a fraction
SETTLE_SECONDS = 0.5  # how long a batch of votes just sent waits for receipts before moving on
REPLACED_FIELDS = ("chainId", "nonce", "gas", "to", "value", "data", "accessList")
"""The fields a replacement keeps of the transaction it replaces (the fees change, the signature is new)."""


def _settled(exc: ContractLogicError) -> bool:
    """Whether a revert says the work is already done (SETTLED_REASONS)."""
    return any(reason in str(exc) for reason in SETTLED_REASONS)


def _bumped(old: int, floor: int) -> int:
    """A fee FEE_BUMP above `old` (rounded up, at least one wei more) and at least `floor`."""
    numerator, denominator = FEE_BUMP
    return max(-(-old * numerator // denominator), old + 1, floor)


def _written_down(job: JobView) -> tuple[bytes, bytes]:
    """A sending job's signed transaction and its hash (`send_once` writes the two down together)."""
    assert job.raw_tx is not None and job.tx_hash is not None, f"claim {job.claim_id}: no written-down transaction"
    return job.raw_tx, job.tx_hash


class TransactionSubmitter:
    """Turns an assessed job into exactly one mined transaction from this node, resumable after a crash."""

    kind = "transaction"

    def __init__(
        self,
        client: ClaimsManagerClient,
        store: NodeStore,
        signer: Signer,
        receipt_timeout: float = 60,
        replace_after: float = REPLACE_SECONDS,
        max_fee_cap: int = MAX_FEE_CAP,
    ) -> None:
        """Submit through `client`, recording progress in `store`, signing with `signer`; a vote unmined for
        `replace_after` seconds is replaced with higher fees, up to a maxFeePerGas of `max_fee_cap` wei."""
        self.client, self.store, self.signer = client, store, signer
        self.receipt_timeout = receipt_timeout
        self.replace_after, self.max_fee_cap = replace_after, max_fee_cap
        self.on_mined: Callable[[], None] | None = None  # called once per transaction of ours mined successfully
        self.chain_id = client.chain_id
        self._sent_at: dict[bytes, float] = {}  # tx hash -> when this process last broadcast it

    def submit(self, job: JobView, report: Report) -> str:
        """Move one job on, waiting for its transaction to be mined; returns the job's new state."""
        raise NotImplementedError

    def submit_many(self, items: Sequence[tuple[JobView, Report]]) -> dict[int, str | Exception]:
        """Move several jobs on; returns each job's new state, or the error that stopped it. This default takes
        them one at a time with `submit`."""
        states: dict[int, str | Exception] = {}
        for job, report in items:
            try:
                states[job.claim_id] = self.submit(job, report)
            except (Web3RPCError, ContractLogicError, ValueError) as exc:
                states[job.claim_id] = exc
        return states

    def send_once(self, job: JobView, build: Callable[[], dict[str, Any] | None]) -> str:
        """Send the transaction `build` returns (None: not yet) unless one is already out or moot; returns the state."""
        if job.state == SENDING and job.raw_tx:
            return self._resume(job)
        if self.client.claim(job.claim_id)["status"] != SUBMITTED:
            return self._finish(job, ASSESSED, "claim already decided or escalated")
        try:
            tx = build()
        except ContractLogicError as exc:
            if _settled(exc):
                return self._finish(job, ASSESSED, str(exc))
            raise
        if tx is None:
            return job.state
        raw, tx_hash = self.sign_transaction(tx)
        # write-ahead: once this row says SENDING, a restart rebroadcasts these exact bytes (same nonce),
        # so a crash between here and the broadcast can neither lose the transaction nor send a second one
        if not self.store.update_job(
            self.chain_id,
            self.client.address,
            job.claim_id,
            expect_state=ASSESSED,
            state=SENDING,
            raw_tx=raw,
            tx_hash=tx_hash,
        ):
            current = self.store.job(self.chain_id, self.client.address, job.claim_id)
            assert current is not None  # jobs are never deleted
            return current.state
        return self._broadcast_and_wait(job.claim_id, raw, tx_hash)

    def sign_transaction(self, tx: dict[str, Any]) -> tuple[bytes, bytes]:
        """Sign a transaction at this member's next nonce; returns (raw bytes, hash)."""
        tx = {**tx, "nonce": self.client.nonce(self.signer.address), "chainId": self.chain_id}
        return self.signer.sign_transaction(tx)

    def replacement(self, raw: bytes) -> tuple[bytes, bytes] | None:
        """The transaction `raw` signed again at its nonce with fees FEE_BUMP higher (and at least what the chain
        asks now), as (raw, hash); None when the cap leaves no room for a valid replacement."""
        old = TypedTransaction.from_bytes(HexBytes(raw)).as_dict()
        now = self.client.fee_fields()
        tip = _bumped(old["maxPriorityFeePerGas"], now["maxPriorityFeePerGas"])
        fee = min(_bumped(old["maxFeePerGas"], now["maxFeePerGas"]), self.max_fee_cap)
        if fee < _bumped(old["maxFeePerGas"], 0):
            return None
        tx = {key: old[key] for key in REPLACED_FIELDS if key in old}
        return self.signer.sign_transaction({**tx, "maxFeePerGas": fee, "maxPriorityFeePerGas": min(tip, fee)})

    def _resume(self, job: JobView) -> str:
        """After a restart: the written-down transaction is either mined, pending, or must be sent again."""
        raw, tx_hash = _written_down(job)
        receipt = self.client.receipt(tx_hash)
        if receipt is None:
            return self._broadcast_and_wait(job.claim_id, raw, tx_hash)
        return self._settle(job.claim_id, receipt)

    def _broadcast_and_wait(self, claim_id: int, raw: bytes, tx_hash: bytes) -> str:
        """Broadcast (tolerating 'already known') and wait for the receipt."""
        self._broadcast(claim_id, raw, tx_hash)
        receipt = self.client.w3.eth.wait_for_transaction_receipt(Hash32(tx_hash), timeout=self.receipt_timeout)
        return self._settle(claim_id, receipt)

    def _broadcast(self, claim_id: int, raw: bytes, tx_hash: bytes) -> None:
        """Send signed bytes; the node already having them, or having mined them, is fine."""
        try:
            self.client.send_raw(raw)
        except (ValueError, Web3RPCError) as exc:  # the node already has it, or it was mined while we were down
            message = str(exc).lower()
            if "already" not in message and "nonce too low" not in message:
                raise
            log.info("claim %d: transaction %s was already sent", claim_id, tx_hash.hex())
        self._sent_at[bytes(tx_hash)] = time.monotonic()

    def _settle(self, claim_id: int, receipt: Receipt | TxReceipt) -> str:
        """Record the mined outcome (a receipt read by key: `client.receipt`'s dict or web3's), success or a revert
        that means the claim no longer needs us."""
        state, fields = self._settlement(
            claim_id, receipt["status"], receipt["blockNumber"], bytes(receipt["transactionHash"])
        )
        self.store.update_job(self.chain_id, self.client.address, claim_id, expect_state=SENDING, **fields)
        return state

    def _settlement(self, claim_id: int, status: int, block: int, tx_hash: bytes) -> tuple[str, dict[str, Any]]:
        """The job's next state, and the fields to write, once its transaction is mined."""
        self._sent_at.pop(bytes(tx_hash), None)
        if status == 1:
            log.info("claim %d: %s mined in block %d", claim_id, self.kind, block)
            if self.on_mined is not None:
                self.on_mined()
            return DONE, {"state": DONE}
        claim_status = self.client.claim(claim_id)["status"]
        if claim_status == SUBMITTED:  # our transaction failed and the claim still waits: report it, try again later
            return ASSESSED, {
                "state": ASSESSED,
                "raw_tx": None,
                "tx_hash": None,
                "error": f"{self.kind} reverted in 0x{tx_hash.hex()}",
            }
        log.info("claim %d: %s reverted because the claim moved on (status %d)", claim_id, self.kind, claim_status)
        return DONE, {"state": DONE}

    def _finish(self, job: JobView, expected: str, why: str) -> str:
        """Mark a job done without sending anything."""
        log.info("claim %d: nothing to send (%s)", job.claim_id, why)
        self.store.update_job(
            self.chain_id, self.client.address, job.claim_id, expect_state=expected, state=DONE, error=why
        )
        return DONE


class VoteSubmitter(TransactionSubmitter):
    """Turns an assessed job into one mined `voteReport` transaction from this node."""

    kind = "vote"

    def submit(self, job: JobView, report: Report) -> str:
        """Make sure this node's vote for `report` is on-chain; returns the job's new state."""
        return self.send_once(job, lambda: self.client.vote_report_tx(report, self.signer.address))

    def submit_many(self, items: Sequence[tuple[JobView, Report]]) -> dict[int, str | Exception]:
        """Vote on several claims without waiting for blocks, keeping `send_once`'s exactly-once guarantee.

        Votes already written down are checked for a receipt; one out for `replace_after` seconds without being
        mined is replaced at its nonce with higher fees (written down before it is sent), and one this process has
        not sent (after a restart) is broadcast again, the same bytes. New votes are built (a revert that means the work
        is done ends the job), signed at consecutive nonces, all written down in one transaction, and only then
        broadcast; receipts already there are recorded, the rest are looked for on later calls. Returns each
        job's new state, or the error that stopped it."""
        states: dict[int, str | Exception] = {}
        changes: list[tuple[int, str | None, dict[str, Any]]] = []
        sent: list[tuple[int, bytes, bytes]] = []  # (claim id, raw, hash) broadcast by this call: receipts below
        for job, _ in items:
            if job.state == SENDING and job.raw_tx:
                raw, tx_hash = _written_down(job)
                states[job.claim_id], out = self._check_sent(job.claim_id, raw, tx_hash, changes, stale_ok=True)
                if states[job.claim_id] == SENDING and out is not None:
                    sent.append((job.claim_id, *out))  # broadcast again, or replaced, just now
        built: list[tuple[JobView, dict[str, Any]]] = []
        fees: dict[str, int] | None = None
        for job, report in items:
            if job.state != ASSESSED:
                continue
            try:
                fees = fees or self.client.fee_fields()
                built.append((job, self.client.vote_report_tx(report, self.signer.address, fees)))
            except ContractLogicError as exc:
                if _settled(exc):
                    log.info("claim %d: nothing to send (%s)", job.claim_id, exc)
                    changes.append((job.claim_id, ASSESSED, {"state": DONE, "error": str(exc)}))
                    states[job.claim_id] = DONE
                else:
                    states[job.claim_id] = exc
        if built:
            nonce = self.client.nonce(self.signer.address)
            signed = []
            for offset, (job, tx) in enumerate(built):
                raw, tx_hash = self.signer.sign_transaction({**tx, "nonce": nonce + offset})
                signed.append((job.claim_id, raw, tx_hash))
            # write-ahead: every vote is written down before any is broadcast (see send_once)
            written = self.store.update_jobs(
                self.chain_id,
                self.client.address,
                [
                    (claim_id, ASSESSED, {"state": SENDING, "raw_tx": raw, "tx_hash": tx_hash})
                    for claim_id, raw, tx_hash in signed
                ],
            )
            if not all(written):
                # another process moved a job meanwhile: send only the votes before it, so no nonce is skipped,
                # and take back the ones after it (never broadcast, so taking them back sends nothing twice)
                kept = written.index(False)
                self.store.update_jobs(
                    self.chain_id,
                    self.client.address,
                    [
                        (claim_id, SENDING, {"state": ASSESSED, "raw_tx": None, "tx_hash": None})
                        for (claim_id, _, _), ok in zip(signed[kept:], written[kept:], strict=True)
                        if ok
                    ],
                )
                signed = signed[:kept]
            for claim_id, raw, tx_hash in signed:
                self._broadcast(claim_id, raw, tx_hash)
                sent.append((claim_id, raw, tx_hash))
                states[claim_id] = SENDING
        # a dev chain mines at once, a real one within blocks: look for the receipts for a moment (this runs beside
        # the next batch's assessment), and leave the rest to later calls
        deadline, pause = time.monotonic() + SETTLE_SECONDS, 0.005
        while sent:
            for claim_id, raw, tx_hash in sent:
                states[claim_id], _ = self._check_sent(claim_id, raw, tx_hash, changes, stale_ok=False)
            sent = [entry for entry in sent if states[entry[0]] == SENDING]
            if not sent or time.monotonic() + pause > deadline:
                break
            time.sleep(pause)
            pause = min(pause * 2, 0.1)
        if changes:
            self.store.update_jobs(self.chain_id, self.client.address, changes)
        return states

    def _check_sent(
        self,
        claim_id: int,
        raw: bytes,
        tx_hash: bytes,
        changes: list[tuple[int, str | None, dict[str, Any]]],
        stale_ok: bool,
    ) -> tuple[str, tuple[bytes, bytes] | None]:
        """A written-down vote's state, and the (raw, hash) broadcast by this call if any: settled if mined (the
        change is queued); if unmined and `stale_ok`, sent again when this process has not sent it, replaced when
        it has been out `replace_after` seconds, or taken back when another version of it was mined."""
        receipt = self.client.receipt(tx_hash)
        if receipt is None:
            sent_at = self._sent_at.get(bytes(tx_hash))
            if not stale_ok or (sent_at is not None and time.monotonic() - sent_at <= self.replace_after):
                return SENDING, None
            nonce = int(TypedTransaction.from_bytes(HexBytes(raw)).as_dict()["nonce"])
            if self.client.mined_nonce(self.signer.address) > nonce:
                receipt = self.client.receipt(tx_hash)  # mined between the two questions
                if receipt is None:  # another version of this vote took the nonce: build it again, to see if it counted
                    log.info(
                        "claim %d: another transaction at nonce %d was mined; checking the vote again", claim_id, nonce
                    )
                    self._sent_at.pop(bytes(tx_hash), None)
                    changes.append((claim_id, SENDING, {"state": ASSESSED, "raw_tx": None, "tx_hash": None}))
                    return ASSESSED, None
            elif sent_at is None:
                self._broadcast(claim_id, raw, tx_hash)
                return SENDING, (raw, tx_hash)
            else:
                return SENDING, self._replace(claim_id, raw, tx_hash, nonce)
        state, fields = self._settlement(claim_id, receipt["status"], receipt["blockNumber"], tx_hash)
        changes.append((claim_id, SENDING, fields))
        return state, None

    def _replace(self, claim_id: int, raw: bytes, tx_hash: bytes, nonce: int) -> tuple[bytes, bytes]:
        """Replace a stuck vote with higher fees (write-ahead: the replacement is written down, then sent), or, at
        the fee cap, broadcast the same bytes again; returns what is out now."""
        replacement = self.replacement(raw)
        if replacement is None:
            log.warning(
                "claim %d: vote %s at nonce %d is stuck and its fees are at the cap (%d wei); sending it again as is",
                claim_id,
                tx_hash.hex(),
                nonce,
                self.max_fee_cap,
            )
            try:
                self._broadcast(claim_id, raw, tx_hash)
            except (ValueError, Web3RPCError) as exc:  # e.g. the base fee is above the cap: it waits in our store
                log.warning("claim %d: the node refused the vote again: %s", claim_id, exc)
                self._sent_at[bytes(tx_hash)] = time.monotonic()
            return raw, tx_hash
        new_raw, new_hash = replacement
        if not self.store.update_job(
            self.chain_id,
            self.client.address,
            claim_id,
            expect_state=SENDING,
            raw_tx=new_raw,
            tx_hash=new_hash,
        ):
            return raw, tx_hash  # another process moved the job: it is no longer ours to replace
        fees = TypedTransaction.from_bytes(HexBytes(new_raw)).as_dict()
        log.warning(
            "claim %d: vote %s at nonce %d unmined after %.0f s; replaced by %s with maxFeePerGas %d and "
            "maxPriorityFeePerGas %d wei",
            claim_id,
            tx_hash.hex(),
            nonce,
            self.replace_after,
            new_hash.hex(),
            fees["maxFeePerGas"],
            fees["maxPriorityFeePerGas"],
        )
        self._sent_at.pop(bytes(tx_hash), None)
        self._broadcast(claim_id, new_raw, new_hash)
        return new_raw, new_hash
