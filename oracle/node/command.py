"""`claims-oracle node`: run one committee member against a deployed ClaimsManager."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import signal
import time
from collections.abc import Callable
from pathlib import Path

from web3 import Web3

from oracle.chain.contracts import ClaimsManagerClient
from oracle.claim.wiring import build_assessor, load_model
from oracle.db import NodeStore
from oracle.domain import DEV_MNEMONIC
from oracle.node.aggregate import SignatureRelayClient
from oracle.node.keys import member_reader
from oracle.node.service import RPC_ERRORS, OracleNode
from oracle.node.signer import Signer
from oracle.settings import Settings, load_settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `claims-oracle node` (defaults come from CLAIMS_ORACLE_* settings)."""
    parser.add_argument("--rpc-url", help="JSON-RPC endpoint (CLAIMS_ORACLE_RPC_URL)")
    parser.add_argument("--contract", help="ClaimsManager address (CLAIMS_ORACLE_CONTRACT_ADDRESS)")
    parser.add_argument(
        "--key-directory",
        help="KeyDirectory address: open sealed evidence, publishing this member's key "
        "(CLAIMS_ORACLE_KEY_DIRECTORY_ADDRESS)",
    )
    parser.add_argument("--db-url", help="SQLAlchemy URL of the node database, e.g. postgresql://... (default SQLite)")
    key = parser.add_mutually_exclusive_group(required=True)
    key.add_argument("--keystore", type=Path, help="encrypted V3 keystore of this member's key")
    key.add_argument(
        "--dev-account", type=int, metavar="INDEX", help="use anvil's dev mnemonic account INDEX (local chains only)"
    )
    parser.add_argument("--password-file", type=Path, help="file holding the keystore password (else prompt)")
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


def build_signer(args: argparse.Namespace) -> Signer:
    """The member's signer from a keystore (password from a file or prompt) or a dev account."""
    if args.dev_account is not None:
        return Signer.from_dev_mnemonic(DEV_MNEMONIC, args.dev_account)
    password = args.password_file.read_text().strip() if args.password_file else getpass.getpass("keystore password: ")
    return Signer.from_keystore(args.keystore, password)


def run(args: argparse.Namespace) -> int:
    """Start the node and run until SIGINT or SIGTERM."""
    overrides = {
        name: value
        for name, value in (
            ("rpc_url", args.rpc_url),
            ("contract_address", args.contract),
            ("key_directory_address", args.key_directory),
            ("db_url", args.db_url),
            ("confirmations", args.confirmations),
            ("start_block", args.start_block),
            ("report_mode", args.report_mode),
            ("signature_relay_url", args.signature_relay_url),
        )
        if value is not None
    }
    settings = load_settings(**overrides)
    if not settings.contract_address:
        raise SystemExit("claims-oracle node: no contract address (--contract or CLAIMS_ORACLE_CONTRACT_ADDRESS)")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        signer = build_signer(args)
        wait_for_chain(settings.rpc_url)
        node = build_node(settings, signer)
    except ValueError as exc:  # a wrong keystore password, or aggregate mode without a relay
        raise SystemExit(f"claims-oracle node: {exc}") from None
    except KeyboardInterrupt:
        return 130
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
    client = ClaimsManagerClient(w3, settings.contract_address)
    store = history_store or NodeStore(settings.db_url)
    reader = member_reader(w3, signer, settings.key_directory_address) if settings.key_directory_address else None
    assessor = build_assessor(settings, store, load_model(settings), reader=reader)
    relay = SignatureRelayClient(settings.signature_relay_url) if settings.signature_relay_url else None
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
    )


async def _serve(node: OracleNode) -> int:
    """Run a node until a termination signal arrives."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await node.run(stop)
    return 0
