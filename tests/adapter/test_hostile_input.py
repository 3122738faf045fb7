"""The gateway under hostile input and load: bodies that used to crash a handler get a 400 in the Chainlink error
shape with one log line, uncached assessments beyond a bounded queue are shed with a 503, async answers go only to
configured callback hosts, and every response carries a Content-Security-Policy and nosniff."""

from __future__ import annotations

import asyncio
import json
import logging
import random

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web

from oracle.adapter.app import CALLBACKS, create_app
from oracle.adapter.dapp import DappConfig, register_dapp_routes
from oracle.chain.report import SECP256K1_HALF_N
from oracle.settings import load_settings
from oracle.sources.weather import OpenMeteoArchiveSource
from tests.adapter.conftest import bridge_body
from tests.adapter.test_signatures import signed_body
from tests.factories import make_jpeg

pytestmark = pytest.mark.asyncio
PERSON = "0x" + "22" * 20
DEEP = b"[" * 2000 + b"]" * 2000  # twice Python's recursion limit, and under the smallest body limit (4 KiB)
DEEPEST = b"[" * 100_000 + b"]" * 100_000  # crashed the process where py_ecc raised the recursion limit
JSON_ROUTES = ["/", "/signatures", "/api/evidence", "/api/terms", "/rpc"]


@pytest_asyncio.fixture
async def gateway(aiohttp_client, store, make_assessor, ledger):
    """The whole gateway: bridge (over the ledger), content, relay and dApp routes with a dev wallet."""
    settings = load_settings(adapter_callback_hosts=["127.0.0.1"])
    app = create_app(settings, make_assessor(None), store, claims=ledger)
    register_dapp_routes(
        app,
        DappConfig(
            chain_id=31337,
            chain_name="test",
            claims_manager="0x" + "11" * 20,
            rpc_upstream="http://127.0.0.1:9",  # nothing listens: no hostile body may get that far
            dev_accounts=[{"address": PERSON, "role": "claimant"}],
        ),
    )
    return await aiohttp_client(app)


async def assert_one_line_400(client, caplog, path: str, body: bytes, fragment: str) -> dict:
    """POST `body` to `path`: a 400 in the Chainlink error shape naming `fragment`, logged in one line, no traceback."""
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="oracle"):
        response = await client.post(path, data=body, headers={"Content-Type": "application/json"})
    text = await response.text()
    assert response.status == 400, text[:300]
    answer = json.loads(text)
    assert answer["status"] == "errored" and answer["statusCode"] == 400 and "jobRunID" in answer
    assert fragment in answer["error"]["message"] and "Traceback" not in text
    records = [r for r in caplog.records if r.name.startswith("oracle")]
    assert len(records) == 1 and records[0].exc_info is None and "\n" not in records[0].getMessage()
    return answer


@pytest.mark.parametrize("path", JSON_ROUTES)
async def test_json_routes__deeply_nested_json__400_in_one_log_line(gateway, caplog, path):
    await assert_one_line_400(gateway, caplog, path, DEEP, "nests")


@pytest.mark.parametrize("path", ["/api/terms", "/rpc"])  # the routes whose body limit lets 100,000 levels in
async def test_json_routes__nesting_100000_deep__400_not_a_crash(gateway, caplog, path):
    await assert_one_line_400(gateway, caplog, path, DEEPEST, "nests")


@pytest.mark.parametrize("path", [p for p in JSON_ROUTES if p != "/signatures"])  # its 4 KiB limit comes first
async def test_json_routes__integer_over_4300_digits__400_in_one_log_line(gateway, caplog, path):
    body = b'{"id": 1, "data": {"claimId": ' + b"9" * 4400 + b"}, " + b'"method": "eth_chainId"}'
    await assert_one_line_400(gateway, caplog, path, body, "digits")


async def test_post_signature__random_signature_bytes__400_in_one_log_line(gateway, caplog):
    rng = random.Random(17)
    for _ in range(24):  # about half of all random r values are no point's x: eth_keys raises BadSignature there
        body = signed_body()
        body["signature"] = {
            "v": rng.choice((27, 28)),
            "r": "0x" + rng.randbytes(32).hex(),
            "s": "0x" + rng.randrange(1, SECP256K1_HALF_N).to_bytes(32, "big").hex(),
        }
        await assert_one_line_400(gateway, caplog, "/signatures", json.dumps(body).encode(), "signed report")


@pytest.mark.parametrize("data", [DEEP, DEEPEST])
async def test_get_content__stored_deeply_nested_json__served_not_500(gateway, store, data):
    cid = store.put(data)
    response = await gateway.get(f"/content/{cid}")
    assert response.status == 200 and await response.read() == data


class SlowWeather:
    """An Open-Meteo stand-in that holds every request until released: assessments wait inside the limiter."""

    def __init__(self) -> None:
        self.release = asyncio.Event()

    def app(self) -> web.Application:
        async def archive(request: web.Request) -> web.Response:
            await self.release.wait()
            return web.json_response({"error": True, "reason": "released"}, status=400)

        app = web.Application()
        app.router.add_get("/v1/archive", archive)
        return app


async def wait_for(client, key: str, value: int) -> None:
    """Wait until /health reports `key` == `value`."""
    for _ in range(500):
        health = await (await client.get("/health")).json()
        if health[key] == value:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"/health never reported {key} = {value}: {health}")


async def test_bridge__uncached_assessments_beyond_the_queue__503_with_retry_after(
    aiohttp_server, make_assessor, on_chain, make_client
):
    weather = SlowWeather()
    server = await aiohttp_server(weather.app())
    async with aiohttp.ClientSession() as session:
        source = OpenMeteoArchiveSource(session, base_url=str(server.make_url("/v1/archive")))
        client = await make_client(
            make_assessor(None, [source], max_workers=2), adapter_max_concurrency=1, adapter_max_queue=1
        )
        claims = [on_chain([("front.jpg", make_jpeg(30 + i))], claim_id=4096 * (5 + i) + 1) for i in range(3)]
        first = asyncio.ensure_future(client.post("/", json=bridge_body(claims[0])))
        await wait_for(client, "inFlight", 1)
        second = asyncio.ensure_future(client.post("/", json=bridge_body(claims[1])))
        await wait_for(client, "waiting", 1)

        shed = await client.post("/", json=bridge_body(claims[2]))
        answer = await shed.json()
        assert shed.status == 503 and shed.headers["Retry-After"].isdigit()
        assert answer["status"] == "errored" and answer["error"]["name"] == "OverloadedError"
        joined = asyncio.ensure_future(client.post("/", json=bridge_body(claims[0])))  # joins the running one
        await asyncio.sleep(0.1)
        weather.release.set()
        for response in (await first, await second, await joined):
            assert (await response.json())["error"]["name"] != "OverloadedError"
        health = await (await client.get("/health")).json()
        assert health["shed"] == 1 and health["maxQueue"] == 1


async def _callback_server(aiohttp_server):
    received: list = []

    async def resume(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.json_response({})

    app = web.Application()
    app.router.add_patch("/v2/resume/{run}", resume)
    server = await aiohttp_server(app)
    server.received = received
    return server


@pytest.mark.parametrize("allowed", [[], ["chainlink.internal"], ["127.0.0.1:1"]])
async def test_bridge__response_url_outside_callback_hosts__400_and_never_contacted(
    aiohttp_server, make_assessor, on_chain, make_client, allowed
):
    node = await _callback_server(aiohttp_server)
    client = await make_client(make_assessor(None), adapter_callback_hosts=allowed)
    body = bridge_body(on_chain([("front.jpg", make_jpeg(1))]))
    body.update(meta={"async": True}, responseURL=str(node.make_url("/v2/resume/run-1")))
    response = await client.post("/", json=body)
    answer = await response.json()
    assert response.status == 400 and "ADAPTER_CALLBACK_HOSTS" in answer["error"]["message"]
    await asyncio.sleep(0.2)
    assert node.received == []


async def test_bridge__async_callbacks__own_bounded_pool_with_timeouts(make_assessor, make_client):
    client = await make_client(make_assessor(None), adapter_callback_hosts=["127.0.0.1"], adapter_callback_pool=3)
    session = client.app[CALLBACKS]
    assert session.connector.limit == 3 and session.timeout.total is not None and session.timeout.connect is not None


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/content/{cid}"),
        ("GET", "/content/not-a-cid"),
        ("GET", "/explanations/0x" + "00" * 32),
        ("GET", "/health"),
        ("GET", "/api/config"),
        ("GET", "/signatures/31337/0x" + "11" * 20 + "/1"),
        ("POST", "/"),
        ("GET", "/no/such/route"),
    ],
)
async def test_responses__content_api_and_errors__carry_csp_and_nosniff(gateway, store, method, path):
    cid = store.put(b'{"a": 1}')
    response = await gateway.request(method, path.format(cid=cid), data=b"{}")
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_dapp_page__keeps_its_own_content_security_policy(gateway):
    response = await gateway.get("/")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
