"""Typed web3 access to the compiled contracts: ABIs from ape's build output, deployment, reads and events."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from web3 import Web3
from web3.contract import Contract

from oracle.chain.report import Domain, Report

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_MANIFEST = REPO_ROOT / ".build" / "__local__.json"


class BuildMissingError(RuntimeError):
    """The compiled contracts are not there (run `ape compile` or `make setup`)."""


@lru_cache(maxsize=None)
def contract_type(name: str, manifest: Path = BUILD_MANIFEST) -> dict:
    """The ABI and deployment bytecode of a compiled contract, read from ape's build manifest."""
    if not manifest.is_file():
        raise BuildMissingError(f"no compiled contracts at {manifest}: run `make setup` (or `ape compile`)")
    types = json.loads(manifest.read_text())["contractTypes"]
    if name not in types:
        raise BuildMissingError(f"contract {name!r} is not in {manifest}; compiled: {sorted(types)}")
    return {"abi": types[name]["abi"], "bytecode": types[name]["deploymentBytecode"]["bytecode"]}


def deploy(w3: Web3, name: str, *args: Any, sender: str) -> Contract:
    """Deploy a compiled contract from an unlocked account and return it bound to its address."""
    spec = contract_type(name)
    factory = w3.eth.contract(abi=spec["abi"], bytecode=spec["bytecode"])
    tx_hash = factory.constructor(*args).transact({"from": sender})
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    if receipt.status != 1:
        raise RuntimeError(f"deploying {name} failed in transaction {tx_hash.hex()}")
    return w3.eth.contract(address=receipt.contractAddress, abi=spec["abi"])


@dataclass(frozen=True)
class ClaimSubmitted:
    """A `ClaimSubmitted` event with where it was mined."""

    claim_id: int
    policy_id: int
    holder: str
    evidence_root: bytes
    evidence_uri: str
    incident_time: int
    peril: int
    latitude_e6: int
    longitude_e6: int
    claimed_amount: int
    block_number: int
    block_hash: bytes
    tx_hash: bytes
    log_index: int


class ClaimsManagerClient:
    """Reads and events of one deployed ClaimsManager."""

    def __init__(self, w3: Web3, address: str):
        """Bind to the manager at `address` on the chain `w3` talks to."""
        self.w3 = w3
        self.contract = w3.eth.contract(address=Web3.to_checksum_address(address),
                                        abi=contract_type("ClaimsManager")["abi"])

    @property
    def address(self) -> str:
        """The manager's checksummed address."""
        return self.contract.address

    def domain(self) -> Domain:
        """The EIP-712 domain reports for this manager are signed in."""
        return Domain(chain_id=self.w3.eth.chain_id, verifying_contract=self.address)

    def claim(self, claim_id: int, block: int | str = "latest") -> dict:
        """The claim record as a dict of the contract's field names."""
        return self._struct("claim", claim_id, block)

    def policy(self, policy_id: int, block: int | str = "latest") -> dict:
        """The policy record as a dict of the contract's field names."""
        return self._struct("policy", policy_id, block)

    def product(self, product_id: int, block: int | str = "latest") -> dict:
        """The product record as a dict of the contract's field names."""
        return self._struct("product", product_id, block)

    def committee(self, product_id: int) -> list[str]:
        """The product's current committee addresses."""
        return list(self.contract.functions.committee(product_id).call())

    def claims_submitted(self, from_block: int, to_block: int) -> list[ClaimSubmitted]:
        """Every `ClaimSubmitted` event mined in [from_block, to_block], in chain order."""
        if to_block < from_block:
            return []
        logs = self.contract.events.ClaimSubmitted().get_logs(from_block=from_block, to_block=to_block)
        return [_claim_submitted(log) for log in sorted(logs, key=lambda log: (log.blockNumber, log.logIndex))]

    def claim_submitted(self, claim_id: int, from_block: int = 0) -> ClaimSubmitted | None:
        """The `ClaimSubmitted` event of one claim on the current chain (mined from `from_block` on), or None."""
        logs = self.contract.events.ClaimSubmitted().get_logs(from_block=from_block,
                                                              argument_filters={"claimId": claim_id})
        return _claim_submitted(logs[-1]) if logs else None

    def claim_decided(self, claim_id: int, from_block: int = 0) -> dict | None:
        """The `ClaimDecided` event of one claim (decision, payout, confidence, hashes), or None."""
        logs = self.contract.events.ClaimDecided().get_logs(from_block=from_block,
                                                            argument_filters={"claimId": claim_id})
        return dict(logs[-1].args) if logs else None

    def insured_object(self, policy_id: int, policy_start: int, last_block: int) -> bytes:
        """The insured object of a policy, read from its `PolicyPurchased` event in the blocks of its start time."""
        first, last = blocks_at_time(self.w3, policy_start, last_block)
        logs = [] if first > last else self.contract.events.PolicyPurchased().get_logs(
            from_block=first, to_block=last, argument_filters={"policyId": policy_id})
        if not logs:
            raise ValueError(f"no PolicyPurchased event of policy {policy_id} in blocks {first}..{last} "
                              f"(timestamp {policy_start})")
        return bytes(logs[-1].args.insuredObject)

    def vote_report_tx(self, report: Report, sender: str) -> dict:
        """An unsigned `voteReport` transaction from `sender`, with gas estimated."""
        return self.contract.functions.voteReport(report.as_tuple()).build_transaction({"from": sender})

    def signed_report_tx(self, report: Report, signatures: list[tuple], sender: str) -> dict:
        """An unsigned `submitSignedReport` transaction from `sender`, with gas estimated."""
        return self.contract.functions.submitSignedReport(report.as_tuple(), signatures).build_transaction(
            {"from": sender})

    def _struct(self, function: str, key: int, block: int | str) -> dict:
        """Call a struct getter and name its fields as the ABI does."""
        abi = next(item for item in self.contract.abi if item.get("name") == function)
        names = [component["name"] for component in abi["outputs"][0]["components"]]
        values = getattr(self.contract.functions, function)(key).call(block_identifier=block)
        return dict(zip(names, values))


def blocks_at_time(w3: Web3, timestamp: int, last_block: int) -> tuple[int, int]:
    """The first and last block in [0, last_block] stamped `timestamp`, by bisection (empty range if none)."""
    stamps: dict[int, int] = {}

    def first_after(moment: int) -> int:
        low, high = 0, last_block + 1  # the answer is in [low, high]; high means "no such block"
        while low < high:
            middle = (low + high) // 2
            if middle not in stamps:
                stamps[middle] = w3.eth.get_block(middle).timestamp
            low, high = (middle + 1, high) if stamps[middle] <= moment else (low, middle)
        return low

    return first_after(timestamp - 1), first_after(timestamp) - 1


def _claim_submitted(log) -> ClaimSubmitted:
    """A decoded `ClaimSubmitted` log as a typed record."""
    return ClaimSubmitted(
        claim_id=log.args.claimId, policy_id=log.args.policyId, holder=log.args.holder,
        evidence_root=bytes(log.args.evidenceRoot), evidence_uri=log.args.evidenceURI,
        incident_time=log.args.incidentTime, peril=log.args.peril, latitude_e6=log.args.latitudeE6,
        longitude_e6=log.args.longitudeE6, claimed_amount=log.args.claimedAmount,
        block_number=log.blockNumber, block_hash=bytes(log.blockHash), tx_hash=bytes(log.transactionHash),
        log_index=log.logIndex,
    )
