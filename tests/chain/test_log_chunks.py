"""History is read in chunks of blocks: every eth_getLogs spans at most the configured range, from the start block."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from eth_utils import keccak
from web3 import Web3

from oracle.chain.contracts import ClaimsManagerClient, block_ranges
from oracle.chain.deploy import ETH, submit_claim
from oracle.domain import REPO_ROOT


class RecordingProvider(Web3.HTTPProvider):
    """The real HTTP provider, noting the ranges of the eth_getLogs requests it sends."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.log_ranges: list[tuple[int, int]] = []

    def make_request(self, method, params):
        if method == "eth_getLogs":
            self.log_ranges.append((int(params[0]["fromBlock"], 16), int(params[0]["toBlock"], 16)))
        return super().make_request(method, params)


def test_block_ranges__cut_into_consecutive_chunks():
    assert list(block_ranges(5, 14, 4)) == [(5, 8), (9, 12), (13, 14)]
    assert list(block_ranges(5, 4, 4)) == []
    with pytest.raises(ValueError, match="at least one block"):
        list(block_ranges(0, 10, 0))


def test_client__events_across_many_blocks__found_with_chunked_queries_from_the_start_block(deployed):
    w3 = deployed.chain.w3
    start = w3.eth.block_number + 1
    w3.provider.make_request("anvil_mine", [hex(30)])  # a stretch of empty blocks before the claim
    now = w3.eth.get_block("latest").timestamp
    claim_id = submit_claim(
        deployed.manager, deployed.holder, deployed.policy_id, keccak(b"r"), "ipfs://r", now, 1, 0, 0, ETH
    )
    w3.provider.make_request("anvil_mine", [hex(12)])
    head = w3.eth.block_number
    provider = RecordingProvider(deployed.chain.url)
    client = ClaimsManagerClient(Web3(provider), deployed.manager.address, log_chunk_blocks=7)

    event = client.claim_submitted(claim_id, from_block=start)
    assert event is not None and event.claim_id == claim_id
    assert provider.log_ranges == list(block_ranges(start, head, 7))
    assert client.claim_decided(claim_id, from_block=start) is None
    claims, _ = client.scan(start, head)
    assert [c.claim_id for c in claims] == [claim_id]
    assert all(last - first < 7 for first, last in provider.log_ranges)


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js not found")
def test_dapp_block_ranges__the_same_chunks_as_python():
    script = (
        f"import({json.dumps(str(REPO_ROOT / 'dapp' / 'ranges.js'))}).then(m => "
        "console.log(JSON.stringify([m.blockRanges(5, 14, 4), m.blockRanges(5, 4, 4)])))"
    )
    out = subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True, timeout=60).stdout
    assert json.loads(out) == [[list(r) for r in block_ranges(5, 14, 4)], []]
