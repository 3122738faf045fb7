"""Any ERC-792 arbitrator plugs into a product by address: a Solidity one that shares no code with the panel."""

from __future__ import annotations

import json
import subprocess

import pytest
from eth_utils import keccak

from oracle.chain.deploy import ETH, buy_policy, create_product, demo_product_config, deploy_system, desk_of, transact
from oracle.chain.report import Report, report_deadline
from oracle.dev.devchain import dev_chain
from oracle.domain import REPO_ROOT, ClaimStatus, Decision, Ruling
from tests.chain_fixtures import MODEL_HASH, TERMS_HASH, submit_claim

SOLIDITY = REPO_ROOT / "tests" / "contracts" / "solidity"


@pytest.fixture(scope="module")
def single_judge() -> dict:
    """The Solidity arbitrator's ABI and bytecode, compiled by solcjs (make setup-test installs it)."""
    if not (SOLIDITY / "node_modules" / "solc").is_dir():
        pytest.fail(f"solcjs is not installed under {SOLIDITY}: run `make setup-test`")
    out = subprocess.run(
        ["node", "compile.cjs", "SingleJudgeArbitrator.sol", "SingleJudgeArbitrator"],
        cwd=SOLIDITY,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def test_solidity_arbitrator_with_no_shared_code__rules_a_dispute_through_the_desk(single_judge):
    with dev_chain() as chain:
        w3 = chain.w3
        deployer, insurer, holder = chain.accounts[:3]
        oracles, judge = chain.accounts[3:6], chain.accounts[6]
        system = deploy_system(w3, deployer, chain.accounts[6:9])
        factory = w3.eth.contract(abi=single_judge["abi"], bytecode=single_judge["bytecode"])
        receipt = w3.eth.wait_for_transaction_receipt(
            factory.constructor(judge, ETH // 50).transact({"from": deployer})
        )
        arbitrator = w3.eth.contract(address=receipt["contractAddress"], abi=single_judge["abi"])
        config = demo_product_config(oracles, 2, arbitrator.address, MODEL_HASH, TERMS_HASH)
        product_id = create_product(system.manager, insurer, config, 20 * ETH)
        policy_id = buy_policy(system.manager, holder, product_id, keccak(b"VIN-SOLIDITY"))
        manager = system.manager
        root = keccak(b"manifest")
        now = w3.eth.get_block("latest").timestamp
        claim_id = submit_claim(manager, holder, policy_id, root, "ipfs://m", now, 1, 0, 0, 3 * ETH)
        report = Report(
            claim_id,
            int(Decision.REJECT),
            0,
            9000,
            keccak(b"explanation"),
            MODEL_HASH,
            root,
            TERMS_HASH,
            1,
            report_deadline(now),
        )
        for member in oracles[:2]:
            transact(w3, manager.contract.functions.voteReport(report.as_tuple()), member)
        assert manager.claim(claim_id)["status"] == ClaimStatus.DECIDED
        desk = desk_of(manager)
        cost = desk.functions.disputeCost(claim_id).call()
        assert cost == config["disputeBond"] + ETH // 50  # the desk asks this arbitrator for its own fee
        transact(w3, desk.functions.dispute(claim_id), holder, value=cost)
        assert manager.claim(claim_id)["status"] == ClaimStatus.DISPUTED
        transact(w3, arbitrator.functions.giveRuling(0, int(Ruling.CLAIMANT)), judge)
        claim = manager.claim(claim_id)
        assert claim["status"] == ClaimStatus.RESOLVED
        assert claim["payout"] == 3 * ETH - config["deductible"]  # the claimant's ruling: claimed less deductible
