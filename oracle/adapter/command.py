"""`claims-oracle adapter`: serve the Chainlink bridge, health and the content gateway over HTTP."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

import aiohttp
from aiohttp import web

from oracle.adapter.app import create_app
from oracle.adapter.claims import chain_claims
from oracle.adapter.dapp import DappConfig, register_dapp_routes
from oracle.cas.ipfs import start_gateway_peer_store
from oracle.claim.wiring import WEATHER_CHOICES, build_assessor, load_model, weather_sources
from oracle.db import NodeStore
from oracle.deployment import read_deployment
from oracle.settings import Settings, load_settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the adapter's options; defaults come from the settings (CLAIMS_ORACLE_ADAPTER_HOST/_PORT)."""
    parser.add_argument("--host", default=None, help="interface to listen on (default: settings.adapter_host)")
    parser.add_argument("--port", type=int, default=None, help="port to listen on (default: settings.adapter_port)")
    parser.add_argument(
        "--deployment",
        default=None,
        help="deployment record of `claims-oracle deploy`: contracts, chain id, start block and the panel arbitrator, "
        "unless set on their own (CLAIMS_ORACLE_DEPLOYMENT)",
    )
    parser.add_argument(
        "--weather",
        default=",".join(WEATHER_CHOICES),
        help="comma-separated weather sources to ask: noaa (bulk files in the data dir), open-meteo (live API; its "
        "records carry their retrieval time, so other committee members cannot reproduce such answers)",
    )
    parser.add_argument(
        "--arbitrator", default=None, help="PanelArbitrator address the dApp's arbitrator screen votes on (optional)"
    )
    parser.add_argument(
        "--dev-wallet",
        action="store_true",
        help="relay the dApp's JSON-RPC to CLAIMS_ORACLE_RPC_URL so it can use a local dev chain's unlocked "
        "accounts (never on a public chain)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="threads for evidence checks and inference (default: settings.adapter_max_concurrency)",
    )


def _weather_names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in WEATHER_CHOICES]
    if unknown:
        raise SystemExit(f"--weather: unknown source(s) {unknown}; choose from {list(WEATHER_CHOICES)}")
    return names


def dapp_config(settings: Settings, arbitrator: str | None, dev_wallet: bool, chain_id: int) -> DappConfig | None:
    """The dApp's configuration from the settings; None when no contract is configured (gateway only)."""
    if not settings.contract_address:
        return None
    return DappConfig(
        chain_id=chain_id,
        chain_name=f"chain {chain_id}",
        claims_manager=settings.contract_address,
        arbitrator=arbitrator,
        key_directory=settings.key_directory_address,
        rpc_upstream=settings.rpc_url if dev_wallet else None,
    )


async def build_app(
    settings: Settings, weather: list[str], workers: int, dapp: DappConfig | None = None
) -> web.Application:
    """Open the store, load the model and the weather sources, and return the app (inside the running loop)."""
    try:
        model = load_model(settings)
    except FileNotFoundError as exc:
        print(f"warning: {exc}; serving the gateway only, /health reports 503", file=sys.stderr)
        model = None
    session = aiohttp.ClientSession()
    settings.state_dir.mkdir(parents=True, exist_ok=True)  # where the default SQLite database lives
    history = NodeStore(settings.db_url)  # the claims history, of on-chain claims only, and each policy's object
    store = None
    if settings.ipfs_peer:  # its own Helia peer, instead of content_store_url; it stops when this process exits
        store, _ = await asyncio.to_thread(start_gateway_peer_store, settings)
    assessor = build_assessor(
        settings,
        history,
        model,
        sources=weather_sources(settings, weather, session),
        workers=workers,
        record_history=True,
        store=store,
    )
    claims = chain_claims(settings, history)
    if claims is None:
        print("no CLAIMS_ORACLE_CONTRACT_ADDRESS: the bridge answers 503 until one is set", file=sys.stderr)
    app = create_app(settings, assessor, assessor.store, claims=claims)
    if dapp is not None:
        register_dapp_routes(app, dapp)

    async def close(_: web.Application) -> None:
        await session.close()
        assessor.close()
        history.close()

    app.on_cleanup.append(close)
    return app


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted; return the exit code."""
    settings = load_settings(**({"deployment": args.deployment} if args.deployment else {}))
    if args.arbitrator is None and settings.deployment:
        args.arbitrator = read_deployment(settings.deployment).address("PanelArbitrator")
    host = args.host or settings.adapter_host
    port = settings.adapter_port if args.port is None else args.port
    workers = args.workers or settings.adapter_max_concurrency
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    dapp = dapp_config(settings, args.arbitrator, args.dev_wallet, settings.chain_id)
    if dapp is None:
        print("no CLAIMS_ORACLE_CONTRACT_ADDRESS: serving the bridge and the gateway without the dApp", file=sys.stderr)
    web.run_app(build_app(settings, _weather_names(args.weather), workers, dapp), host=host, port=port)
    return 0
