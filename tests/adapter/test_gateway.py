"""The content gateway and health: verified reads, content types, cache headers, uploads and explanation lookup."""

from __future__ import annotations

import asyncio
import hashlib
import io

import pytest
from eth_utils import keccak
from PIL import Image

from oracle.cas import cid_for_bytes
from oracle.explain import canonical_json
from tests.adapter.conftest import permit_for
from tests.factories import make_jpeg

pytestmark = pytest.mark.asyncio


def png_bytes() -> bytes:
    """A small real PNG."""
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


async def test_upload_then_get__png__served_with_type_and_immutable_headers(make_assessor, make_client):
    client = await make_client(make_assessor(None))
    data = png_bytes()
    upload = await client.post("/content", data=data, headers=permit_for(client))
    assert upload.status == 201
    answer = await upload.json()
    assert answer["cid"] == cid_for_bytes(data) and answer["bytes"] == len(data)
    assert answer["keccak256"] == "0x" + keccak(data).hex()

    response = await client.get(f"/content/{answer['cid']}")
    assert response.status == 200 and await response.read() == data
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["ETag"] == f'"{answer["cid"]}"'
    again = await client.get(f"/content/{answer['cid']}", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status == 304


async def test_get_content__json_and_jpeg__content_types(make_assessor, make_client, store):
    client = await make_client(make_assessor(None))
    doc = store.put(canonical_json({"a": 1}))
    jpeg = store.put(make_jpeg(1))
    assert (await client.get(f"/content/{doc}")).headers["Content-Type"] == "application/json; charset=utf-8"
    assert (await client.get(f"/content/{jpeg}")).headers["Content-Type"] == "image/jpeg"


async def test_get_content__unknown_cid__404_names_it(make_assessor, make_client):
    client = await make_client(make_assessor(None))
    cid = cid_for_bytes(b"never stored")
    response = await client.get(f"/content/{cid}")
    body = await response.json()
    assert response.status == 404 and body["error"]["name"] == "ContentNotFoundError"
    assert cid in body["error"]["message"]


async def test_get_content__not_a_cid__400(make_assessor, make_client):
    client = await make_client(make_assessor(None))
    response = await client.get("/content/QmNotAv1Cid")
    body = await response.json()
    assert response.status == 400 and "'QmNotAv1Cid' is not a content id" in body["error"]["message"]


async def test_get_content__file_tampered_on_disk__refused(make_assessor, make_client, store):
    client = await make_client(make_assessor(None))
    data = png_bytes()
    cid = store.put(data)
    store._blob_path(cid).write_bytes(data[:-1] + b"\x00")
    response = await client.get(f"/content/{cid}")
    body = await response.json()
    assert response.status == 500 and body["error"]["name"] == "ContentIntegrityError"
    assert f"content {cid} is corrupt" in body["error"]["message"]


async def test_upload__over_the_limit__413(make_assessor, make_client):
    client = await make_client(make_assessor(None), adapter_max_body_bytes=1024)
    response = await client.post("/content", data=b"x" * 2048, headers=permit_for(client))
    body = await response.json()
    assert response.status == 413 and "over the limit of 1024 bytes" in body["error"]["message"]


async def test_upload__empty__400(make_assessor, make_client):
    client = await make_client(make_assessor(None))
    response = await client.post("/content", data=b"", headers=permit_for(client))
    assert response.status == 400 and "upload is empty" in (await response.json())["error"]["message"]


async def test_get_explanation__by_keccak__served_as_json(make_assessor, make_client, store):
    client = await make_client(make_assessor(None))
    document = canonical_json({"schema": "claims-oracle/explanation", "decision": {"code": 1}})
    cid = store.put(document)
    response = await client.get(f"/explanations/0x{keccak(document).hex()}")
    assert response.status == 200 and await response.read() == document
    assert response.headers["X-Content-Cid"] == cid
    assert response.headers["Content-Type"].startswith("application/json")


async def test_get_explanation__unknown_or_malformed_hash__404_and_400(make_assessor, make_client):
    client = await make_client(make_assessor(None))
    unknown = await client.get("/explanations/0x" + "ab" * 32)
    assert unknown.status == 404 and "no explanation with keccak256 0x" + "ab" * 32 in (await unknown.text())
    malformed = await client.get("/explanations/0x1234")
    assert malformed.status == 400 and "'0x1234' is not a keccak256 hash" in (await malformed.text())


async def test_get_explanation__wait__held_until_the_document_arrives_then_served(make_assessor, make_client, store):
    """A decision's explanation reaches the gateway a moment after the decision: `?wait=S` holds the request until it
    is stored (the dApp asks once instead of polling through 404s, each of which a browser logs as an error)."""
    client = await make_client(make_assessor(None))
    document = canonical_json({"schema": "claims-oracle/explanation", "decision": {"code": 2}})
    asking = asyncio.create_task(client.get(f"/explanations/0x{keccak(document).hex()}?wait=10"))
    await asyncio.sleep(0.6)
    assert not asking.done()  # held, not answered 404
    store.put(document)
    response = await asyncio.wait_for(asking, timeout=5)
    assert response.status == 200 and await response.read() == document
    started = asyncio.get_running_loop().time()
    missing = await client.get("/explanations/0x" + "cd" * 32 + "?wait=1")
    assert missing.status == 404 and asyncio.get_running_loop().time() - started >= 1
    for bad in ("-1", "1.5", "x", "9999999"):
        refused = await client.get("/explanations/0x" + "cd" * 32 + f"?wait={bad}")
        assert refused.status == 400 and "wait: a whole number of seconds" in (await refused.text()), bad


async def test_health__no_model__503_with_reason(make_assessor, make_client):
    response = await (await make_client(make_assessor(None))).get("/health")
    body = await response.json()
    assert response.status == 503 and body["ok"] is False and "no damage model" in body["reason"]


async def test_health__model_loaded__200_with_model_hash(damage_model, make_assessor, make_client):
    response = await (await make_client(make_assessor(damage_model))).get("/health")
    body = await response.json()
    assert response.status == 200 and body["ok"] is True
    assert body["model"]["sha256"] == "0x" + hashlib.sha256(damage_model.path.read_bytes()).hexdigest()
    assert body["codeVersion"] == "0.1.0+test" and body["store"].startswith("LocalContentStore(")


async def test_unknown_route__404_json(make_assessor, make_client):
    response = await (await make_client(make_assessor(None))).get("/nope")
    assert response.status == 404 and (await response.json())["error"]["name"] == "HTTPNotFound"


async def test_get_cid__stored_keccak__answers_its_cid_and_unknown_is_404(make_assessor, make_client, store):
    client = await make_client(make_assessor(None))
    data = canonical_json({"terms": 1})
    cid = store.put(data)
    response = await client.get(f"/cids/0x{keccak(data).hex()}")
    assert response.status == 200 and (await response.json())["cid"] == cid
    assert (await client.get(f"/cids/0x{'11' * 32}")).status == 404


@pytest.mark.parametrize("bad", ["0x1234", "not-a-hash", "0x" + "zz" * 32])
async def test_get_cid__malformed_hash__400(make_assessor, make_client, bad):
    client = await make_client(make_assessor(None))
    assert (await client.get(f"/cids/{bad}")).status == 400


async def test_announce__store_not_on_ipfs__404_not_500(make_assessor, make_client):
    client = await make_client(make_assessor(None))
    response = await client.post("/content/announce", json={"cids": [cid_for_bytes(b"x")]})
    assert response.status == 404
