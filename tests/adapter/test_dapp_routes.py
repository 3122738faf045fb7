"""The gateway's dApp routes without a chain: static files, configuration, evidence and terms uploads, the dev
wallet relay's allow-list, and the replay endpoint's refusals."""

from __future__ import annotations

import json

import pytest
from eth_utils import keccak

from oracle.adapter.app import create_app
from oracle.adapter.dapp import DappConfig, register_dapp_routes
from oracle.assess import DEFAULT_TERMS_PATH
from oracle.explain.evidence import build_manifest
from oracle.settings import load_settings
from tests.factories import make_jpeg

pytestmark = pytest.mark.asyncio
MANAGER = "0x" + "11" * 20


@pytest.fixture
def make_dapp_client(aiohttp_client, store, make_assessor):
    """Factory: the gateway with the dApp routes, optionally with a dev-wallet relay to `rpc_upstream`."""

    async def build(rpc_upstream: str | None = None, **settings_overrides):
        settings = load_settings(max_photos=3, **settings_overrides)
        app = create_app(settings, make_assessor(None), store)
        register_dapp_routes(
            app,
            DappConfig(
                chain_id=31337,
                chain_name="test",
                claims_manager=MANAGER,
                rpc_upstream=rpc_upstream,
                dev_accounts=[{"address": "0x" + "22" * 20, "role": "claimant"}],
            ),
        )
        return await aiohttp_client(app)

    return build


async def test_index_and_assets__served_with_a_content_security_policy(make_dapp_client):
    client = await make_dapp_client()
    page = await client.get("/")
    assert page.status == 200 and '<main id="view"' in await page.text()
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    script = await client.get("/app/main.js")
    assert script.status == 200 and script.headers["Content-Type"].startswith("text/javascript")
    ethers = await client.get("/vendor/ethers.js")
    assert ethers.status == 200 and b"export" in await ethers.read()


@pytest.mark.parametrize("path", ["/app/..%2Fpyproject.toml", "/app/.hidden.js", "/app/missing.js", "/app/README.md"])
async def test_assets__outside_the_dapp_or_unknown__404(make_dapp_client, path):
    client = await make_dapp_client()
    response = await client.get(path)
    assert response.status == 404


async def test_config__abis_from_the_build_and_no_dev_wallet_without_an_upstream(make_dapp_client):
    client = await make_dapp_client()
    config = await (await client.get("/api/config")).json()
    assert config["chainId"] == 31337 and config["contracts"]["ClaimsManager"]["address"] == MANAGER
    names = {entry.get("name") for entry in config["contracts"]["ClaimsManager"]["abi"]}
    assert {"submitClaim", "withdrawPayout", "ClaimDecided", "governor", "desk"} <= names
    # the governor's and the desk's addresses are read from the manager by the dApp
    for name, member in (("ProductGovernor", "createProduct"), ("DisputeDesk", "dispute")):
        assert config["contracts"][name]["address"] is None
        assert member in {entry.get("name") for entry in config["contracts"][name]["abi"]}
    assert config["devWallet"] is None
    assert config["limits"]["maxPhotos"] == 3


async def test_evidence__uploaded_photos__manifest_root_matches_the_node_side_builder(make_dapp_client, store):
    client = await make_dapp_client()
    photos = [("a.jpg", make_jpeg(1)), ("b.jpg", make_jpeg(2))]
    cids = [store.put(data) for _, data in photos]
    body = {
        "photos": [{"name": n, "cid": c} for (n, _), c in zip(photos, cids, strict=True)],
        "claimant": {"vehicleClass": "suv"},
    }
    response = await client.post("/api/evidence", json=body)
    answer = await response.json()
    assert response.status == 201, answer
    expected = build_manifest(photos, {"vehicleClass": "suv"})
    assert answer["evidenceRoot"] == expected.root_hex
    assert store.get(answer["manifestCid"]) == expected.data and answer["evidenceURI"].startswith("ipfs://")


@pytest.mark.parametrize(
    "body, fragment",
    [
        ({"photos": []}, "at least one photo"),
        ({"photos": "x"}, "expected"),
        ({"photos": [{"name": "a", "cid": 5}]}, "photo 0"),
        ({"photos": [{"name": "a", "cid": "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"}]}, "not"),
        ({"photos": [{"name": str(i), "cid": "x"} for i in range(4)]}, "over the limit of 3"),
        ({"photos": [{"name": "a", "cid": "x"}], "claimant": {"wallet": "0x"}}, "claimant may hold only"),
    ],
)
async def test_evidence__bad_requests__clear_errors(make_dapp_client, body, fragment):
    client = await make_dapp_client()
    response = await client.post("/api/evidence", json=body)
    assert response.status in (400, 404)
    assert fragment in (await response.json())["error"]["message"]


async def test_evidence__a_stored_file_that_is_not_an_image__refused_before_any_gas_is_spent(make_dapp_client, store):
    client = await make_dapp_client()
    cid = store.put(b"%PDF-1.4 not a photo")
    response = await client.post("/api/evidence", json={"photos": [{"name": "doc.pdf", "cid": cid}]})
    assert response.status == 400
    assert "do not decode as an image" in (await response.json())["error"]["message"]


async def test_terms__valid_document__stored_under_its_keccak(make_dapp_client, store):
    client = await make_dapp_client()
    data = DEFAULT_TERMS_PATH.read_bytes()
    response = await client.post("/api/terms", data=data)
    answer = await response.json()
    assert response.status == 201 and answer["termsHash"] == "0x" + keccak(data).hex()
    assert "sedan" in answer["vehicleClasses"] and store.get(answer["cid"]) == data


async def test_terms__missing_cost_schedule__400_names_it(make_dapp_client):
    client = await make_dapp_client()
    doc = json.loads(DEFAULT_TERMS_PATH.read_text())
    del doc["costSchedule"]
    response = await client.post("/api/terms", data=json.dumps(doc).encode())
    assert response.status == 400 and "costSchedule" in (await response.json())["error"]["message"]


async def test_rpc_relay__off_without_a_dev_chain(make_dapp_client):
    client = await make_dapp_client()
    response = await client.post("/rpc", json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []})
    assert response.status == 404 and "no dev wallet" in (await response.json())["error"]["message"]


@pytest.mark.parametrize(
    "call",
    [
        {"jsonrpc": "2.0", "id": 1, "method": "anvil_setBalance", "params": []},
        [{"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}, {"jsonrpc": "2.0", "id": 2, "method": "evm_mine"}],
        {"jsonrpc": "2.0", "id": 1},
    ],
)
async def test_rpc_relay__chain_surgery_refused_before_reaching_the_node(make_dapp_client, call):
    client = await make_dapp_client(rpc_upstream="http://127.0.0.1:9")  # nothing listens there
    response = await client.post("/rpc", json=call)
    assert (
        response.status == 400 and "forwards eth_* and net_* calls only" in (await response.json())["error"]["message"]
    )


async def test_verify__no_contract_configured__404_says_so(make_dapp_client):
    client = await make_dapp_client()
    response = await client.post("/api/claims/4097/verify")
    assert response.status == 404 and "no contract configured" in (await response.json())["error"]["message"]


async def test_verify__claim_id_not_a_number__400(make_dapp_client):
    client = await make_dapp_client(contract_address=MANAGER)
    response = await client.post("/api/claims/12x/verify")
    assert response.status == 400 and "not a decimal number" in (await response.json())["error"]["message"]
