"""Fixtures for the adapter tests: the real app factory around a real assessor, store and (when exported) model, and
a ledger standing in for the chain the bridge reads claims from (tests/adapter/test_bridge_chain.py uses anvil)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from eth_account import Account

from oracle.adapter.app import create_app
from oracle.adapter.claims import ClaimNotOnChainError
from oracle.adapter.schema import bridge_data
from oracle.adapter.uploads import PERMIT_HEADER, sign_permit
from oracle.assess import Claim
from oracle.settings import load_settings
from tests.claim.conftest import (  # noqa: F401 - fixtures shared with the pipeline tests
    CONTRACT,
    damage_model,
    make_assessor,
    make_context,
    noaa,
    photo_bytes,
    store,
    terms_hash,
)


class Ledger:
    """Claims as a chain would record them, by id: what the bridge may assess (a ClaimSource)."""

    def __init__(self, chain_id: int = 31337, contract: str = CONTRACT) -> None:
        self.chain_id, self.contract = chain_id, contract
        self.claims: dict[int, Claim] = {}
        self.committees: dict[int, list[str]] = {}
        self.epochs: dict[int, int] = {}  # the committee epoch of each claim's report (1 unless set)
        self.holders: set[str] = {HOLDER.address.lower()}  # who holds a live policy
        self.insurers: set[str] = set()  # who created a product
        self.contract_signers: dict[str, set[bytes]] = {}  # EIP-1271 holders: the signatures each accepts
        self.evidence_roots: list[bytes] = []  # evidence roots of submitted claims, in order
        self.evidence_uris: list[str] = []  # ERC-1497 evidence URIs published

    def put(self, claim: Claim) -> Claim:
        """Record a claim, as submitClaim would; returns it."""
        self.claims[claim.claim_id] = claim
        return claim

    def claim(self, claim_id: int) -> Claim:
        """The recorded claim, or ClaimNotOnChainError."""
        if claim_id not in self.claims:
            raise ClaimNotOnChainError(f"claim {claim_id} is not a submitted claim of ClaimsManager {self.contract}")
        return self.claims[claim_id]

    def committee(self, claim_id: int) -> list[str]:
        """The committee of a recorded claim (`committees`, none by default), or ClaimNotOnChainError."""
        self.claim(claim_id)
        return self.committees.get(claim_id, [])

    def report_epoch(self, claim_id: int) -> int:
        """The epoch a report on a recorded claim names (`epochs`, 1 by default), or ClaimNotOnChainError."""
        self.claim(claim_id)
        return self.epochs.get(claim_id, 1)

    def holds_policy(self, account: str) -> bool:
        """Whether `account` holds a live policy (`holders`)."""
        return account.lower() in self.holders

    def insures_product(self, account: str) -> bool:
        """Whether `account` created a product (`insurers`)."""
        return account.lower() in self.insurers

    def contract_accepts_signature(self, account: str, digest: bytes, signature: bytes) -> bool | None:
        """EIP-1271 as a contract in `contract_signers` answers; None for an account without code."""
        accepted = self.contract_signers.get(account.lower())
        return None if accepted is None else signature in accepted

    def evidence_references(self, from_block: int) -> tuple[list[bytes], list[str], int]:
        """Roots and URIs recorded from index `from_block` on (the list index stands in for the block)."""
        roots, uris = self.evidence_roots[from_block:], self.evidence_uris
        return roots, uris, len(self.evidence_roots)


HOLDER = Account.from_key("0x" + "4d" * 32)
"""A policy holder on every ledger."""


def permit_for(client, key: bytes | str = HOLDER.key, *, expires_in: float = 3600, origin: str | None = None) -> dict:
    """Headers with an upload permit signed by `key` for the gateway `client` talks to (or `origin`)."""
    origin = origin or str(client.make_url("")).rstrip("/")
    return {PERMIT_HEADER: sign_permit(key, origin, int(time.time() + expires_in))}


@pytest.fixture(autouse=True)
def _state_dir(tmp_path, monkeypatch) -> None:
    """Each test's gateway keeps its upload ledger in the test's own folder, not in the checkout's var/."""
    monkeypatch.setenv("CLAIMS_ORACLE_STATE_DIR", str(tmp_path))


@pytest.fixture
def ledger() -> Ledger:
    """An empty ledger of claims."""
    return Ledger()


@pytest.fixture
def on_chain(make_context, ledger) -> Callable[..., Claim]:  # noqa: F811 - the fixture, not the import
    """Factory: a claim with its evidence stored (as make_context builds it), recorded on the ledger."""

    def build(*args, **kwargs) -> Claim:
        return ledger.put(make_context(*args, **kwargs))

    return build


def bridge_body(ctx: Claim, job_id: object = "job-1", **data_overrides) -> dict:
    """A Chainlink bridge request for a claim, as the job spec sends it (the claim's id, chain and contract)."""
    data = bridge_data(ctx)
    data.update(data_overrides)
    return {"id": job_id, "data": data, "meta": {"oracleRequest": {"requester": "0x" + "00" * 20}}}


@pytest.fixture
def make_client(aiohttp_client, store, ledger) -> Callable:  # noqa: F811 - `store` is the fixture imported above
    """Factory: a test client around create_app(settings, assessor, store, claims=ledger), with settings overrides."""

    async def build(assessor, **settings_overrides):
        settings = load_settings(**settings_overrides)
        return await aiohttp_client(create_app(settings, assessor, store, claims=ledger))

    return build
