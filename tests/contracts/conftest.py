"""Fixtures for the contract tests: role-named accounts, deployed contracts and factories."""

from __future__ import annotations

import pytest
from eth_utils import keccak

from oracle.chain.deploy import DEMO_VEHICLE_CLASS, demo_product_config
from oracle.chain.report import Decision, Domain, Report, report_deadline, sign_quorum
from oracle.domain import ARBITRATION_RESERVE_WEI

ETH = 10**18
DAY = 24 * 3600
MODEL_HASH = keccak(b"damage-model-v1")
OTHER_MODEL_HASH = keccak(b"damage-model-v2")
TERMS_HASH = keccak(b"terms-v1")
EVIDENCE_ROOT = keccak(b"evidence-manifest-1")
PERIL_COLLISION, PERIL_HAIL = 0, 1

# The demo product's terms (committee and arbitrator are filled in by `create_product`).
DEFAULT_PRODUCT = demo_product_config(
    [], 2, "0x" + "00" * 20, MODEL_HASH, TERMS_HASH, metaEvidenceURI="ipfs://bafkmetaevidence"
)
ARBITRATION_FEE = ETH // 100


@pytest.fixture(scope="session")
def deployer(accounts):
    """Deploys the contracts."""
    return accounts[0]


@pytest.fixture(scope="session")
def insurer(accounts):
    """Owns the products and their capital."""
    return accounts[1]


@pytest.fixture(scope="session")
def claimant(accounts):
    """Holds policies and submits claims."""
    return accounts[2]


@pytest.fixture(scope="session")
def stranger(accounts):
    """Has no role anywhere."""
    return accounts[3]


@pytest.fixture(scope="session")
def oracles(accounts):
    """The three committee members (test accounts, whose private keys sign reports)."""
    return [accounts[4], accounts[5], accounts[6]]


@pytest.fixture(scope="session")
def panelists(accounts):
    """The three members of the arbitration panel."""
    return [accounts[7], accounts[8], accounts[9]]


@pytest.fixture(scope="session")
def arbitrator(project, deployer, panelists):
    """The panel arbitrator: 2 of 3 panelists decide."""
    return deployer.deploy(project.PanelArbitrator, [p.address for p in panelists], 2, ARBITRATION_FEE)


@pytest.fixture(scope="session")
def governor(project, deployer):
    """The product governor: where insurers create and govern products."""
    return deployer.deploy(project.ProductGovernor)


@pytest.fixture(scope="session")
def desk(project, deployer):
    """The dispute desk: the ERC-792 arbitrable that takes claims to the arbitrator and holds the bonds."""
    return deployer.deploy(project.DisputeDesk)


@pytest.fixture(scope="session")
def manager(project, deployer, governor, desk):
    """The claims manager, bound to the governor and the desk."""
    return deployer.deploy(project.ClaimsManager, governor, desk)


@pytest.fixture(scope="session")
def domain(manager, chain):
    """The EIP-712 domain of the deployed manager."""
    return Domain(chain_id=chain.chain_id, verifying_contract=manager.address)


@pytest.fixture(scope="session")
def token(project, deployer):
    """An ERC-20 payout asset that returns true."""
    return deployer.deploy(project.MockERC20, True)


@pytest.fixture(scope="session")
def no_bool_token(project, deployer):
    """A USDT-style payout asset whose transfers return nothing."""
    return deployer.deploy(project.MockERC20, False)


@pytest.fixture(scope="session")
def create_product(manager, governor, desk, insurer, oracles, arbitrator):
    """Factory: creates a product (ETH by default) and funds it with `capital` and an arbitration `reserve`."""

    def create(
        capital: int = 100 * ETH, asset=None, sender=None, reserve: int = ARBITRATION_RESERVE_WEI, **overrides
    ) -> int:
        config = dict(DEFAULT_PRODUCT)
        config["asset"] = asset.address if asset is not None else "0x" + "00" * 20
        config["committee"] = [o.address for o in oracles]
        config["arbitrator"] = arbitrator.address
        config.update(overrides)
        owner = sender or insurer
        receipt = governor.createProduct(config, sender=owner)
        product_id = receipt.decode_logs(manager.ProductCreated)[0].productId
        # the insurer's share of arbitration fees: without it, a claimant who disputes wins by default
        if reserve:
            desk.fundArbitration(product_id, value=reserve, sender=owner)
        if capital:
            if asset is None:
                manager.depositCapital(product_id, capital, value=capital, sender=owner)
            else:
                asset.mint(owner, capital, sender=owner)
                asset.approve(manager, capital, sender=owner)
                manager.depositCapital(product_id, capital, sender=owner)
        return product_id

    return create


@pytest.fixture(scope="session")
def buy_policy(manager, claimant):
    """Factory: buys a policy on a vehicle of a class (sedan, at the base premium, unless told) on a product, paying
    the class's ETH premium unless a token is given."""

    def buy(product_id: int, holder=None, token=None, vehicle_class: int = DEMO_VEHICLE_CLASS) -> int:
        holder = holder or claimant
        premium = manager.premiumOf(product_id, vehicle_class)
        if token is not None:
            token.mint(holder, premium, sender=holder)
            token.approve(manager, premium, sender=holder)
            receipt = manager.buyPolicy(product_id, keccak(b"VIN-1"), vehicle_class, sender=holder)
        else:
            receipt = manager.buyPolicy(product_id, keccak(b"VIN-1"), vehicle_class, value=premium, sender=holder)
        return receipt.decode_logs(manager.PolicyPurchased)[0].policyId

    return buy


@pytest.fixture(scope="session")
def submit_claim(manager, claimant, chain):
    """Factory: submits a claim on a policy and returns its id."""

    def submit(
        policy_id: int, amount: int = 2 * ETH, holder=None, root: bytes = EVIDENCE_ROOT, peril: int = PERIL_HAIL
    ) -> int:
        holder = holder or claimant
        chain.pending_timestamp += 3600  # the incident happens an hour into the policy
        incident = chain.pending_timestamp - 60
        receipt = manager.submitClaim(
            policy_id, root, "ipfs://bafkevidence", incident, peril, 40_000_000, -90_000_000, amount, sender=holder
        )
        return receipt.decode_logs(manager.ClaimSubmitted)[0].claimId

    return submit


@pytest.fixture(scope="session")
def make_report(manager):
    """Factory: a report for a claim, bound by default to its evidence root, terms and model."""

    def make(
        claim_id: int, decision: int = Decision.APPROVE, payout: int = ETH // 2, confidence: int = 9500, **overrides
    ) -> Report:
        fields = dict(
            claimId=claim_id,
            decision=int(decision),
            payout=payout,
            confidence=confidence,
            explanationHash=keccak(b"explanation-%d" % claim_id),
            modelHash=MODEL_HASH,
            evidenceRoot=bytes(manager.claim(claim_id).evidenceRoot),
            termsHash=TERMS_HASH,
            # the rules epoch the claim was submitted under (1 for an unknown claim) and the deadline nodes use
            epoch=max(1, manager.claim(claim_id).epoch),
            deadline=report_deadline(manager.claim(claim_id).timestamp),
        )
        fields.update(overrides)
        return Report(**fields)

    return make


@pytest.fixture(scope="session")
def sign(domain, oracles):
    """Factory: signatures over a report from the given oracle accounts (first two by default)."""

    def signatures(report: Report, signers=None, sign_domain: Domain | None = None) -> list[tuple]:
        chosen = signers if signers is not None else oracles[:2]
        return sign_quorum(report, sign_domain or domain, {s.address: s.private_key for s in chosen})

    return signatures


@pytest.fixture(scope="session")
def decide(manager, make_report, sign, deployer):
    """Factory: records a 2-of-3 signed decision on a claim and returns the receipt."""

    def record(claim_id: int, **report_fields):
        report = make_report(claim_id, **report_fields)
        return manager.submitSignedReport(report.as_tuple(), sign(report), sender=deployer)

    return record


@pytest.fixture(scope="session")
def apply_change(governor, chain, stranger):
    """Factory: waits out a product's pending change and applies it (anyone may); returns the receipt."""

    def apply(product_id: int):
        chain.pending_timestamp = max(chain.pending_timestamp, governor.changeEffectiveAt(product_id))
        return governor.applyChange(product_id, sender=stranger)

    return apply


@pytest.fixture(scope="session")
def open_claim(create_product, buy_policy, submit_claim):
    """Factory: a fresh product, a policy on it and a submitted claim; returns (product, policy, claim)."""

    def make(amount: int = 2 * ETH, **product_overrides):
        product_id = create_product(**product_overrides)
        policy_id = buy_policy(product_id)
        return product_id, policy_id, submit_claim(policy_id, amount=amount)

    return make


@pytest.fixture(scope="session", autouse=True)
def deployed(governor, desk, manager, arbitrator, token, no_bool_token):
    """Deploys every session contract before the first test, outside any test's isolation snapshot."""
    return governor, desk, manager, arbitrator, token, no_bool_token
