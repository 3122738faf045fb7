"""Where the bridge learns a claim's facts: the chain, by claim id; a caller never supplies them."""

from __future__ import annotations

import logging
from typing import Protocol

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

    chain_id: int
    contract: str

    def claim(self, claim_id: int) -> Claim:
        """The claim as recorded; ClaimNotOnChainError if there is none, ChainUnavailableError if unreadable."""


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
    def chain_id(self) -> int:  # type: ignore[override]
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

    def _read(self, read):
        try:
            return read()
        except ClaimContextError:
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
    return ChainClaims(ClaimsManagerClient(w3, settings.contract_address), insured_objects, settings.start_block)
