"""A committee member shares a claim's content key with the arbitration panel when the claim reaches it without it
(a referral by a third party or an adjuster holding no key), as key-grants evidence in the dApp's format."""

# Who acts: the member whose index in the product's current committee is claimId mod committee size, at once; the
# next in that order only if the grants are still missing FOLLOW_SECONDS of chain time after the dispute opened, and
# so on. The cursor over the desk's Dispute events stays behind the oldest dispute still waiting for its turn, so a
# restart picks it up again and each check reads only new blocks plus that window.

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractLogicError, Web3Exception
from web3.types import Nonce, TxParams

from oracle.cas.store import ContentStore, ContentStoreError
from oracle.chain.contracts import ClaimsManagerClient, block_ranges, contract_type
from oracle.chain.keys import key_directory, published_key
from oracle.db import NodeStore
from oracle.explain.canonical import canonical_json
from oracle.explain.evidence import EvidenceError, evidence_key, load_manifest, manifest_is_sealed
from oracle.privacy import Reader, SealError, granted_readers, key_grants_document, wrap_key

log = logging.getLogger(__name__)
FOLLOW_SECONDS = 600  # chain time a member waits per place behind the one whose turn comes first
MAX_PANEL = 16  # panel members read at most (PanelArbitrator's MAX_PANEL)
GRANTS_NAME = "Photo key for the arbitration panel (shared by a committee member)"


@dataclass(frozen=True)
class Referral:
    """A claim the Dispute event says reached an arbitrator: its block, claim, product and arbitrator."""

    block: int
    claim_id: int
    product_id: int
    arbitrator: str


class KeySharer:
    """Finds claims of this member's products at a keyed arbitrator without grants for all its key holders and
    shares the content key with them (see the module docstring for who acts when)."""

    def __init__(
        self,
        client: ClaimsManagerClient,
        store: NodeStore,
        content: ContentStore,
        reader: Reader,
        directory: str,
        sign: Callable[[dict[str, Any]], tuple[bytes, bytes]],
        *,
        start_block: int = 0,
        follow_seconds: int = FOLLOW_SECONDS,
    ) -> None:
        """Share as `reader`'s account (signing with `sign`), reading keys from the KeyDirectory at `directory`."""
        self.client, self.store, self.content, self.reader, self.sign = client, store, content, reader, sign
        self.w3 = client.w3
        self._desk: Contract | None = None  # read from the manager at the first poll (it may not be deployed yet)
        self.keys = key_directory(self.w3, directory)
        self.start_block, self.follow_seconds = start_block, follow_seconds
        self.gas_used: list[int] = []  # gas of each submitEvidence this member sent (for the logs and the bench)

    @property
    def desk(self) -> Contract:
        """The manager's dispute desk."""
        if self._desk is None:
            address = Web3.to_checksum_address(self.client.call("desk"))
            self._desk = self.w3.eth.contract(address=address, abi=contract_type("DisputeDesk")["abi"])
        return self._desk

    def poll(self) -> int:
        """Read new Dispute events, share the key of each claim whose turn has come; returns how many were shared."""
        cursor = self.store.cursor(self.client.chain_id, self.desk.address)
        first = cursor[0] + 1 if cursor else self.start_block
        head = self.w3.eth.block_number
        if first > head:
            return 0
        now = int(self.w3.eth.get_block(head)["timestamp"])
        shared, waiting = 0, None
        for referral in self._referrals(first, head):
            done = self._handle(referral, now)
            if done is None and waiting is None:
                waiting = referral.block  # not this member's turn yet: read again from here
            shared += bool(done)
        keep = head if waiting is None else waiting - 1
        if keep >= first - 1:
            self.store.set_cursor(self.client.chain_id, self.desk.address, keep, bytes(32))
        return shared

    def _referrals(self, first: int, last: int) -> list[Referral]:
        """The Dispute events of [first, last], read in the client's log chunks."""
        found: list[Referral] = []
        for start, end in block_ranges(first, last, self.client.log_chunk_blocks):
            for event in self.desk.events.Dispute().get_logs(from_block=start, to_block=end):
                args = event["args"]
                found.append(
                    Referral(
                        int(event["blockNumber"]),
                        int(args["_evidenceGroupID"]),
                        int(args["_metaEvidenceID"]),
                        str(args["_arbitrator"]),
                    )
                )
        return found

    def _handle(self, referral: Referral, now: int) -> bool | None:
        """Share one claim's key if needed and it is this member's turn: True shared, False nothing to do, None
        wait for its turn."""
        epoch = self.client.committee_epoch(referral.product_id)
        committee = [m.lower() for m in self.client.committee(referral.product_id, epoch)]
        me = self.reader.address.lower()
        if me not in committee:
            return False
        readers = self.arbitrator_readers(referral.arbitrator)
        if not readers:
            return False  # an arbitrator that publishes no key (an ERC-792 court such as Kleros)
        claim = self.client.claim(referral.claim_id)
        root = "0x" + bytes(claim["evidenceRoot"]).hex()
        try:
            manifest = load_manifest(root, self.content)
            sealed = json.loads(manifest)
            if not manifest_is_sealed(sealed):
                return False
            granted = self._granted(referral, sealed["sealed"], root)
            if all(address.lower() in granted for address, _ in readers):
                return False
            place = (committee.index(me) - referral.claim_id) % len(committee)
            opened = int(self.desk.functions.disputeOf(referral.claim_id).call()[2])
            if now < opened + place * self.follow_seconds:
                return None
            key = evidence_key(manifest, self.reader)
        except (EvidenceError, SealError, ContentStoreError, ValueError) as exc:
            log.warning("claim %d: cannot share its key with the arbitrator: %s", referral.claim_id, exc)
            return False
        if key is None:
            return False
        grants = [wrap_key(key, public, address) for address, public in readers]
        document = key_grants_document(referral.claim_id, root, grants, GRANTS_NAME)
        cid = self.content.put(canonical_json(document))
        self._submit(referral.claim_id, f"ipfs://{cid}")
        log.info("claim %d: shared its key with %d arbitrator key holder(s) as %s", referral.claim_id, len(grants), cid)
        return True

    def arbitrator_readers(self, arbitrator: str) -> list[tuple[str, bytes]]:
        """An arbitrator's key holders: a panel's members with published keys, else its own published key."""
        panel = self.w3.eth.contract(
            address=Web3.to_checksum_address(arbitrator), abi=contract_type("PanelArbitrator")["abi"]
        )
        members: list[str] = []
        for i in range(MAX_PANEL):
            try:
                members.append(str(panel.functions.panel(i).call()))
            except (ContractLogicError, Web3Exception, ValueError):
                break  # the end of the panel, or an arbitrator that is no panel
        candidates = members or [arbitrator]
        keyed = [(member, published_key(self.keys, member)) for member in candidates]
        return [(member, key) for member, key in keyed if key is not None]

    def _granted(self, referral: Referral, sealed: dict[str, Any], root: str) -> set[str]:
        """Who the manifest and the claim's evidence documents (readable ones) grant the key to, read from the claim's
        submission (the block its job row recorded, else the node's start block) to the head."""
        documents: list[Any] = []
        job = self.store.job(self.client.chain_id, self.client.address, referral.claim_id)
        first = int(job.event["block_number"]) if job is not None and job.event else self.start_block
        for start, end in block_ranges(first, self.w3.eth.block_number, self.client.log_chunk_blocks):
            events = self.desk.events.Evidence().get_logs(
                from_block=start, to_block=end, argument_filters={"_evidenceGroupID": referral.claim_id}
            )
            for event in events:
                uri = str(event["args"]["_evidence"])
                if not uri.startswith("ipfs://"):
                    continue
                try:
                    documents.append(json.loads(self.content.get(uri.removeprefix("ipfs://"))))
                except (ContentStoreError, ValueError):
                    continue  # unreadable evidence shares nothing
        return granted_readers(sealed, root, documents)

    def _submit(self, claim_id: int, uri: str) -> None:
        """Send DisputeDesk.submitEvidence from this member and wait for it to be mined."""
        sender = Web3.to_checksum_address(self.reader.address)
        params: TxParams = {"from": sender, "nonce": Nonce(self.client.nonce(sender)), "chainId": self.client.chain_id}
        tx = self.desk.functions.submitEvidence(claim_id, uri).build_transaction(params)
        raw, _ = self.sign(dict(tx))
        tx_hash = self.w3.eth.send_raw_transaction(raw)
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash)
        if receipt["status"] != 1:
            raise ValueError(f"claim {claim_id}: submitEvidence reverted")
        self.gas_used.append(int(receipt["gasUsed"]))
        log.info("claim %d: submitEvidence mined, %d gas", claim_id, receipt["gasUsed"])
