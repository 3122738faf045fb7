"""Fixtures for the claim pipeline and the adapter: a store with terms and real photos, the model, weather stand-ins."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace

import pytest
from aiohttp import web

from oracle.assess import DEFAULT_TERMS_PATH, Claim, Peril
from oracle.cas import LocalContentStore
from oracle.chain.deploy import DEMO_VEHICLE_CLASS
from oracle.claim.assessor import ClaimAssessor
from oracle.claim.evidence import store_evidence, store_terms
from oracle.settings import load_settings
from oracle.sources.history import InMemoryClaimsHistory
from oracle.sources.weather import NoaaStormEventsSource
from oracle.vision import DamageModel
from tests.factories import ETH, FIXTURES, HAIL_LAT_E6, HAIL_LON_E6, HAIL_TIME, real_photo_paths

OPEN_METEO_RECORDED = FIXTURES / "open_meteo_archive_30.5_-85.3_2019-03-01_2019-03-03.json"
RETRIEVED_AT = 1_763_800_000  # the frozen clock of the Open-Meteo stand-in
CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
CODE_VERSION = "0.1.0+test"


@pytest.fixture(scope="session")
def damage_model():
    """The shipped damage model (settings.model_path); skips, naming the path, until it has been exported."""

    path = load_settings().model_path
    if not path.is_file():
        pytest.skip(f"damage model not exported yet at {path}; run `claims-oracle model export`")
    return DamageModel.load(path)


@pytest.fixture(scope="session")
def photo_bytes() -> list[tuple[str, bytes]]:
    """Two real photos of moderate damage from ../shared/data (skips when the data set is absent)."""
    return [(p.name, p.read_bytes()) for p in real_photo_paths(2)]


@pytest.fixture(scope="session")
def noaa(tables_dir) -> NoaaStormEventsSource:
    """The NOAA Storm Events source over the real 2019 bulk files."""
    return NoaaStormEventsSource(tables_dir)


@pytest.fixture
def store(tmp_path) -> LocalContentStore:
    """An empty local content store in a temporary directory."""
    return LocalContentStore(tmp_path / "cas")


@pytest.fixture
def terms_hash(store) -> bytes:
    """The shipped example terms, stored; their keccak256 is the product's termsHash."""
    return store_terms(store, DEFAULT_TERMS_PATH.read_bytes())


@pytest.fixture
def make_context(store, terms_hash) -> Callable[..., Claim]:
    """Factory: a hail claim in Calhoun County, FL the morning NOAA recorded hail there, with evidence stored."""

    def build(photos: list[tuple[str, bytes]], *, claimant: dict | None = None, **overrides) -> Claim:
        evidence = store_evidence(store, photos, **(claimant or {}))
        claim = Claim(
            claim_id=3 * 4096 + 1,
            chain_id=31337,
            contract=CONTRACT,
            policy_id=3,
            product_id=1,
            evidence_root=evidence.root,
            evidence_uri=evidence.uri,
            terms_hash=terms_hash,
            policy_start=HAIL_TIME - 60 * 86_400,
            policy_end=HAIL_TIME + 300 * 86_400,
            incident_time=HAIL_TIME,
            submitted_at=HAIL_TIME + 2 * 86_400,
            lat_e6=HAIL_LAT_E6,
            lon_e6=HAIL_LON_E6,
            peril=Peril.HAIL,
            claimed_amount=ETH // 2,
            remaining_coverage=10 * ETH,
            deductible=ETH // 10,
            covered_perils=0b111111,
            insured_object_id="0x" + "42" * 32,
            policy_class=DEMO_VEHICLE_CLASS,  # sedan, as the chain records the policy's class
        )
        return replace(claim, **overrides)

    return build


@pytest.fixture
def make_assessor(store) -> Callable[..., ClaimAssessor]:
    """Factory: a ClaimAssessor over the test store; closes its threads after the test."""
    made: list[ClaimAssessor] = []

    def build(model, sources=(), history=None, **kwargs) -> ClaimAssessor:
        assessor = ClaimAssessor(
            store,
            model,
            list(sources),
            history if history is not None else InMemoryClaimsHistory(),
            CODE_VERSION,
            **kwargs,
        )
        made.append(assessor)
        return assessor

    yield build
    for assessor in made:
        assessor.close()


def open_meteo_app(status: int = 200, body: bytes | None = None) -> web.Application:
    """A stand-in for the Open-Meteo archive that replays a saved response (or an error) on /v1/archive."""
    payload = OPEN_METEO_RECORDED.read_bytes() if body is None else body
    hits: list[dict] = []

    async def archive(request: web.Request) -> web.Response:
        hits.append(dict(request.query))
        return web.Response(body=payload, status=status, content_type="application/json")

    app = web.Application()
    app["hits"] = hits
    app.router.add_get("/v1/archive", archive)
    return app


def error_body(reason: str) -> bytes:
    """The archive API's documented error answer."""
    return json.dumps({"error": True, "reason": reason}).encode()
