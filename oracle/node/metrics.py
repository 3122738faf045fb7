"""A node's health in the Prometheus text format: claims seen, assessed and voted, lag, RPC errors, balance."""

from __future__ import annotations

import logging
import threading
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

log = logging.getLogger(__name__)

METRICS_HOST = "127.0.0.1"  # the endpoint is for a local scraper or a reverse proxy, never the open network
VOTE_GAS = 200_000
"""Gas one vote is budgeted at for the balance warning (a deciding vote measured about 150,000 with headroom)."""


class NodeMetrics:
    """The metrics of one node, in a registry of their own (several nodes may share a process in tests)."""

    def __init__(self, low_balance_votes: int) -> None:
        """Create the metrics; the balance warning fires when it cannot pay for `low_balance_votes` votes."""
        self.registry = CollectorRegistry()
        self.low_balance_votes = low_balance_votes
        self.claims_seen = Counter("claims_oracle_claims_seen", "Claims the watcher recorded", registry=self.registry)
        self.claims_assessed = Counter(
            "claims_oracle_claims_assessed", "Claims this node assessed", registry=self.registry
        )
        self.claims_voted = Counter(
            "claims_oracle_claims_voted", "Votes (or signed reports) of this node mined", registry=self.registry
        )
        self.rpc_errors = Counter(
            "claims_oracle_rpc_errors",
            "Polls that failed because the RPC endpoint did not answer",
            registry=self.registry,
        )
        self.head_lag = Gauge(
            "claims_oracle_head_lag_blocks",
            "Blocks between the chain head and the last block scanned (at least the confirmation depth)",
            registry=self.registry,
        )
        self.balance = Gauge("claims_oracle_balance_wei", "The node account's balance", registry=self.registry)
        self.vote_cost = Gauge(
            "claims_oracle_vote_cost_wei", "What one vote may cost at the current fees", registry=self.registry
        )
        self.low_balance = Gauge(
            "claims_oracle_low_balance",
            "1 when the balance cannot pay for the next low_balance_votes votes, else 0",
            registry=self.registry,
        )
        self._warned = False

    def record_balance(self, address: str, balance: int, max_fee_per_gas: int) -> None:
        """Note the account's balance and the fee a vote pays now; warn (once until it recovers) when it runs low."""
        cost = VOTE_GAS * max_fee_per_gas
        self.balance.set(balance)
        self.vote_cost.set(cost)
        low = balance < cost * self.low_balance_votes
        self.low_balance.set(1 if low else 0)
        if low and not self._warned:
            log.warning(
                "balance of %s is %d wei: not enough for the next %d votes at %d wei each; top it up",
                address,
                balance,
                self.low_balance_votes,
                cost,
            )
        self._warned = low

    def serve(self, port: int) -> tuple[WSGIServer, threading.Thread]:
        """Serve the metrics on the loopback interface at `port` (0: any free port) from a background thread."""
        server, thread = start_http_server(port, addr=METRICS_HOST, registry=self.registry)
        log.info("metrics on http://%s:%d/metrics", METRICS_HOST, server.server_port)
        return server, thread
