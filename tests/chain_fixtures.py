"""Fixtures for node tests: a real anvil node with the contracts deployed, a funded demo product, and a relay."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web
from eth_utils import keccak

from oracle.adapter.app import error_middleware
from oracle.adapter.signatures import SIGNATURES, register_signature_routes
from oracle.assess import DEFAULT_TERMS_PATH
from oracle.cas.store import LocalContentStore
from oracle.chain.contracts import ClaimsManagerClient
from oracle.chain.deploy import ETH, buy_policy, create_product, demo_product_config, deploy_system, submit_claim
from oracle.chain.report import Report, report_deadline
from oracle.claim.assessor import ClaimAssessor
from oracle.claim.evidence import store_evidence, store_terms
from oracle.db import NodeStore
from oracle.dev.devchain import DEV_MNEMONIC, dev_chain
from oracle.dev.postgres import PostgresUnavailableError, new_database, throwaway_postgres
from oracle.domain import Decision
from oracle.node.service import OracleNode
from oracle.node.signer import Signer
from oracle.settings import load_settings
from oracle.vision import DamageModel

NODE_TEST_OPEN_CLAIMS = 64  # the node tests file many claims on one policy; K itself is tested in tests/contracts
MODEL_HASH = keccak(b"node-test-model")
TERMS_HASH = keccak(b"node-test-terms")
MODEL_PATH = load_settings().model_path  # the shipped models/damage.onnx unless CLAIMS_ORACLE_MODEL_PATH says other
needs_model = pytest.mark.skipif(not MODEL_PATH.is_file(), reason=f"shipped model not found at {MODEL_PATH}")


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
        config = demo_product_config(
            oracles, 2, system.arbitrator.address, MODEL_HASH, TERMS_HASH, maxOpenClaims=NODE_TEST_OPEN_CLAIMS
        )
        product_id = create_product(system.manager, insurer, config, 50 * ETH)
        policy_id = buy_policy(system.manager, holder, product_id, keccak(b"VIN-TEST"))
        yield Deployed(chain, system.manager, product_id, policy_id, holder, oracles)


@pytest.fixture(scope="session")
def model():
    """The shipped damage model (ONNX Runtime)."""

    return DamageModel.load(MODEL_PATH)


@pytest.fixture
def world(tmp_path, model, shared_data):
    """Anvil with contracts, a product whose terms are in a local content store, and room for node databases."""

    cas = LocalContentStore(tmp_path / "cas")
    terms_hash = store_terms(cas, DEFAULT_TERMS_PATH.read_bytes())
    with dev_chain() as chain:
        deployer, insurer, holder = chain.accounts[:3]
        oracles, panel = chain.accounts[3:6], chain.accounts[6:9]
        system = deploy_system(chain.w3, deployer, panel)
        config = demo_product_config(
            oracles,
            2,
            system.arbitrator.address,
            bytes.fromhex(model.model_sha256),
            terms_hash,
            maxOpenClaims=NODE_TEST_OPEN_CLAIMS,
        )
        product_id = create_product(system.manager, insurer, config, 50 * ETH)
        policy_id = buy_policy(system.manager, holder, product_id, keccak(b"VIN-E2E"))
        yield {
            "chain": chain,
            "manager": system.manager,
            "system": system,
            "config": config,
            "insurer": insurer,
            "cas": cas,
            "holder": holder,
            "policy_id": policy_id,
            "product_id": product_id,
            "tmp": tmp_path,
            "data": shared_data,
        }


def make_node(world, model, index: int, **options):
    """Committee member `index` (anvil account 3 + index) with its own database in the world's temp dir."""

    store = NodeStore(f"sqlite:///{world['tmp'] / f'node{index}.db'}")
    assessor = ClaimAssessor(world["cas"], model, [], store, "test")
    return OracleNode(
        world["manager"], store, assessor, Signer.from_dev_mnemonic(DEV_MNEMONIC, 3 + index), confirmations=0, **options
    )


def submit_agreed_claim(deployed) -> tuple[int, Report]:
    """Submit a 3 ETH claim on the deployed policy, with the PARTIAL 2 ETH report the committee agrees on."""
    root = keccak(b"manifest")
    now = deployed.chain.w3.eth.get_block("latest").timestamp
    claim_id = submit_claim(
        deployed.manager, deployed.holder, deployed.policy_id, root, "ipfs://m", now, 1, 0, 0, 3 * ETH
    )
    report = Report(
        claim_id,
        int(Decision.PARTIAL),
        2 * ETH,
        8000,
        keccak(b"explanation"),
        MODEL_HASH,
        root,
        TERMS_HASH,
        1,
        report_deadline(deployed.chain.w3.eth.get_block("latest").timestamp),
    )
    return claim_id, report


def submit_photos(world, photos: list[Path], amount: int, policy_id: int | None = None) -> int:
    """File a claim with these photos as its evidence, incident now, on the world's policy unless another is
    named; returns the claim id."""

    evidence = store_evidence(world["cas"], [(p.name, p.read_bytes()) for p in photos])
    now = world["chain"].w3.eth.get_block("latest").timestamp
    return submit_claim(
        world["manager"],
        world["holder"],
        world["policy_id"] if policy_id is None else policy_id,
        evidence.root,
        evidence.uri,
        now,
        0,
        41_600_000,
        -93_600_000,
        amount,
    )


@dataclass
class Relay:
    """A running signature relay and the book it keeps."""

    url: str
    book: object


@pytest.fixture
def relay():
    """The signature relay routes behind the adapter's error middleware, served on loopback from a thread."""

    app = web.Application(middlewares=[error_middleware])
    register_signature_routes(app)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", 0).start())
    host, port = runner.addresses[0][:2]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield Relay(f"http://{host}:{port}", app[SIGNATURES])
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.run_until_complete(runner.cleanup())
        loop.close()


@pytest.fixture(scope="session")
def postgres_server():
    """A throwaway PostgreSQL cluster on a free loopback port, for the session."""
    try:
        with throwaway_postgres() as url:
            yield url
    except PostgresUnavailableError as exc:
        pytest.skip(str(exc))


@pytest.fixture
def postgres_url(postgres_server):
    """The URL of a new, empty database on the throwaway PostgreSQL server, dropped afterwards."""
    with new_database(postgres_server) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A new, empty node database: an SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'node.db'}"
    return request.getfixturevalue("postgres_url")
