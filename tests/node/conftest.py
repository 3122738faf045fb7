"""Fixtures for node tests: a real anvil node with the contracts deployed and a funded demo product."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from eth_utils import keccak

from oracle.chain.contracts import ClaimsManagerClient
from oracle.chain.deploy import ETH, buy_policy, create_product, demo_product_config, deploy_system
from oracle.chain.devchain import dev_chain

MODEL_HASH = keccak(b"node-test-model")
TERMS_HASH = keccak(b"node-test-terms")


@dataclass
class Deployed:
    """What the node tests work against."""

    chain: object
    manager: ClaimsManagerClient
    product_id: int
    policy_id: int
    holder: str
    oracles: list[str]


@pytest.fixture
def deployed():
    """A fresh anvil with contracts, a 2-of-3 product funded with 50 ETH and one policy."""
    with dev_chain() as chain:
        accounts = chain.accounts
        deployer, insurer, holder = accounts[:3]
        oracles, panel = accounts[3:6], accounts[6:9]
        system = deploy_system(chain.w3, deployer, panel)
        config = demo_product_config(oracles, 2, system.arbitrator.address, MODEL_HASH, TERMS_HASH)
        product_id = create_product(system.manager, insurer, config, 50 * ETH)
        policy_id = buy_policy(system.manager, holder, product_id, keccak(b"VIN-TEST"))
        yield Deployed(chain, system.manager, product_id, policy_id, holder, oracles)
