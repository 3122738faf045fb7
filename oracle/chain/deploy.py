"""Deploy the contracts and configure products over plain web3, from an unlocked dev account or a local signer."""

from __future__ import annotations

import tomllib
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.logs import DISCARD
from web3.types import TxParams, TxReceipt, Wei

from oracle.chain.contracts import ClaimsManagerClient, contract_type
from oracle.domain import ARBITRATION_RESERVE_WEI, DEFAULT_MAX_OPEN_CLAIMS, REPO_ROOT, REVIEW_DEADLINE_S

ETH = 10**18
DAY = 24 * 3600
ZERO_ADDRESS = "0x" + "00" * 20
CHAINLINK_JOB_SPEC = REPO_ROOT / "chainlink" / "claims_assessment_job.toml"
"""The shipped Chainlink directrequest job whose OracleRequest logs `AssessmentRequests` emits."""


class TxSigner(Protocol):
    """An account whose key signs here, never unlocked on the chain's node (a node's `Signer` is one)."""

    @property
    def address(self) -> str:
        """The account's checksummed address."""
        ...

    def sign_transaction(self, tx: dict[str, Any]) -> tuple[bytes, bytes]:
        """Sign a transaction; returns (raw bytes, hash)."""
        ...


Sender = str | TxSigner
"""Who sends a transaction: the address of an account unlocked on the node (dev chains), or a local signer."""


def sender_address(sender: Sender) -> ChecksumAddress:
    """The checksummed address a sender sends from."""
    return Web3.to_checksum_address(sender if isinstance(sender, str) else sender.address)


def send(w3: Web3, sender: Sender, tx: TxParams) -> TxReceipt:
    """Send a built transaction (gas and fees filled) and return its receipt: through the node for an unlocked
    account, else signed here at the account's next nonce and sent raw; the one place either path diverges."""
    if isinstance(sender, str):
        tx_hash = w3.eth.send_transaction(tx)
    else:
        nonce = w3.eth.get_transaction_count(sender_address(sender), "pending")
        raw, _ = sender.sign_transaction({**dict(tx), "nonce": nonce})
        tx_hash = w3.eth.send_raw_transaction(raw)
    return w3.eth.wait_for_transaction_receipt(tx_hash)


def deploy(w3: Web3, name: str, *args: Any, sender: Sender) -> Contract:
    """Deploy a compiled contract and return it bound to its address."""
    spec = contract_type(name)
    factory = w3.eth.contract(abi=spec["abi"], bytecode=spec["bytecode"])
    receipt = send(w3, sender, factory.constructor(*args).build_transaction({"from": sender_address(sender)}))
    address = receipt["contractAddress"]
    if receipt["status"] != 1 or address is None:
        raise RuntimeError(f"deploying {name} failed in transaction {receipt['transactionHash'].hex()}")
    return w3.eth.contract(address=address, abi=spec["abi"])


DEMO_CLASS_FACTORS_BPS = (8_000, 10_000, 12_500, 12_000, 25_000)
"""The demo product's premium per vehicle class in basis points of its 0.1 ETH base premium, in the order of the
demo terms' cost schedule (compact, sedan, suv, pickup, luxury): the dearer a class's repairs, the dearer its cover."""
DEMO_VEHICLE_CLASS = 1
"""The class the demo's, the benches' and the tests' policies declare unless told: sedan, at the base premium."""


def demo_product_config(
    committee: list[str], threshold: int, arbitrator: str, model_hash: bytes, terms_hash: bytes, **overrides: Any
) -> dict[str, Any]:
    """A motor own-damage product in ETH: 10 ETH cover, 0.5 ETH deductible, 0.1 ETH base premium priced per vehicle
    class, 1 ETH instant limit, 3-day window, the insurer reviewing REFERs within 7 days."""
    config = {
        "asset": ZERO_ADDRESS,
        "coverageLimit": 10 * ETH,
        "deductible": ETH // 2,
        "premium": ETH // 10,
        "classFactors": list(DEMO_CLASS_FACTORS_BPS),
        "term": 365 * DAY,
        "perils": 0b111111,
        "committee": committee,
        "threshold": threshold,
        "models": [model_hash],
        "instantLimit": ETH,
        "minConfidence": 9000,
        "disputeWindow": 3 * DAY,
        "disputeBond": ETH // 20,
        "arbitrator": arbitrator,
        "arbitratorExtraData": b"",
        "oracleTimeout": DAY,
        "termsHash": terms_hash,
        "metaEvidenceURI": "ipfs://claims-oracle-demo-meta-evidence",
        "maxOpenClaims": DEFAULT_MAX_OPEN_CLAIMS,
        "instantDailyCap": 5 * ETH,
        "adjuster": ZERO_ADDRESS,  # the insurer reviews its REFERs itself
        "reviewDeadline": REVIEW_DEADLINE_S,
    }
    config.update(overrides)
    return config


@dataclass
class Contracts:
    """The claims contracts: the manager, the governor and dispute desk bound to it, and the key directory."""

    manager: ClaimsManagerClient
    governor: Contract
    desk: Contract
    keys: Contract


@dataclass
class System(Contracts):
    """The deployed contracts with the panel arbitrator the demo products name."""

    arbitrator: Contract


def deploy_arbitrator(w3: Web3, deployer: Sender, panel: list[str], quorum: int = 2, fee: int = ETH // 100) -> Contract:
    """Deploy a PanelArbitrator whose `quorum` of `panel` rule, for `fee` wei per dispute."""
    return deploy(w3, "PanelArbitrator", panel, quorum, fee, sender=deployer)


def deploy_contracts(w3: Web3, deployer: Sender) -> Contracts:
    """Deploy a product governor, a dispute desk, the claims manager bound to both, and the key directory where
    members publish the keys evidence is sealed for."""
    governor = deploy(w3, "ProductGovernor", sender=deployer)
    desk = deploy(w3, "DisputeDesk", sender=deployer)
    manager = deploy(w3, "ClaimsManager", governor.address, desk.address, sender=deployer)
    for bound in (governor, desk):
        if bound.functions.manager().call() != manager.address:
            raise RuntimeError(f"{bound.address} is bound to another manager; deploy again")
    keys = deploy(w3, "KeyDirectory", sender=deployer)
    return Contracts(manager=ClaimsManagerClient(w3, manager.address), governor=governor, desk=desk, keys=keys)


def deploy_system(w3: Web3, deployer: Sender, panel: list[str], quorum: int = 2, fee: int = ETH // 100) -> System:
    """Deploy a panel arbitrator and the claims contracts (`deploy_contracts`)."""
    arbitrator = deploy_arbitrator(w3, deployer, panel, quorum, fee)
    return System(**vars(deploy_contracts(w3, deployer)), arbitrator=arbitrator)


def chainlink_spec_id(external_job_id: str | None = None) -> bytes:
    """The log topic a directrequest job answers to: its external job id's 32 hex digits as bytes (the shipped
    job's id by default), as Chainlink encodes it."""
    job_id = external_job_id or tomllib.loads(CHAINLINK_JOB_SPEC.read_text())["externalJobID"]
    return uuid.UUID(job_id).hex.encode()


def deploy_requests(w3: Web3, deployer: Sender, manager: str, external_job_id: str | None = None) -> Contract:
    """Deploy the AssessmentRequests contract that asks the Chainlink job (`chainlink_spec_id`) about `manager`'s
    claims."""
    return deploy(w3, "AssessmentRequests", manager, chainlink_spec_id(external_job_id), sender=deployer)


def governor_of(manager: ClaimsManagerClient) -> Contract:
    """The product governor the manager is bound to (where products are created and governed)."""
    return _bound(manager, "governor", "ProductGovernor")


def desk_of(manager: ClaimsManagerClient) -> Contract:
    """The dispute desk the manager is bound to (where claims are disputed and escalated, and bonds held)."""
    return _bound(manager, "desk", "DisputeDesk")


def _bound(manager: ClaimsManagerClient, getter: str, name: str) -> Contract:
    """The contract `name` whose address the manager's `getter()` returns."""
    address = Web3.to_checksum_address(manager.contract.functions[getter]().call())
    return manager.w3.eth.contract(address=address, abi=contract_type(name)["abi"])


def transact(w3: Web3, call: ContractFunction, sender: Sender, value: int = 0) -> TxReceipt:
    """Send a contract call and return its successful receipt."""
    address = sender_address(sender)
    receipt = send(w3, sender, call.build_transaction({"from": address, "value": Wei(value)}))
    if receipt["status"] != 1:
        raise RuntimeError(f"transaction {receipt['transactionHash'].hex()} from {address} reverted")
    return receipt


def create_product(
    manager: ClaimsManagerClient,
    insurer: Sender,
    config: dict[str, Any],
    capital: int,
    arbitration_reserve: int = ARBITRATION_RESERVE_WEI,
) -> int:
    """Create an ETH product from `config` through the manager's governor, fund it with `capital` wei and its
    dispute desk's arbitration reserve with `arbitration_reserve` wei, return its id."""
    functions = manager.contract.functions
    receipt = transact(manager.w3, governor_of(manager).functions.createProduct(config), insurer)
    product_id: int = (
        manager.contract.events.ProductCreated().process_receipt(receipt, errors=DISCARD)[0].args.productId
    )
    if capital:
        transact(manager.w3, functions.depositCapital(product_id, capital), insurer, value=capital)
    if arbitration_reserve:
        transact(manager.w3, desk_of(manager).functions.fundArbitration(product_id), insurer, value=arbitration_reserve)
    return product_id


def buy_policy(
    manager: ClaimsManagerClient,
    holder: Sender,
    product_id: int,
    insured_object: bytes,
    vehicle_class: int = DEMO_VEHICLE_CLASS,
) -> int:
    """Buy a policy on an ETH product for a vehicle of `vehicle_class` (its index in the terms' cost schedule),
    paying that class's premium, and return its id."""
    premium = manager.call("premiumOf", product_id, vehicle_class)
    receipt = transact(
        manager.w3,
        manager.contract.functions.buyPolicy(product_id, insured_object, vehicle_class),
        holder,
        value=premium,
    )
    policy_id: int = manager.contract.events.PolicyPurchased().process_receipt(receipt, errors=DISCARD)[0].args.policyId
    return policy_id


def submit_claim(
    manager: ClaimsManagerClient,
    holder: Sender,
    policy_id: int,
    evidence_root: bytes,
    evidence_uri: str,
    incident_time: int,
    peril_index: int,
    latitude_e6: int,
    longitude_e6: int,
    amount: int,
) -> int:
    """Submit a claim and return its id."""
    receipt = transact(
        manager.w3,
        manager.contract.functions.submitClaim(
            policy_id, evidence_root, evidence_uri, incident_time, peril_index, latitude_e6, longitude_e6, amount
        ),
        holder,
    )
    claim_id: int = manager.contract.events.ClaimSubmitted().process_receipt(receipt, errors=DISCARD)[0].args.claimId
    return claim_id
