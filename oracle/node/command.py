"""`claims-oracle node`: run one committee member against a deployed ClaimsManager."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import time
from collections.abc import Callable
from pathlib import Path

from web3 import Web3

from oracle.cas.ipfs import start_peer_store
from oracle.chain.contracts import ClaimsManagerClient, abi_mismatches
from oracle.claim.wiring import build_assessor, load_model
from oracle.db import NodeStore
from oracle.deployment import read_deployment
from oracle.node.aggregate import SignatureRelayClient
from oracle.node.keys import member_reader
from oracle.node.metrics import NodeMetrics
from oracle.node.service import RPC_ERRORS, OracleNode
from oracle.node.share import KeySharer
from oracle.node.signer import Signer, add_key_arguments, signer_from_args
from oracle.settings import Settings, load_settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `claims-oracle node` (defaults come from CLAIMS_ORACLE_* settings)."""
    parser.add_argument("--rpc-url", help="JSON-RPC endpoint (CLAIMS_ORACLE_RPC_URL)")
    parser.add_argument(
        "--deployment",
        type=Path,
        help="deployment record of `claims-oracle deploy`: contracts, chain id and start block, unless set on their "
        "own (CLAIMS_ORACLE_DEPLOYMENT)",
    )
    parser.add_argument("--contract", help="ClaimsManager address (CLAIMS_ORACLE_CONTRACT_ADDRESS)")
    parser.add_argument(
        "--key-directory",
        help="KeyDirectory address: open sealed evidence, publishing this member's key "
        "(CLAIMS_ORACLE_KEY_DIRECTORY_ADDRESS)",
    )
    parser.add_argument("--db-url", help="SQLAlchemy URL of the node database, e.g. postgresql://... (default SQLite)")
    add_key_arguments(parser)
    parser.add_argument(
        "--metrics-port", type=int, help="serve Prometheus metrics on 127.0.0.1:PORT (CLAIMS_ORACLE_METRICS_PORT)"
    )
    parser.add_argument("--confirmations", type=int, help="blocks a claim must be buried under before assessment")
    parser.add_argument("--start-block", type=int, help="first block to scan on a fresh database")
    parser.add_argument(
        "--report-mode",
        choices=("vote", "aggregate"),
        help="vote: one voteReport per member; aggregate: swap signatures through the relay and send "
        "one submitSignedReport (CLAIMS_ORACLE_REPORT_MODE, default vote)",
    )
    parser.add_argument(
        "--signature-relay-url",
        help="signature relay for aggregate mode, e.g. http://127.0.0.1:8080 (CLAIMS_ORACLE_SIGNATURE_RELAY_URL)",
    )


def run(args: argparse.Namespace) -> int:
    """Start the node and run until SIGINT or SIGTERM."""
    overrides = {
        name: value
        for name, value in (
            ("rpc_url", args.rpc_url),
            ("deployment", args.deployment),
            ("contract_address", args.contract),
            ("key_directory_address", args.key_directory),
            ("db_url", args.db_url),
            ("confirmations", args.confirmations),
            ("start_block", args.start_block),
            ("report_mode", args.report_mode),
            ("signature_relay_url", args.signature_relay_url),
            ("metrics_port", args.metrics_port),
        )
        if value is not None
    }
    settings = load_settings(**overrides)
    if not settings.contract_address:
        raise SystemExit(
            "claims-oracle node: no contract address (--deployment, --contract or CLAIMS_ORACLE_CONTRACT_ADDRESS)"
        )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        signer = signer_from_args(args)
        chain_id = wait_for_chain(settings.rpc_url)
        if settings.deployment and chain_id != settings.chain_id:
            raise ValueError(
                f"{settings.rpc_url} serves chain {chain_id}, the deployment record {settings.deployment} "
                f"chain {settings.chain_id}"
            )
        if settings.deployment and (differ := abi_mismatches(read_deployment(settings.deployment))):
            logging.getLogger(__name__).warning(
                "the ABIs of %s in %s differ from this checkout's build: was it deployed from another release?",
                ", ".join(differ),
                settings.deployment,
            )
        node = build_node(settings, signer)
    except ValueError as exc:  # a wrong keystore password, a chain other than the record's, aggregate mode alone
        raise SystemExit(f"claims-oracle node: {exc}") from None
    except KeyboardInterrupt:
        return 130
    if settings.metrics_port is not None:
        try:
            node.metrics.serve(settings.metrics_port)
        except OSError as exc:
            raise SystemExit(
                f"claims-oracle node: cannot serve metrics on port {settings.metrics_port}: {exc}"
            ) from None
    logging.getLogger(__name__).info(
        "node %s watching %s on %s (%s mode)",
        signer.address,
        settings.contract_address,
        settings.rpc_url,
        settings.report_mode,
    )
    return asyncio.run(_serve(node))


START_RETRY_MAX_S = 30.0
"""The longest wait between two attempts to reach the RPC at start (the waits double from one second)."""


def wait_for_chain(rpc_url: str, sleep: Callable[[float], None] = time.sleep) -> int:
    """Return the chain id once the RPC answers; until then log one line per attempt and retry with back-off, as
    a running node does (Ctrl-C or SIGTERM stop the wait)."""
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 10}))
    delay = 1.0
    while True:
        try:
            return int(w3.eth.chain_id)
        except RPC_ERRORS as exc:
            logging.getLogger(__name__).warning(
                "RPC %s unavailable at start (%s); retrying in %.0f s", rpc_url, type(exc).__name__, delay
            )
        sleep(delay)
        delay = min(delay * 2, START_RETRY_MAX_S)


def build_node(settings: Settings, signer: Signer, history_store: NodeStore | None = None) -> OracleNode:
    """Assemble a node from settings: chain client, database, content store, model and the committee's weather."""
    if not settings.contract_address:
        raise ValueError("no contract address (--contract or CLAIMS_ORACLE_CONTRACT_ADDRESS)")
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    w3 = Web3(Web3.HTTPProvider(settings.rpc_url, request_kwargs={"timeout": 30}))
    client = ClaimsManagerClient(w3, settings.contract_address, settings.log_chunk_blocks)
    store = history_store or NodeStore(settings.db_url)
    reader = member_reader(w3, signer, settings.key_directory_address) if settings.key_directory_address else None
    content = None
    if settings.ipfs_peer:
        content, _ = start_peer_store(settings)  # the peer stops with this process (its stdin closes)
    assessor = build_assessor(settings, store, load_model(settings), store=content, reader=reader)
    relay = SignatureRelayClient(settings.signature_relay_url) if settings.signature_relay_url else None
    sharer = None
    if reader is not None and settings.key_directory_address:
        sharer = KeySharer(
            client,
            store,
            assessor.store,
            reader,
            settings.key_directory_address,
            signer.sign_transaction,
            start_block=settings.start_block,
        )
    return OracleNode(
        client,
        store,
        assessor,
        signer,
        confirmations=settings.confirmations,
        start_block=settings.start_block,
        poll_seconds=settings.poll_interval_s,
        report_mode=settings.report_mode,
        relay=relay,
        fallback_seconds=settings.aggregate_fallback_s,
        batch_claims=settings.node_batch_claims,
        replace_after=settings.replace_after_s,
        max_fee_cap=settings.max_fee_cap_wei,
        metrics=NodeMetrics(settings.low_balance_votes),
        sharer=sharer,
    )


async def _serve(node: OracleNode) -> int:
    """Run a node until a termination signal arrives."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await node.run(stop)
    return 0
