"""The node's Prometheus endpoint, scraped while a node runs a claim on anvil."""

from __future__ import annotations

import asyncio
import logging
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from oracle.chain.deploy import ETH
from oracle.node.metrics import METRICS_HOST, VOTE_GAS, NodeMetrics
from tests.chain_fixtures import make_node, needs_model, submit_photos

pytestmark = needs_model


def scrape(port: int) -> dict[str, float]:
    """The samples the endpoint serves, by name."""
    with urllib.request.urlopen(f"http://{METRICS_HOST}:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {s.name: s.value for family in text_string_to_metric_families(text) for s in family.samples}


def test_metrics__scraped_during_a_run__claims_seen_assessed_voted_lag_and_balance(world, model, caplog):
    photos = sorted((world["data"] / "images/vds2500/val/minor").glob("*"))[:1]
    submit_photos(world, photos, ETH)
    metrics = NodeMetrics(low_balance_votes=10**9)  # no account can pay for a billion votes: the warning fires
    node = make_node(world, model, 0, metrics=metrics)
    server, _ = metrics.serve(0)
    try:
        port = server.server_port
        assert scrape(port)["claims_oracle_claims_seen_total"] == 0
        with caplog.at_level(logging.WARNING, logger="oracle.node.metrics"):
            asyncio.run(node.run_once())
        samples = scrape(port)
    finally:
        server.shutdown()
        server.server_close()
    assert samples["claims_oracle_claims_seen_total"] == 1
    assert samples["claims_oracle_claims_assessed_total"] == 1
    assert samples["claims_oracle_claims_voted_total"] == 1
    assert samples["claims_oracle_rpc_errors_total"] == 0
    assert samples["claims_oracle_head_lag_blocks"] == 0  # confirmations 0: scanned up to the head it saw
    balance = world["chain"].w3.eth.get_balance(node.signer.address)
    assert samples["claims_oracle_balance_wei"] > 0 and samples["claims_oracle_vote_cost_wei"] > 0
    assert samples["claims_oracle_balance_wei"] >= balance  # read before the vote was paid for
    assert samples["claims_oracle_low_balance"] == 1
    assert "not enough for the next 1000000000 votes" in caplog.text


def test_metrics__balance_that_pays_for_the_next_votes__no_warning():
    metrics = NodeMetrics(low_balance_votes=3)
    metrics.record_balance("0xabc", balance=3 * VOTE_GAS * 10, max_fee_per_gas=10)
    assert metrics.registry.get_sample_value("claims_oracle_low_balance") == 0
    metrics.record_balance("0xabc", balance=3 * VOTE_GAS * 10 - 1, max_fee_per_gas=10)
    assert metrics.registry.get_sample_value("claims_oracle_low_balance") == 1
