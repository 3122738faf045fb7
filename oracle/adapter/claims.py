"""Where the bridge learns a claim's facts: the chain, by claim id; a caller never supplies them."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from typing import Protocol

from aiohttp import web
from web3 import Web3

from oracle.assess import Claim
from oracle.chain.contracts import ClaimsManagerClient
from oracle.claim.context import ClaimContextError, InsuredObjects, claim_from_chain
from oracle.settings import Settings

log = logging.getLogger(__name__)

CHAIN_TIMEOUT_S = 10.0
"""How long one JSON-RPC read of the bridge may take before the request fails with a 502."""


class ClaimNotOnChainError(LookupError):
    """The claim id names no claim submitted to the configured contract."""


class ChainUnavailableError(RuntimeError):
    """The chain could not be read (RPC down, timeout, unexpected answer); the caller may retry."""


class ChainNotConfiguredError(RuntimeError):
    """This gateway has no contract to read claims from, so the bridge cannot assess."""


class ClaimSource(Protocol):
    """The claims the bridge may assess, by id, on one chain and contract."""

    @property
    def chain_id(self) -> int:
        """The chain's id."""

    @property
    def contract(self) -> str:
        """The ClaimsManager's address."""

    def claim(self, claim_id: int) -> Claim:
        """The claim as recorded; ClaimNotOnChainError if there is none, ChainUnavailableError if unreadable."""

    def committee(self, claim_id: int) -> list[str]:
        """The oracle committee of the claim's product now; ClaimNotOnChainError if there is no such claim."""

    def report_epoch(self, claim_id: int) -> int:
        """The committee epoch a report on the claim must name."""

    def holds_policy(self, account: str) -> bool:
        """Whether `account` holds a policy that has not ended, or still has a claim open."""

    def insures_product(self, account: str) -> bool:
        """Whether `account` is the insurer of a product (it shares claim photos' keys with an arbitrator)."""

    def contract_accepts_signature(self, account: str, digest: bytes, signature: bytes) -> bool | None:
        """EIP-1271 for a holder that is a contract; None when `account` is not a contract."""

    def evidence_references(self, from_block: int) -> tuple[list[bytes], list[str], int]:
        """Evidence roots of the claims submitted and ERC-1497 evidence URIs published from `from_block` on, and
        the block to read from next time."""


CLAIMS = web.AppKey("claims", ClaimSource)
"""Where the gateway reads claims (and their committees) from; absent when no contract is configured."""
COMMITTEE_TTL_S = 60.0
"""How long the relay trusts a committee it read (a member can leave its committee at once)."""
COMMITTEE_REFRESH_S = 5.0
"""A signer missing from a committee read longer ago than this triggers one fresh read (a member just added)."""


class Committees:
    """Each claim's committee, read from a claim source and remembered for COMMITTEE_TTL_S, at most `max_entries`."""

    def __init__(self, source: ClaimSource, max_entries: int = 4096, clock=time.monotonic) -> None:
        """Remember committees read from `source`."""
        self.source, self.max_entries, self.clock = source, max_entries, clock
        self._known: OrderedDict[int, tuple[float, frozenset[str]]] = OrderedDict()
        self.reads = 0

    def is_member(self, claim_id: int, signer: str) -> bool:
        """Whether `signer` is on the committee of claim `claim_id` (read from the chain at most once a minute,
        or once more when a signer is missing from a read older than COMMITTEE_REFRESH_S)."""
        now = self.clock()
        read_at, members = self._known.get(claim_id, (None, frozenset()))
        if read_at is None or now - read_at > COMMITTEE_TTL_S:
            read_at, members = self._read(claim_id, now)
        if signer.lower() in members:
            return True
        if now - read_at > COMMITTEE_REFRESH_S:
            _, members = self._read(claim_id, now)
        return signer.lower() in members

    def _read(self, claim_id: int, now: float) -> tuple[float, frozenset[str]]:
        self.reads += 1
        entry = (now, frozenset(member.lower() for member in self.source.committee(claim_id)))
        self._known[claim_id] = entry
        self._known.move_to_end(claim_id)
        while len(self._known) > self.max_entries:
            self._known.popitem(last=False)
        return entry


class ChainClaims:
    """Claims read from a deployed ClaimsManager with `claim_from_chain`, the same reading a node makes."""

    def __init__(
        self, client: ClaimsManagerClient, insured_objects: InsuredObjects | None = None, from_block: int = 0
    ) -> None:
        """Read through `client`; events are looked up from `from_block`, insured objects remembered in
        `insured_objects` (the gateway's database) so each policy's purchase is read once."""
        self.client, self.insured_objects, self.from_block = client, insured_objects, from_block
        self.contract = client.address
        self._chain_id: int | None = None

    @property
    def chain_id(self) -> int:
        """The chain's id, asked once."""
        if self._chain_id is None:
            self._chain_id = self._read(lambda: self.client.chain_id)
        return self._chain_id

    def claim(self, claim_id: int) -> Claim:
        """The claim `claim_id` as the chain holds it now."""
        claim = self._read(
            lambda: claim_from_chain(
                self.client, claim_id, insured_objects=self.insured_objects, from_block=self.from_block
            )
        )
        if claim is None:
            raise ClaimNotOnChainError(
                f"claim {claim_id} is not a submitted claim of ClaimsManager {self.contract} on chain "
                f"{self.chain_id}; the bridge assesses only claims recorded on-chain"
            )
        return claim

    def committee(self, claim_id: int) -> list[str]:
        """The committee of the claim's rules epoch (the one recorded at its submission), as the chain holds it now."""

        def read() -> list[str]:
            claim = self.client.claim(claim_id)
            if claim["status"] == 0:
                raise ClaimNotOnChainError(
                    f"claim {claim_id} is not a submitted claim of ClaimsManager {self.contract}; the relay keeps "
                    "signatures of on-chain claims only"
                )
            product_id = self.client.policy(claim["policyId"])["productId"]
            return self.client.committee(product_id, self.client.report_epoch(claim_id, product_id))

        return self._read(read)

    def report_epoch(self, claim_id: int) -> int:
        """The rules epoch a report on the claim must name: the one recorded when the claim was submitted."""

        def read() -> int:
            claim = self.client.claim(claim_id)
            return self.client.report_epoch(claim_id, self.client.policy(claim["policyId"])["productId"])

        return self._read(read)

    def holds_policy(self, account: str) -> bool:
        """Whether `account` holds a policy of this manager that has not ended, or still has a claim open."""

        def read() -> bool:
            ids = self.client.policies_of(account, self.from_block)
            if not ids:
                return False
            now = self.client.latest_timestamp()
            for policy_id in reversed(ids):  # the newest policy is the likeliest to be live
                policy = self.client.policy(policy_id)
                if policy["holder"].lower() == account.lower() and (policy["end"] >= now or policy["openClaims"]):
                    return True
            return False

        return self._read(read)

    def insures_product(self, account: str) -> bool:
        """Whether `account` created a product on this manager."""
        return self._read(lambda: bool(self.client.products_of(account, self.from_block)))

    def contract_accepts_signature(self, account: str, digest: bytes, signature: bytes) -> bool | None:
        """EIP-1271 for a holder that is a contract; None when `account` is not a contract."""
        return self._read(lambda: self.client.contract_accepts_signature(account, digest, signature))

    def evidence_references(self, from_block: int) -> tuple[list[bytes], list[str], int]:
        """Evidence roots of the claims submitted and ERC-1497 evidence URIs published from `from_block` on (at
        least the configured start block), and the block to read from next time."""

        def read() -> tuple[list[bytes], list[str], int]:
            first = max(from_block, self.from_block)
            last = self.client.w3.eth.block_number
            claims, _ = self.client.scan(first, last)
            uris = self.client.evidence_uris(first, last)
            return [c.evidence_root for c in claims], uris, last + 1

        return self._read(read)

    def _read(self, read):
        try:
            return read()
        except (ClaimContextError, ClaimNotOnChainError):
            raise
        except Exception as exc:  # noqa: BLE001 - any failure to read the chain is the chain's, and retryable
            raise ChainUnavailableError(
                f"could not read the chain at the configured RPC ({type(exc).__name__}: {str(exc)[:200]}); retry later"
            ) from None


def chain_claims(settings: Settings, insured_objects: InsuredObjects | None = None) -> ChainClaims | None:
    """The claims of the settings' contract over the settings' RPC; None when no contract is configured."""
    if not settings.contract_address:
        return None
    w3 = Web3(Web3.HTTPProvider(settings.rpc_url, request_kwargs={"timeout": CHAIN_TIMEOUT_S}))
    return ChainClaims(
        ClaimsManagerClient(w3, settings.contract_address, settings.log_chunk_blocks),
        insured_objects,
        settings.start_block,
    )
