"""A claim's context from the chain: the stored event, and each policy's insured object read once near its purchase."""

from types import SimpleNamespace

import pytest
from eth_utils import keccak

from oracle.chain.contracts import blocks_at_time
from oracle.chain.deploy import ETH, submit_claim
from oracle.claim.context import claim_from_chain
from oracle.db import NodeStore
from oracle.node.watcher import ClaimWatcher, event_from_record, event_record


class Blocks:
    """A stand-in for web3 with the given block timestamps, counting the blocks it is asked for."""

    def __init__(self, stamps):
        self.stamps, self.asked = stamps, []
        self.eth = SimpleNamespace(get_block=self.get_block)

    def get_block(self, number):
        self.asked.append(number)
        return {"timestamp": self.stamps[number]}  # web3's BlockData is a mapping (an AttributeDict)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [(0, (0, 0)), (5, (1, 3)), (9, (4, 4)), (12, (5, 5)), (7, (4, 3)), (13, (6, 5)), (-1, (0, -1))],
)
def test_blocks_at_time__equal_and_missing_stamps__exact_range(moment, expected):
    assert blocks_at_time(Blocks([0, 5, 5, 5, 9, 12]), moment, 5) == expected


def test_blocks_at_time__long_chain__logarithmic_block_reads():
    chain = Blocks(list(range(0, 2_000_000, 12)))
    assert blocks_at_time(chain, 1_200_000, len(chain.stamps) - 1) == (100_000, 100_000)
    assert len(set(chain.asked)) <= 2 * 18


def test_claim_from_chain__stored_event__insured_object_read_at_purchase_once_then_remembered(deployed, tmp_path):
    w3, manager = deployed.chain.w3, deployed.manager
    for _ in range(40):  # the policy is bought well before the claim
        w3.provider.make_request("evm_mine", [])
    claim_id = submit_claim(
        manager,
        deployed.holder,
        deployed.policy_id,
        keccak(b"manifest"),
        "ipfs://m",
        w3.eth.get_block("latest").timestamp,
        1,
        0,
        0,
        2 * ETH,
    )
    store = NodeStore(f"sqlite:///{tmp_path / 'node.db'}")
    ClaimWatcher(manager, store, confirmations=0).poll()
    event = event_from_record(store.job(w3.eth.chain_id, manager.address, claim_id).event)
    assert event_record(event) == store.job(w3.eth.chain_id, manager.address, claim_id).event

    context = claim_from_chain(manager, claim_id, event, store)
    assert context.insured_object_id == "0x" + keccak(b"VIN-TEST").hex() and context.claimed_amount == 2 * ETH
    assert store.insured_object(w3.eth.chain_id, manager.address, deployed.policy_id) == keccak(b"VIN-TEST")

    manager.insured_object = lambda *args: pytest.fail("the policy's purchase was read from the chain again")
    assert claim_from_chain(manager, claim_id, event, store) == context
    assert claim_from_chain(manager, claim_id + 1, event, store) is None  # no such claim on chain
    verify_style = claim_from_chain(manager, claim_id, insured_objects=store)  # the event looked up from the chain
    assert verify_style == context
