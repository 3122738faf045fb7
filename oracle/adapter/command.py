"""`claims-oracle adapter`: serve the Chainlink bridge, health and the content gateway over HTTP."""

from __future__ import annotations

import argparse
import logging
import sys

import aiohttp
from aiohttp import web

from oracle.settings import Settings, load_settings

WEATHER_CHOICES = ("noaa", "open-meteo")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the adapter's options; defaults come from the settings (CLAIMS_ORACLE_ADAPTER_HOST/_PORT)."""
    parser.add_argument("--host", default=None, help="interface to listen on (default: settings.adapter_host)")
    parser.add_argument("--port", type=int, default=None, help="port to listen on (default: settings.adapter_port)")
    parser.add_argument(
        "--weather", default=",".join(WEATHER_CHOICES),
        help="comma-separated weather sources to ask: noaa (bulk files in the data dir), open-meteo (live API)",
    )
    parser.add_argument("--arbitrator", default=None,
                        help="PanelArbitrator address the dApp's arbitrator screen votes on (optional)")
    parser.add_argument("--dev-wallet", action="store_true",
                        help="relay the dApp's JSON-RPC to CLAIMS_ORACLE_RPC_URL so it can use a local dev chain's unlocked "
                             "accounts (never on a public chain)")
    parser.add_argument("--workers", type=int, default=None,
                        help="threads for evidence checks and inference (default: settings.adapter_max_concurrency)")


def _weather_names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in WEATHER_CHOICES]
    if unknown:
        raise SystemExit(f"--weather: unknown source(s) {unknown}; choose from {list(WEATHER_CHOICES)}")
    return names


def dapp_config(settings: Settings, arbitrator: str | None, dev_wallet: bool, chain_id: int):
    """The dApp's configuration from the settings; None when no contract is configured (gateway only)."""
    from oracle.adapter.dapp import DappConfig

    if not settings.contract_address:
        return None
    return DappConfig(chain_id=chain_id, chain_name=f"chain {chain_id}", claims_manager=settings.contract_address,
                      arbitrator=arbitrator, rpc_upstream=settings.rpc_url if dev_wallet else None)


async def build_app(settings: Settings, weather: list[str], workers: int, dapp=None) -> web.Application:
    """Open the store, load the model and the weather sources, and return the app (inside the running loop)."""
    from oracle.adapter.app import create_app
    from oracle.cas import open_store
    from oracle.explain import describe_code_version
    from oracle.pipeline import ClaimAssessor
    from oracle.sources.history import InMemoryClaimsHistory
    from oracle.sources.weather import NoaaStormEventsSource, OpenMeteoArchiveSource
    from oracle.vision import DamageModel

    store = open_store(settings.content_store_url, max_blob_bytes=settings.max_blob_bytes)
    try:
        model = DamageModel.load(settings.model_path)
    except FileNotFoundError as exc:
        print(f"warning: {exc}; serving the gateway only, /health reports 503", file=sys.stderr)
        model = None
    session = aiohttp.ClientSession()
    sources = []
    if "noaa" in weather:
        sources.append(NoaaStormEventsSource(settings.tables_dir))
    if "open-meteo" in weather:
        sources.append(OpenMeteoArchiveSource(session, base_url=settings.weather_api_url,
                                              timeout_s=settings.weather_api_timeout_s))
    assessor = ClaimAssessor(
        store, model, sources, InMemoryClaimsHistory(), describe_code_version(), max_workers=workers,
        max_photos=settings.max_photos, max_photo_bytes=settings.max_photo_bytes, record_history=True,
    )
    app = create_app(settings, assessor, store)
    if dapp is not None:
        from oracle.adapter.dapp import register_dapp_routes

        register_dapp_routes(app, dapp)

    async def close(_: web.Application) -> None:
        await session.close()
        assessor.close()

    app.on_cleanup.append(close)
    return app


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted; return the exit code."""
    settings = load_settings()
    host = args.host or settings.adapter_host
    port = settings.adapter_port if args.port is None else args.port
    workers = args.workers or settings.adapter_max_concurrency
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    dapp = dapp_config(settings, args.arbitrator, args.dev_wallet, settings.chain_id)
    if dapp is None:
        print("no CLAIMS_ORACLE_CONTRACT_ADDRESS: serving the bridge and the gateway without the dApp", file=sys.stderr)
    web.run_app(build_app(settings, _weather_names(args.weather), workers, dapp), host=host, port=port)
    return 0
