"""Follow `ClaimSubmitted` events at a confirmation depth into the job store, surviving restarts and reorgs."""

from __future__ import annotations

import logging
from dataclasses import asdict, fields
from typing import Any

from oracle.chain.contracts import ClaimsManagerClient, ClaimSubmitted
from oracle.db import NodeStore

log = logging.getLogger(__name__)


def event_record(event: ClaimSubmitted) -> dict[str, Any]:
    """The event as JSON-safe data for the job row (bytes as 0x-hex)."""
    return {key: ("0x" + value.hex() if isinstance(value, bytes) else value) for key, value in asdict(event).items()}


def event_from_record(record: dict[str, Any]) -> ClaimSubmitted:
    """The event a job row recorded (the inverse of `event_record`; other keys of the row are ignored)."""
    values: dict[str, Any] = {}
    for field in fields(ClaimSubmitted):
        value = record[field.name]
        values[field.name] = bytes.fromhex(value[2:]) if field.type in ("bytes", bytes) else value
    return ClaimSubmitted(**values)


class ClaimWatcher:
    """Scans confirmed blocks for new claims and records one job per claim, exactly once."""

    def __init__(
        self,
        client: ClaimsManagerClient,
        store: NodeStore,
        confirmations: int = 2,
        start_block: int = 0,
        batch_blocks: int | None = None,
        reorg_depth: int = 64,
    ) -> None:
        """Watch `client`'s contract from `start_block`, `confirmations` blocks behind the head, `batch_blocks` blocks
        per scan (by default the client's log chunk)."""
        self.client, self.store = client, store
        self.confirmations, self.start_block = confirmations, start_block
        self.batch_blocks = client.log_chunk_blocks if batch_blocks is None else batch_blocks
        self.reorg_depth = reorg_depth
        self.chain_id = client.chain_id
        self.head: int | None = None  # the chain head the last poll saw

    def poll(self) -> list[int]:
        """Scan what has been confirmed since the last poll; return the claim ids newly recorded.

        One `eth_getLogs` per batch of blocks reads both new claims and new policies (whose insured objects the
        claims' context needs), and one database transaction records them with the cursor."""
        self.head = int(self.client.rpc("eth_blockNumber", []), 16)
        safe_head = self.head - self.confirmations
        cursor = self.store.cursor(self.chain_id, self.client.address)
        if cursor is not None and not self._still_canonical(*cursor):
            cursor = self._rewind(cursor[0])
        first = cursor[0] + 1 if cursor else self.start_block
        new_claims: list[int] = []
        while first <= safe_head:
            last = min(safe_head, first + self.batch_blocks - 1)
            claims, policies = self.client.scan(first, last)
            last_hash = self._block_hash(last)
            if last_hash is None:
                # the chain the RPC serves is shorter than it just said (a reorg, or a lagging backend): nothing
                # of this batch is recorded, the next poll scans it again
                log.warning("block %d is gone from the chain; scanning it again next poll", last)
                break
            new_claims += self.store.add_jobs(
                self.chain_id,
                self.client.address,
                [(e.claim_id, event_record(e), e.block_number, e.block_hash) for e in claims],
                [(p.policy_id, p.insured_object) for p in policies],
                cursor=(last, last_hash),
            )
            first = last + 1
        return new_claims

    def _block_hash(self, number: int) -> bytes | None:
        """The hash of block `number` on the chain the node sees, or None if there is no such block."""
        block = self.client.rpc("eth_getBlockByNumber", [hex(number), False])
        return None if block is None else bytes.fromhex(block["hash"][2:])

    def _still_canonical(self, block_number: int, block_hash: bytes) -> bool:
        """Whether the cursor's block is still on the chain the node sees."""
        return self._block_hash(block_number) == block_hash

    def _rewind(self, block_number: int) -> tuple[int, bytes] | None:
        """After a reorg, step back `reorg_depth` blocks, orphan unsent jobs above, and rescan from there.

        Claims that survive the reorg are found again by the rescan and revived; the rest stay orphaned.
        """
        target = min(block_number, int(self.client.rpc("eth_blockNumber", []), 16)) - self.reorg_depth
        orphaned = self.store.orphan_jobs_after(self.chain_id, self.client.address, target)
        log.warning(
            "reorg at or below block %d: rescanning after block %d; orphaned claims %s", block_number, target, orphaned
        )
        if target < self.start_block:
            return None
        block_hash = self._block_hash(target)
        if block_hash is None:  # the chain the RPC serves is shorter than it just said: an RPC error, retried
            raise ConnectionError(f"block {target} is not on the chain the RPC endpoint serves")
        self.store.set_cursor(self.chain_id, self.client.address, target, block_hash)
        return target, block_hash
