"""The Chainlink bridge endpoint: decisions on real photos, every bad input, idempotency, async mode, limits."""

from __future__ import annotations

import asyncio
import hashlib
import json

import aiohttp
import pytest
from aiohttp import web
from eth_utils import keccak

from oracle.adapter.app import BRIDGE_MAX_BODY_BYTES, classify, create_app
from oracle.explain import canonical_json, photo_entry
from oracle.settings import load_settings
from oracle.sources.weather import OpenMeteoArchiveSource
from tests.adapter.conftest import bridge_body
from tests.claim.conftest import error_body, open_meteo_app
from tests.factories import make_jpeg, real_photo_paths


async def post(client, body) -> tuple[int, dict]:
    """POST a bridge request (a dict as JSON, or raw bytes) and return (status, decoded body)."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = await client.post("/", data=raw, headers={"Content-Type": "application/json"})
    return response.status, await response.json()


def assert_errored(status: int, body: dict, expected_status: int, name: str, message: str, job_id="job-1") -> None:
    """The bridge error shape, with the status repeated in the body and a message for people."""
    assert status == expected_status, body
    assert body["jobRunID"] == job_id and body["status"] == "errored" and body["statusCode"] == expected_status
    assert body["error"]["name"] == name
    assert message in body["error"]["message"], body["error"]["message"]
    assert "Traceback" not in body["error"]["message"]


@pytest.mark.asyncio
async def test_bridge__real_photos__decision_with_resolvable_explanation(
    damage_model, noaa, make_assessor, on_chain, make_client, photo_bytes
):
    client = await make_client(make_assessor(damage_model, [noaa]))
    ctx = on_chain(photo_bytes)
    status, body = await post(client, bridge_body(ctx, job_id="run-42"))

    assert status == 200 and body["statusCode"] == 200 and body["jobRunID"] == "run-42"
    data = body["data"]
    assert body["result"] == data["result"] == data["explanationHash"]
    assert data["decision"] in (1, 2, 3, 4) and 0 <= data["confidence"] <= 10_000
    assert data["modelHash"] == "0x" + hashlib.sha256(damage_model.path.read_bytes()).hexdigest()
    assert (data["evidenceRoot"], data["termsHash"]) == ("0x" + ctx.evidence_root.hex(), "0x" + ctx.terms_hash.hex())
    assert data["explanationURI"] == f"ipfs://{data['explanationCid']}"
    served = await client.get(f"/content/{data['explanationCid']}")
    document = await served.read()
    assert "0x" + keccak(document).hex() == data["explanationHash"]
    doc = json.loads(document)
    assert (doc["decision"]["code"], doc["payout"], doc["confidenceBps"]) == (
        data["decision"],
        data["payout"],
        data["confidence"],
    )
    by_hash = await client.get(f"/explanations/{data['explanationHash']}")
    assert await by_hash.read() == document


def _data(**changes):
    """A body mutation: the request's data with `changes` (a value of None removes the key)."""

    def mutate(body):
        data = {k: v for k, v in {**body["data"], **changes}.items() if v is not None}
        return {**body, "data": data}

    return mutate


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "mutate, status, name, message",
    [
        (lambda b: b'{"id": "job-1", "data": ', 400, "BadRequestError", "request body is not valid JSON"),
        (lambda b: b"[1, 2]", 400, "BadRequestError", "request body must be a JSON object, got list"),
        (lambda b: b'{"id": "job-1", "data": {"claimId": NaN}}', 400, "BadRequestError", "NaN"),
        (lambda b: {k: v for k, v in b.items() if k != "data"}, 400, "BadRequestError", "data is required"),
        (_data(claimId=None), 400, "BadRequestError", "data.claimId is required"),
        (
            _data(claimId="seven"),
            400,
            "BadRequestError",
            "data.claimId: must be an integer (a JSON integer or a decimal string), got 'seven'",
        ),
        (_data(claimId=12289.5), 400, "BadRequestError", "data.claimId: must be an integer"),
        (_data(claimId=0), 400, "BadRequestError", "data.claimId"),
        (_data(claimId=str(2**256)), 400, "BadRequestError", "data.claimId"),
        (_data(contract="not-an-address"), 400, "BadRequestError", "data.contract: must be a 0x-prefixed"),
        (_data(chainId=1), 400, "BadRequestError", "data.chainId 1 is not this gateway's chain 31337"),
        (_data(contract="0x" + "00" * 19 + "01"), 400, "BadRequestError", "is not this gateway's ClaimsManager"),
        (_data(policyId=3, evidenceRoot="0x" + "01" * 32), 400, "BadRequestError", "reads every other fact"),
        (_data(clamId=1), 400, "BadRequestError", "remove ['clamId']"),
        (_data(**{"async": True}), 400, "BadRequestError", "async mode needs responseURL"),
        (_data(claimId=999999), 404, "ClaimNotOnChainError", "claim 999999 is not a submitted claim"),
        (
            lambda b: {**b, "pad": "x" * BRIDGE_MAX_BODY_BYTES},
            413,
            "PayloadTooLargeError",
            f"over the limit of {BRIDGE_MAX_BODY_BYTES} bytes",
        ),
    ],
    ids=[
        "malformed-json",
        "not-an-object",
        "nan",
        "missing-data",
        "missing-claim-id",
        "wrong-type-string",
        "wrong-type-float",
        "zero",
        "past-uint256",
        "bad-address",
        "other-chain",
        "other-contract",
        "claim-facts-from-the-caller",
        "unknown-field",
        "async-without-url",
        "not-on-chain",
        "oversized-body",
    ],
)
async def test_bridge__bad_input__error_names_field_and_value(
    mutate, status, name, message, make_assessor, on_chain, make_client
):
    client = await make_client(make_assessor(None))
    body = mutate(bridge_body(on_chain([("front.jpg", make_jpeg(1))])))
    got_status, got = await post(client, body)
    # an unparseable or unread (oversized) body has no id to echo
    job_id = None if isinstance(body, bytes) or status == 413 else "job-1"
    assert_errored(got_status, got, status, name, message, job_id=job_id)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "recorded, name, message",
    [
        ({"evidence_root": b"\x01" * 32}, "EvidenceError", "no manifest with keccak256 0x" + "01" * 32),
        ({"terms_hash": b"\x02" * 32}, "TermsError", "no terms document with keccak256 0x" + "02" * 32),
    ],
    ids=["unknown-evidence-root", "unknown-terms"],
)
async def test_bridge__claim_on_chain_names_missing_content__400(
    recorded, name, message, make_assessor, on_chain, make_client
):
    client = await make_client(make_assessor(None))
    status, body = await post(client, bridge_body(on_chain([("front.jpg", make_jpeg(1))], **recorded)))
    assert_errored(status, body, 400, name, message)


@pytest.mark.asyncio
async def test_bridge__no_chain_configured__503_says_which_settings(make_assessor, make_context, store, aiohttp_client):
    app = create_app(load_settings(), make_assessor(None), store)
    status, body = await post(await aiohttp_client(app), bridge_body(make_context([("front.jpg", make_jpeg(1))])))
    assert_errored(status, body, 503, "ChainNotConfiguredError", "CLAIMS_ORACLE_CONTRACT_ADDRESS")


@pytest.mark.asyncio
async def test_bridge__undecodable_photo__400_names_the_photo(make_assessor, on_chain, make_client):
    client = await make_client(make_assessor(None))
    ctx = on_chain([("front.jpg", make_jpeg(1)), ("side.jpg", b"\xff\xd8\xff\xe0 truncated jpeg")])
    status, body = await post(client, bridge_body(ctx))
    assert_errored(status, body, 400, "EvidenceError", "photo 2 ('side.jpg'")
    assert "do not decode as an image" in body["error"]["message"]


@pytest.mark.asyncio
async def test_bridge__manifest_hash_disagrees_with_cid__400(make_assessor, on_chain, make_client, store):
    photo = make_jpeg(2)
    store.put(photo)
    entry = {**photo_entry("front.jpg", photo), "sha256": "0x" + "ab" * 32}
    manifest = canonical_json({"version": 1, "photos": [entry]})
    store.put(manifest)
    ctx = on_chain([("x.jpg", make_jpeg(3))], evidence_root=keccak(manifest))
    client = await make_client(make_assessor(None))
    status, body = await post(client, bridge_body(ctx))
    assert_errored(status, body, 400, "EvidenceError", "does not match the digest in its cid")


@pytest.mark.asyncio
async def test_bridge__photo_tampered_in_store__400_corrupt(make_assessor, on_chain, make_client, store):
    photo = make_jpeg(4)
    ctx = on_chain([("front.jpg", photo)])
    path = store._blob_path(photo_entry("front.jpg", photo)["cid"])
    path.write_bytes(make_jpeg(5))
    status, body = await post(await make_client(make_assessor(None)), bridge_body(ctx))
    assert_errored(status, body, 400, "EvidenceError", "the stored copy is corrupt")


@pytest.mark.asyncio
async def test_bridge__too_many_photos__400_names_limit(make_assessor, on_chain, make_client):
    ctx = on_chain([(f"p{i}.jpg", make_jpeg(10 + i)) for i in range(3)])
    status, body = await post(await make_client(make_assessor(None, max_photos=2)), bridge_body(ctx))
    assert_errored(status, body, 400, "EvidenceError", "3 photos, more than the limit of 2")


@pytest.mark.asyncio
async def test_bridge__photo_over_byte_limit__400_names_limit(make_assessor, on_chain, make_client):
    photo = make_jpeg(20, size=(400, 300))
    ctx = on_chain([("big.jpg", photo)])
    status, body = await post(await make_client(make_assessor(None, max_photo_bytes=1000)), bridge_body(ctx))
    assert_errored(status, body, 400, "EvidenceError", "over the per-photo limit of 1000 bytes")


@pytest.mark.asyncio
async def test_bridge__no_model_loaded__503_after_evidence_checks(make_assessor, on_chain, make_client):
    status, body = await post(
        await make_client(make_assessor(None)), bridge_body(on_chain([("front.jpg", make_jpeg(1))]))
    )
    assert_errored(status, body, 503, "ModelUnavailableError", "no damage model is loaded")


@pytest.mark.asyncio
async def test_bridge__weather_api_failing__502_upstream(
    damage_model, aiohttp_server, make_assessor, on_chain, make_client, photo_bytes
):
    server = await aiohttp_server(open_meteo_app(status=400, body=error_body("Daily API request limit exceeded")))
    async with aiohttp.ClientSession() as session:
        source = OpenMeteoArchiveSource(session, base_url=str(server.make_url("/v1/archive")))
        client = await make_client(make_assessor(damage_model, [source]))
        status, body = await post(client, bridge_body(on_chain(photo_bytes)))
    assert_errored(status, body, 502, "UpstreamError", "Daily API request limit exceeded")


@pytest.mark.asyncio
async def test_bridge__same_claim_twice__same_answer_computed_once(
    damage_model, noaa, make_assessor, on_chain, make_client, photo_bytes
):
    client = await make_client(make_assessor(damage_model, [noaa]))
    body = bridge_body(on_chain(photo_bytes))
    first, second = await post(client, body), await post(client, {**body, "id": "job-2"})
    assert first[0] == second[0] == 200
    assert first[1]["data"] == second[1]["data"] and second[1]["jobRunID"] == "job-2"
    health = await (await client.get("/health")).json()
    assert health["cache"] == {"entries": 1, "hits": 1, "computations": 1}


@pytest.mark.asyncio
async def test_bridge__identical_requests_at_once__share_one_computation(
    damage_model, noaa, make_assessor, on_chain, make_client, photo_bytes
):
    client = await make_client(make_assessor(damage_model, [noaa]))
    body = bridge_body(on_chain(photo_bytes))
    answers = await asyncio.gather(*(post(client, body) for _ in range(4)))
    assert {a[0] for a in answers} == {200}
    assert len({json.dumps(a[1], sort_keys=True) for a in answers}) == 1
    health = await (await client.get("/health")).json()
    assert health["cache"]["computations"] == 1 and health["cache"]["hits"] == 3


@pytest.mark.asyncio
async def test_bridge__three_claims_with_limit_one__never_two_at_once(
    damage_model, noaa, make_assessor, on_chain, make_client, photo_bytes
):
    client = await make_client(make_assessor(damage_model, [noaa], max_workers=2), adapter_max_concurrency=1)
    third = real_photo_paths(3)[2]
    claims = [on_chain(photo_bytes, claim_id=100 + i, policy_id=10 + i) for i in range(2)]
    claims.append(on_chain([(third.name, third.read_bytes())], claim_id=200))
    answers = await asyncio.gather(*(post(client, bridge_body(c)) for c in claims))
    assert [a[0] for a in answers] == [200, 200, 200]
    health = await (await client.get("/health")).json()
    assert (health["maxConcurrency"], health["peakInFlight"], health["inFlight"]) == (1, 1, 0)
    assert health["cache"]["computations"] == 3


async def _response_url_server(aiohttp_server):
    """A stand-in for the Chainlink node's /v2/resume endpoint that records each PATCH."""
    received: asyncio.Queue = asyncio.Queue()

    async def resume(request: web.Request) -> web.Response:
        await received.put((request.method, request.match_info["run"], await request.json()))
        return web.json_response({})

    app = web.Application()
    app.router.add_patch("/v2/resume/{run}", resume)
    return await aiohttp_server(app), received


@pytest.mark.asyncio
async def test_bridge__async_mode__pending_then_patch_with_the_answer(
    damage_model, noaa, aiohttp_server, make_assessor, on_chain, make_client, photo_bytes
):
    node, received = await _response_url_server(aiohttp_server)
    client = await make_client(make_assessor(damage_model, [noaa]), adapter_callback_hosts=["127.0.0.1"])
    body = bridge_body(on_chain(photo_bytes))
    status, pending = await post(
        client, {**body, "data": {**body["data"], "async": True}, "responseURL": str(node.make_url("/v2/resume/run-7"))}
    )
    assert (status, pending) == (200, {"pending": True})

    method, run, patch = await asyncio.wait_for(received.get(), timeout=30)
    assert (method, run) == ("PATCH", "run-7")
    value = json.loads(patch["value"])
    _, sync = await post(client, body)
    assert value == sync  # the same answer the synchronous form gives (from the cache)


@pytest.mark.asyncio
async def test_bridge__async_mode_from_meta__failure_patched_as_error(
    aiohttp_server, make_assessor, on_chain, make_client
):
    node, received = await _response_url_server(aiohttp_server)
    client = await make_client(make_assessor(None), adapter_callback_hosts=["127.0.0.1"])
    body = bridge_body(on_chain([("front.jpg", make_jpeg(1))], evidence_root=b"\x03" * 32))
    body.update(meta={"async": True}, responseURL=str(node.make_url("/v2/resume/run-8")))
    status, pending = await post(client, body)
    assert (status, pending) == (200, {"pending": True})
    _, _, patch = await asyncio.wait_for(received.get(), timeout=30)
    assert patch == {
        "error": "EvidenceError (400): no manifest with keccak256 0x" + "03" * 32 + " is in the content store"
    }


def test_classify__unexpected_exception__500_without_internals():
    status, name, message = classify(RuntimeError("boom <_io.BytesIO object at 0x7f>"))
    assert (status, name) == (500, "InternalError")
    assert "RuntimeError" not in message and "boom" not in message and "Traceback" not in message
