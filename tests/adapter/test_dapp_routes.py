"""The gateway's dApp routes without a chain: static files, configuration, evidence and terms uploads, the dev
wallet relay's refusals (methods, accounts, origins, host names, media types, batches), and the replay endpoint's."""

from __future__ import annotations

import json

import pytest
import pytest_asyncio
from aiohttp import web
from eth_utils import keccak

from oracle.adapter.app import create_app
from oracle.adapter.dapp import DappConfig, register_dapp_routes
from oracle.adapter.places import MAX_RESULTS, MIN_POPULATION
from oracle.adapter.uploads import permit_message
from oracle.assess import DEFAULT_TERMS_PATH
from oracle.explain.evidence import build_manifest
from oracle.privacy import encryption_key_message
from oracle.settings import load_settings
from tests.adapter.conftest import permit_for
from tests.factories import make_jpeg

pytestmark = pytest.mark.asyncio
MANAGER = "0x" + "11" * 20
KEY_DIRECTORY = "0x" + "44" * 20


@pytest.fixture
def make_dapp_client(aiohttp_client, store, make_assessor, ledger):
    """Factory: the gateway with the dApp routes, optionally with a dev-wallet relay to `rpc_upstream`."""

    async def build(rpc_upstream: str | None = None, **settings_overrides):
        settings = load_settings(max_photos=3, **settings_overrides)
        app = create_app(settings, make_assessor(None), store, claims=ledger)
        register_dapp_routes(
            app,
            DappConfig(
                chain_id=31337,
                chain_name="test",
                claims_manager=MANAGER,
                key_directory=KEY_DIRECTORY,
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
        "claimant": {"countyFips": "12013"},
    }
    response = await client.post("/api/evidence", json=body, headers=permit_for(client))
    answer = await response.json()
    assert response.status == 201, answer
    expected = build_manifest(photos, {"countyFips": "12013"})
    assert answer["evidenceRoot"] == expected.root_hex
    assert store.get(answer["manifestCid"]) == expected.data and answer["evidenceURI"].startswith("ipfs://")


@pytest.mark.parametrize(
    "body, fragment",
    [
        ({"photos": []}, "at least one photo"),
        ({"photos": "x"}, "expected"),
        ({"photos": [{"name": "a", "cid": 5}]}, "photo 1"),
        ({"photos": [{"name": "a", "cid": "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"}]}, "not"),
        ({"photos": [{"name": str(i), "cid": "x"} for i in range(4)]}, "over the limit of 3"),
        ({"photos": [{"name": "a", "cid": "x"}], "claimant": {"wallet": "0x"}}, "claimant may hold only"),
        # the class is the policy's: a claim that names one (a dearer one, say) is refused, not priced for it
        (
            {"photos": [{"name": "a", "cid": "x"}], "claimant": {"vehicleClass": "luxury"}},
            "the vehicle class is the policy's",
        ),
    ],
)
async def test_evidence__bad_requests__clear_errors(make_dapp_client, body, fragment):
    client = await make_dapp_client()
    response = await client.post("/api/evidence", json=body, headers=permit_for(client))
    assert response.status in (400, 404)
    assert fragment in (await response.json())["error"]["message"]


async def test_evidence__a_stored_file_that_is_not_an_image__refused_before_any_gas_is_spent(make_dapp_client, store):
    client = await make_dapp_client()
    cid = store.put(b"%PDF-1.4 not a photo")
    body = {"photos": [{"name": "doc.pdf", "cid": cid}]}
    response = await client.post("/api/evidence", json=body, headers=permit_for(client))
    assert response.status == 400
    message = (await response.json())["error"]["message"]
    assert message.startswith("photo 1 ('doc.pdf'") and "do not decode as an image" in message
    assert "Error" not in message and "BytesIO" not in message  # no Python exception names or reprs


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


PERSON = "0x" + "22" * 20  # the dev account the test gateway lends (a claimant)
NODE = "0x" + "33" * 20  # any other account of the dev chain: an oracle node's, the deployer's, the contract's


@pytest_asyncio.fixture
async def upstream(aiohttp_server):
    """A stand-in dev chain that records every JSON-RPC body it receives and answers each call with null."""
    received: list = []

    async def answer(request: web.Request) -> web.Response:
        body = await request.json()
        received.append(body)
        calls = body if isinstance(body, list) else [body]
        results = [{"jsonrpc": "2.0", "id": c.get("id"), "result": None} for c in calls]
        return web.json_response(results if isinstance(body, list) else results[0])

    app = web.Application()
    app.router.add_post("/", answer)
    server = await aiohttp_server(app)
    server.received = received
    return server


def rpc(method: str, *params) -> dict:
    """One JSON-RPC call."""
    return {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}


async def test_rpc_relay__dapp_reads_and_a_persons_transaction__forwarded(make_dapp_client, upstream):
    client = await make_dapp_client(rpc_upstream=str(upstream.make_url("/")))
    batch = [
        rpc("eth_chainId"),
        rpc("eth_getLogs", {"fromBlock": "0x0"}),
        rpc("eth_estimateGas", {"from": NODE}),
        rpc("eth_sendTransaction", {"from": PERSON.upper().replace("0X", "0x"), "to": MANAGER, "data": "0x"}),
    ]
    response = await client.post("/rpc", json=batch, headers={"Origin": str(client.make_url("")).rstrip("/")})
    assert response.status == 200, await response.text()
    assert len(await response.json()) == 4 and upstream.received == [batch]


@pytest.mark.parametrize(
    "call",
    [
        rpc("eth_sendUnsignedTransaction", {"from": MANAGER, "to": NODE, "value": hex(10**18)}),
        rpc("eth_sendUnsignedTransaction", {"from": PERSON, "to": NODE}),
        rpc("anvil_setBalance", NODE, "0x1"),
        rpc("anvil_impersonateAccount", MANAGER),
        rpc("evm_mine"),
        rpc("evm_increaseTime", 86400),
        rpc("hardhat_impersonateAccount", MANAGER),
        rpc("debug_traceTransaction", "0x" + "00" * 32),
        rpc("eth_sign", PERSON, "0x00"),
        rpc("eth_signTypedData_v4", PERSON, "{}"),
        rpc("eth_signTransaction", {"from": PERSON}),
        rpc("eth_sendRawTransaction", "0x00"),
    ],
    ids=lambda call: call["method"],
)
async def test_rpc_relay__method_the_dapp_does_not_use__refused_before_reaching_the_chain(
    make_dapp_client, upstream, call
):
    client = await make_dapp_client(rpc_upstream=str(upstream.make_url("/")))
    response = await client.post("/rpc", json=call)
    assert response.status == 403
    assert "does not forward" in (await response.json())["error"]["message"] and upstream.received == []


def key_message_hex(account: str, directory: str = KEY_DIRECTORY) -> str:
    """The evidence-key message of an account, hex-encoded as ethers sends it with personal_sign."""
    return "0x" + encryption_key_message(31337, directory, account).encode().hex()


async def test_rpc_relay__personal_sign_of_the_evidence_key_message__forwarded(make_dapp_client, upstream):
    client = await make_dapp_client(rpc_upstream=str(upstream.make_url("/")))
    response = await client.post("/rpc", json=rpc("personal_sign", key_message_hex(PERSON), PERSON))
    assert response.status == 200 and len(upstream.received) == 1


@pytest.mark.parametrize(
    "message, account",
    [
        ("0x00", PERSON),  # any other message: a login, a permit, a transaction in disguise
        (key_message_hex(PERSON, directory=MANAGER), PERSON),  # the key message for another directory
        (key_message_hex(NODE), PERSON),  # another account's key message
        (key_message_hex(NODE), NODE),  # an oracle node's key: the relay never signs for it
    ],
)
async def test_rpc_relay__personal_sign_of_any_other_message_or_account__refused(
    make_dapp_client, upstream, message, account
):
    client = await make_dapp_client(rpc_upstream=str(upstream.make_url("/")))
    response = await client.post("/rpc", json=rpc("personal_sign", message, account))
    assert response.status == 403 and "personal_sign" in (await response.json())["error"]["message"]
    assert upstream.received == []


@pytest.mark.parametrize("sender", [NODE, MANAGER, None, 5])
async def test_rpc_relay__send_transaction_from_an_oracle_node_or_deployer__refused(make_dapp_client, upstream, sender):
    client = await make_dapp_client(rpc_upstream=str(upstream.make_url("/")))
    tx = {"to": MANAGER, "data": "0x"} | ({} if sender is None else {"from": sender})
    response = await client.post("/rpc", json=rpc("eth_sendTransaction", tx))
    assert response.status == 403
    assert "sends only from the accounts" in (await response.json())["error"]["message"] and upstream.received == []


async def test_rpc_relay__batch_hiding_an_unsigned_transaction__whole_batch_refused(make_dapp_client, upstream):
    client = await make_dapp_client(rpc_upstream=str(upstream.make_url("/")))
    batch = [rpc("eth_chainId"), rpc("eth_sendUnsignedTransaction", {"from": MANAGER, "to": NODE, "value": "0x1"})]
    response = await client.post("/rpc", json=batch)
    assert response.status == 403 and upstream.received == []


@pytest.mark.parametrize("body", [[], [rpc("eth_chainId")] * 101, [5], {"jsonrpc": "2.0", "id": 1}])
async def test_rpc_relay__empty_huge_or_malformed_batch__400(make_dapp_client, upstream, body):
    client = await make_dapp_client(rpc_upstream=str(upstream.make_url("/")))
    response = await client.post("/rpc", json=body)
    assert response.status == 400 and upstream.received == []


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", None]
)
async def test_rpc_relay__simple_request_from_a_foreign_page__415_without_preflight(
    make_dapp_client, upstream, content_type
):
    client = await make_dapp_client(rpc_upstream=str(upstream.make_url("/")))
    headers = {"Content-Type": content_type} if content_type else {}
    response = await client.post(
        "/rpc", data=json.dumps(rpc("eth_accounts")).encode(), headers=headers, skip_auto_headers=["Content-Type"]
    )
    assert response.status == 415
    assert "application/json" in (await response.json())["error"]["message"] and upstream.received == []


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://127.0.0.1:1"])
async def test_rpc_relay__unsigned_transaction_from_foreign_origin__refused(make_dapp_client, upstream, origin):
    client = await make_dapp_client(rpc_upstream=str(upstream.make_url("/")))
    unsigned = rpc("eth_sendUnsignedTransaction", {"from": MANAGER, "to": NODE, "value": hex(10**18)})
    response = await client.post("/rpc", json=unsigned, headers={"Origin": origin})
    assert response.status == 403
    assert "Origin" in (await response.json())["error"]["message"] and upstream.received == []


async def test_rpc_relay__dns_rebinding_host_name__refused(make_dapp_client, upstream):
    client = await make_dapp_client(rpc_upstream=str(upstream.make_url("/")))
    port = client.make_url("").port
    response = await client.post(
        "/rpc",
        json=rpc("eth_accounts"),
        headers={"Host": f"rebind.evil.example:{port}", "Origin": f"http://rebind.evil.example:{port}"},
    )
    assert response.status == 403
    assert "is not one of this gateway's names" in (await response.json())["error"]["message"]
    assert upstream.received == []


async def test_rpc_relay__extra_allowed_host_name__served(make_dapp_client, upstream):
    client = await make_dapp_client(rpc_upstream=str(upstream.make_url("/")), adapter_allowed_hosts=["demo.lan"])
    response = await client.post(
        "/rpc", json=rpc("eth_chainId"), headers={"Host": "demo.lan:8080", "Origin": "http://demo.lan:8080"}
    )
    assert response.status == 200 and len(upstream.received) == 1


async def test_verify__no_contract_configured__404_says_so(make_dapp_client):
    client = await make_dapp_client()
    response = await client.post("/api/claims/4097/verify")
    assert response.status == 404 and "no contract configured" in (await response.json())["error"]["message"]


async def test_verify__claim_id_not_a_number__400(make_dapp_client):
    client = await make_dapp_client(contract_address=MANAGER)
    response = await client.post("/api/claims/12x/verify")
    assert response.status == 400 and "not a decimal number" in (await response.json())["error"]["message"]


async def test_rpc_relay__personal_sign_of_an_upload_permit__from_a_person_only(make_dapp_client, upstream):
    client = await make_dapp_client(rpc_upstream=str(upstream.make_url("/")))
    origin = {"Origin": str(client.make_url("")).rstrip("/")}

    def permit_text(account: str) -> str:
        return "0x" + permit_message(origin["Origin"], account, 1_900_000_000).encode().hex()

    for params in ([permit_text(NODE), NODE], ["0x00", PERSON], [permit_text(NODE), PERSON]):
        refused = await client.post("/rpc", json=rpc("personal_sign", *params), headers=origin)
        assert refused.status == 403 and upstream.received == [], params
    answered = await client.post("/rpc", json=rpc("personal_sign", permit_text(PERSON), PERSON), headers=origin)
    assert answered.status == 200 and len(upstream.received) == 1


async def test_places__offline_city_search_largest_first_accents_and_case_ignored(make_dapp_client):
    client = await make_dapp_client()
    response = await client.get("/api/places", params={"q": "des mo"})
    assert response.status == 200
    found = (await response.json())["places"]
    assert found[0]["label"] == "Des Moines, Iowa, United States" and found[0]["countryCode"] == "US"
    assert abs(found[0]["lat"] - 41.6) < 0.01 and abs(found[0]["lon"] + 93.61) < 0.01
    assert [p["population"] for p in found] == sorted((p["population"] for p in found), reverse=True)
    accented = await (await client.get("/api/places", params={"q": "ZÜRI", "limit": "1"})).json()
    assert [p["name"] for p in accented["places"]] == ["Zürich"]
    many = await (await client.get("/api/places", params={"q": "sa", "limit": str(MAX_RESULTS)})).json()
    assert len(many["places"]) == MAX_RESULTS


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({}, "q: type 2 to 64 characters"),
        ({"q": "x"}, "q: type 2 to 64 characters"),
        ({"q": "a" * 65}, "q: type 2 to 64 characters"),
        ({"q": "par\x00is"}, "no control characters"),
        ({"q": "paris", "limit": "0"}, "limit: a whole number from 1 to 20"),
        ({"q": "paris", "limit": "21"}, "limit: a whole number from 1 to 20"),
        ({"q": "paris", "limit": "-1"}, "limit: a whole number"),
        ({"q": "paris", "limit": "1e3"}, "limit: a whole number"),
    ],
)
async def test_places__bad_query_or_limit__400_in_words(make_dapp_client, params, words):
    client = await make_dapp_client()
    response = await client.get("/api/places", params=params)
    assert response.status == 400
    assert words in (await response.json())["error"]["message"]


async def test_places__no_match__empty_list(make_dapp_client):
    client = await make_dapp_client()
    response = await client.get("/api/places", params={"q": "qqxxzz"})
    assert response.status == 200 and (await response.json()) == {"places": [], "minPopulation": MIN_POPULATION}
    assert (await (await client.get("/api/places", params={"q": "-."})).json())["places"] == []


@pytest.mark.parametrize(
    ("query", "label", "matched"),
    [
        ("München", "Munich, Germany", "Munchen"),  # the local name, with or without its accent
        ("muenchen", "Munich, Germany", "Muenchen"),
        ("Мюнхен", "Munich, Germany", "Мюнхен"),  # another script
        ("慕尼黑", "Munich, Germany", "慕尼黑"),
        ("Wien", "Vienna, Austria", "Wien"),  # an exact other name comes before towns whose own name starts so
        ("Bombay", "Mumbai, India", "Bombay"),  # a former name
        ("saint denis", "Saint-Denis, Reunion", ""),  # hyphens and stops typed as spaces
        ("st louis", "St. Louis, Missouri, United States", ""),
        ("Amesbury, Un", "Amesbury, United Kingdom", ""),  # 10,116 people: below the old 15,000 floor
    ],
)
async def test_places__alternate_and_local_names_and_smaller_towns(make_dapp_client, query, label, matched):
    client = await make_dapp_client()
    found = (await (await client.get("/api/places", params={"q": query.split(",")[0], "limit": "20"})).json())["places"]
    best = next(p for p in found if p["label"] == label)
    assert best["matched"] == matched
    assert found.index(best) == 0 or "," in query, [p["label"] for p in found]
