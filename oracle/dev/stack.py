"""The local stack the demo and the browser tests run: anvil, the contracts, a 2-of-3 committee of oracle nodes,
and the gateway that serves the Chainlink bridge, the content store and the dApp."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Future
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from web3 import Web3

from oracle.adapter.app import create_app
from oracle.adapter.claims import chain_claims
from oracle.adapter.dapp import DappConfig, register_dapp_routes
from oracle.assess import DEFAULT_TERMS_PATH
from oracle.cas.ipfs import GATEWAY_FETCH_TIMEOUT_S, IpfsContentStore, peer_store_url
from oracle.cas.peer import IpfsPeer
from oracle.chain.deploy import ETH, System, create_product, demo_product_config, deploy_system
from oracle.chain.keys import publish_key, published_key
from oracle.claim.evidence import store_terms
from oracle.claim.wiring import build_assessor
from oracle.db import NodeStore
from oracle.dev.devchain import DevChain, dev_chain
from oracle.domain import DEV_MNEMONIC
from oracle.explain.document import describe_code_version
from oracle.node.keys import member_reader
from oracle.node.service import OracleNode
from oracle.node.signer import Signer
from oracle.privacy import Reader, insured_object_commitment, insured_object_salt
from oracle.settings import Settings, load_settings
from oracle.vision import DamageModel

GENESIS = 1546387200  # 2019-01-02 00:00 UTC: the NOAA Storm Events tables cover January to March 2019
COMMITTEE_SIZE, COMMITTEE_THRESHOLD = 3, 2
DEMO_CAPITAL = 100 * ETH


@dataclass
class Roles:
    """Which dev account plays which part."""

    deployer: str
    insurer: str
    claimant: str
    oracles: list[str]
    panel: list[str]
    second_claimant: str

    @classmethod
    def of(cls, accounts: list[str]) -> Roles:
        """Accounts 0 deployer, 1 insurer, 2 claimant, 3-5 oracle nodes, 6-8 arbitration panel, 9 a second claimant."""
        return cls(accounts[0], accounts[1], accounts[2], list(accounts[3:6]), list(accounts[6:9]), accounts[9])

    def for_dapp(self) -> list[dict]:
        """The dev wallet's account list with the role each plays (oracle keys stay with the nodes)."""
        named = [(self.insurer, "insurer"), (self.claimant, "claimant"), (self.second_claimant, "claimant 2")]
        named += [(member, f"arbitration panel {i + 1}") for i, member in enumerate(self.panel)]
        return [{"address": address, "role": role} for address, role in named]


@dataclass
class Stack:
    """A running stack: the chain, the deployed system, who is who, and where the gateway listens."""

    chain: DevChain
    system: System
    roles: Roles
    state_dir: Path
    cas: IpfsContentStore
    terms_hash: bytes
    model_hash: bytes
    url: str
    product_id: int | None = None
    nodes: list[OracleNode] = field(default_factory=list)
    peers: list[IpfsPeer] = field(default_factory=list)
    """The IPFS peers: the gateway's first, then one per node."""
    node_stores: list[IpfsContentStore] = field(default_factory=list)

    @property
    def w3(self) -> Web3:
        """The web3 connection to the dev chain."""
        return self.chain.w3


def product_defaults(roles: Roles, arbitrator: str, model_hash: bytes, terms_hash: bytes) -> dict[str, Any]:
    """The demo product's configuration: a lower deductible and instant limit than the contract tests' product,
    so the cost schedule's minor and moderate repairs land on both sides of the instant limit."""
    return demo_product_config(
        roles.oracles,
        COMMITTEE_THRESHOLD,
        arbitrator,
        model_hash,
        terms_hash,
        deductible=ETH // 10,
        instantLimit=ETH // 2,
        minConfidence=8000,
    )


def _json_defaults(config: dict[str, Any]) -> dict[str, Any]:
    """A product configuration as JSON-safe defaults for the dApp's insurer form (amounts as decimal strings)."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, bytes):
            out[key] = "0x" + value.hex()
        elif isinstance(value, list):
            out[key] = ["0x" + v.hex() if isinstance(v, bytes) else v for v in value]
        elif isinstance(value, int) and value > 2**53:
            out[key] = str(value)
        else:
            out[key] = value
    return out


async def start_peers(state_dir: Path, count: int, max_bytes: int) -> list[IpfsPeer]:
    """Start the gateway's IPFS peer and one per node side by side, each in its own directory, and connect them:
    every node peer dials the gateway peer and the node peers before it."""
    peers = [IpfsPeer(state_dir / "gateway" / "ipfs", max_bytes=max_bytes)]
    peers += [IpfsPeer(state_dir / f"node{index}" / "ipfs", max_bytes=max_bytes) for index in range(count)]
    started = await asyncio.gather(*(asyncio.to_thread(peer.start) for peer in peers), return_exceptions=True)
    failed = [result for result in started if isinstance(result, BaseException)]
    if failed:
        for peer in peers:
            peer.stop()
        raise failed[0]
    try:
        for index, peer in enumerate(peers[1:], start=1):
            for other in peers[:index]:
                await asyncio.to_thread(peer.connect, other.multiaddr)
    except BaseException:
        for peer in peers:
            peer.stop()
        raise
    return peers


@asynccontextmanager
async def running_stack(
    settings: Settings,
    model: DamageModel,
    state_dir: Path,
    *,
    port: int = 0,
    with_product: bool = True,
    progress=None,
    with_nodes: bool = True,
    gateway: dict[str, Any] | None = None,
) -> AsyncIterator[Stack]:
    """Start anvil, deploy, optionally create and fund the demo product, run the gateway (with `gateway` settings
    overrides) and three nodes (unless `with_nodes` is False: the load benchmark measures the gateway alone), each
    with its own state directory and IPFS peer (the gateway's in state_dir/gateway, node i's in state_dir/node<i>);
    content moves between the peers over bitswap, and nodes share no path with each other or the gateway."""
    say = progress or (lambda text: print(text, file=sys.stderr, flush=True))
    members = COMMITTEE_SIZE if with_nodes else 0
    say("starting the IPFS peers (the gateway's and one per node) ...")
    peers = await start_peers(state_dir, members, settings.max_blob_bytes)
    gateway_dir = state_dir / "gateway"
    cas = IpfsContentStore(
        peers[0].api_url,
        gateway_dir / "ipfs-index.sqlite",
        max_blob_bytes=settings.max_blob_bytes,
        fetch_timeout_s=GATEWAY_FETCH_TIMEOUT_S,
    )
    node_stores: list[IpfsContentStore] = []
    try:
        async with _running_stack(
            settings, model, state_dir, cas, peers, node_stores, port, with_product, say, gateway or {}
        ) as stack:
            yield stack
    finally:
        for store in node_stores:
            store.close()
        cas.close()
        for peer in peers:
            await asyncio.to_thread(peer.stop)


@asynccontextmanager
async def _running_stack(
    settings: Settings,
    model: DamageModel,
    state_dir: Path,
    cas: IpfsContentStore,
    peers: list[IpfsPeer],
    node_stores: list[IpfsContentStore],
    port: int,
    with_product: bool,
    say,
    gateway: dict[str, Any],
) -> AsyncIterator[Stack]:
    """The chain, contracts, gateway and nodes of running_stack (a node per peer after the gateway's), over IPFS
    peers that are already running."""
    gateway_dir = state_dir / "gateway"
    terms_hash = store_terms(cas, DEFAULT_TERMS_PATH.read_bytes())
    model_hash = bytes.fromhex(model.model_sha256)
    code_version = describe_code_version()
    with dev_chain(timestamp=GENESIS) as chain:
        roles = Roles.of(chain.accounts)
        say(f"anvil at {chain.url}; deploying contracts ...")
        system = deploy_system(chain.w3, roles.deployer, roles.panel)
        defaults = product_defaults(roles, system.arbitrator.address, model_hash, terms_hash)
        product_id = None
        if with_product:
            product_id = create_product(system.manager, roles.insurer, defaults, DEMO_CAPITAL)
        for person in (roles.insurer, roles.claimant, roles.second_claimant, *roles.panel):
            reader = person_reader(chain.w3, system.keys.address, chain.accounts.index(person))
            publish_key(system.keys, person, reader.public_key)
        gateway_settings = load_settings(
            rpc_url=chain.url,
            contract_address=system.manager.address,
            content_store_url=peer_store_url(peers[0].api_url, gateway_dir / "ipfs-index.sqlite"),
            db_url=f"sqlite:///{gateway_dir / 'gateway.db'}",
            state_dir=gateway_dir,
            **gateway,
        )
        # the bridge's own claims history (on-chain claims only, read by id), in the gateway's directory
        bridge_history = NodeStore(f"sqlite:///{gateway_dir / 'gateway.db'}")
        bridge_assessor = build_assessor(  # as `claims-oracle adapter` builds it: a worker per concurrent assessment
            settings,
            bridge_history,
            model,
            code_version=code_version,
            store=cas,
            record_history=True,
            workers=gateway_settings.adapter_max_concurrency,
        )
        app = create_app(gateway_settings, bridge_assessor, cas, claims=chain_claims(gateway_settings, bridge_history))
        register_dapp_routes(
            app,
            DappConfig(
                chain_id=chain.w3.eth.chain_id,
                chain_name="anvil dev chain",
                claims_manager=system.manager.address,
                arbitrator=system.arbitrator.address,
                key_directory=system.keys.address,
                rpc_upstream=chain.url,
                dev_accounts=roles.for_dapp(),
                defaults={**_json_defaults(defaults), "capital": str(DEMO_CAPITAL)},
            ),
        )
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", port)
        await site.start()
        bound = runner.addresses[0][1]
        url = f"http://127.0.0.1:{bound}"
        nodes = []
        stop = asyncio.Event()
        tasks: list[asyncio.Task] = []
        try:
            for index in range(len(peers) - 1):
                node_dir = state_dir / f"node{index}"
                store = NodeStore(f"sqlite:///{node_dir / 'node.db'}")
                content = IpfsContentStore(
                    peers[1 + index].api_url,
                    node_dir / "ipfs-index.sqlite",
                    gateway_url=url,
                    max_blob_bytes=settings.max_blob_bytes,
                    pin_reads=True,  # each member keeps its claims' evidence, so the gateway is not the only copy
                )
                node_stores.append(content)
                signer = Signer.from_dev_mnemonic(DEV_MNEMONIC, 3 + index)
                reader = member_reader(chain.w3, signer, system.keys.address)
                assessor = build_assessor(
                    settings, store, model, code_version=code_version, store=content, reader=reader
                )
                nodes.append(OracleNode(system.manager, store, assessor, signer, confirmations=0, poll_seconds=0.2))
            for index, peer in enumerate(peers[1:]):
                say(f"oracle node {index} ({roles.oracles[index]}): IPFS peer {peer.peer_id}")
            tasks = [asyncio.create_task(node.run(stop)) for node in nodes]
            say(f"starting {len(nodes)} oracle nodes (first model run, weather tables) ...")
            await wait_until_ready(nodes, tasks)
            stack = Stack(
                chain=chain,
                system=system,
                roles=roles,
                state_dir=state_dir,
                cas=cas,
                terms_hash=terms_hash,
                model_hash=model_hash,
                url=url + "/",
                product_id=product_id,
                nodes=nodes,
                peers=peers,
                node_stores=node_stores,
            )
            yield stack
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            await runner.cleanup()
            bridge_assessor.close()
            bridge_history.close()


def person_reader(w3: Web3, directory: str, account_index: int) -> Reader:
    """The evidence reader a dev account derives in the dApp (the same signature, so the same key)."""
    return Signer.from_dev_mnemonic(DEV_MNEMONIC, account_index).reader(int(w3.eth.chain_id), directory)


def insured_object_of(stack: Stack, holder: str, vehicle_id: str) -> bytes:
    """The salted insured-object commitment a dev account's dApp would make for a vehicle id."""
    signer = Signer.from_dev_mnemonic(DEV_MNEMONIC, stack.chain.accounts.index(holder))
    salt = insured_object_salt(signer.key_signature(int(stack.w3.eth.chain_id), stack.system.keys.address))
    return insured_object_commitment(salt, vehicle_id)


def evidence_readers(stack: Stack, claimant: str) -> list[tuple[str, bytes]]:
    """Who a claim's evidence is sealed for, with their published keys: the committee, the insurer and the
    claimant, as the dApp seals it."""
    readers = []
    for account in (*stack.roles.oracles, stack.roles.insurer, claimant):
        key = published_key(stack.system.keys, account)
        if key is None:
            raise RuntimeError(f"{account} has published no encryption key in the key directory")
        readers.append((account, key))
    return readers


@contextmanager
def content_gateway(
    settings: Settings, state_dir: Path, max_blob_bytes: int
) -> Iterator[tuple[str, IpfsContentStore, IpfsPeer]]:
    """Run a gateway's IPFS peer (in state_dir/ipfs) and its content routes (`/content`, `/cids`, announcements) on a
    thread of its own, for tools whose nodes run as processes (`bench`); yields its URL, store and peer."""
    peer = IpfsPeer(state_dir / "ipfs", max_bytes=max_blob_bytes).start()
    store = IpfsContentStore(
        peer.api_url,
        state_dir / "ipfs-index.sqlite",
        max_blob_bytes=max_blob_bytes,
        fetch_timeout_s=GATEWAY_FETCH_TIMEOUT_S,
    )
    history = NodeStore(f"sqlite:///{state_dir / 'gateway.db'}")
    gateway_settings = load_settings(
        content_store_url=peer_store_url(peer.api_url, state_dir / "ipfs-index.sqlite"),
        db_url=f"sqlite:///{state_dir / 'gateway.db'}",
        state_dir=state_dir,
    )
    assessor = build_assessor(settings, history, None, sources=[], store=store)
    loop = asyncio.new_event_loop()
    started: Future[str] = Future()
    stopping = asyncio.Event()

    async def serve() -> None:
        runner = web.AppRunner(create_app(gateway_settings, assessor, store), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        started.set_result(f"http://127.0.0.1:{runner.addresses[0][1]}")
        await stopping.wait()
        await runner.cleanup()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), name="content-gateway", daemon=True)
    thread.start()
    try:
        yield started.result(timeout=30), store, peer
    finally:
        loop.call_soon_threadsafe(stopping.set)
        thread.join(timeout=30)
        loop.close()
        assessor.close()
        history.close()
        store.close()
        peer.stop()


async def wait_until_ready(nodes: list, tasks: list[asyncio.Task], timeout: float = 120.0) -> None:
    """Wait until every node has warmed up, so the first claims do not wait for it; a node that dies instead
    raises its error."""
    ready = asyncio.ensure_future(asyncio.gather(*(node.ready.wait() for node in nodes)))
    done, _ = await asyncio.wait([ready, *tasks], timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    if ready in done:
        return
    ready.cancel()
    await asyncio.gather(ready, return_exceptions=True)  # collect the cancellation, so nothing is left unread
    for task in done:
        task.result()  # a node that ended before it was ready: raise what stopped it
    raise TimeoutError(f"oracle nodes not ready after {timeout:.0f} s")
