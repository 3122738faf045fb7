"""Uploads belong to someone: each attack on POST /content (and /api/evidence) that used to fill the disk or get
around the owner is refused with a clear 401/403/413/429, and unreferenced uploads expire (adapter/uploads.py)."""

from __future__ import annotations

import time

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct

from oracle.adapter.uploads import PERMIT_HEADER, UPLOADS, encode_permit, permit_message, sign_permit
from oracle.cas import cid_for_bytes
from oracle.explain.evidence import build_manifest
from tests.adapter.conftest import HOLDER, permit_for
from tests.factories import make_jpeg

pytestmark = pytest.mark.asyncio
STRANGER = Account.from_key("0x" + "5e" * 32)
SAFE = "0x" + "5a" * 20  # a policy holder that is a contract (a multisig): EIP-1271


def origin_of(client) -> str:
    return str(client.make_url("")).rstrip("/")


async def error_of(response) -> tuple[int, str, str]:
    body = await response.json()
    assert body["status"] == "errored" and body["statusCode"] == response.status  # the Chainlink error shape
    return response.status, body["error"]["name"], body["error"]["message"]


async def test_disk_fill_by_anonymous_uploads_is_refused(make_assessor, make_client, store):
    client = await make_client(make_assessor(None))
    for _ in range(5):
        response = await client.post("/content", data=b"x" * 1024 * 1024)
        status, name, message = await error_of(response)
        assert status == 401 and name == "UploadPermitRequiredError"
        assert "GET /permits/message" in message and PERMIT_HEADER in message
    assert not store.has(cid_for_bytes(b"x" * 1024 * 1024))


async def test_permit_from_someone_without_a_policy_is_refused(make_assessor, make_client):
    client = await make_client(make_assessor(None))
    response = await client.post("/content", data=make_jpeg(1), headers=permit_for(client, STRANGER.key))
    status, name, message = await error_of(response)
    assert status == 403 and name == "UploadForbiddenError" and "holds no live policy" in message


async def test_upload_permit_replayed_for_another_gateway_is_refused(make_assessor, make_client):
    client = await make_client(make_assessor(None))
    stolen = permit_for(client, origin="https://other-gateway.example")
    response = await client.post("/content", data=make_jpeg(1), headers=stolen)
    status, name, message = await error_of(response)
    assert status == 403 and "signed for the gateway at 'https://other-gateway.example'" in message


async def test_permit_with_its_origin_rewritten_to_this_gateway_is_refused(make_assessor, make_client):
    client = await make_client(make_assessor(None))
    expires = int(time.time()) + 600
    signed = Account.sign_message(
        encode_defunct(text=permit_message("https://other-gateway.example", HOLDER.address, expires)), HOLDER.key
    )
    forged = encode_permit(origin_of(client), HOLDER.address, expires, bytes(signed.signature))
    response = await client.post("/content", data=make_jpeg(1), headers={PERMIT_HEADER: forged})
    status, name, message = await error_of(response)
    assert status == 401 and "signature is not" in message


async def test_expired_permit_is_refused(make_assessor, make_client):
    client = await make_client(make_assessor(None))
    response = await client.post("/content", data=make_jpeg(1), headers=permit_for(client, expires_in=-5))
    status, name, message = await error_of(response)
    assert status == 401 and "expired" in message


async def test_permit_running_for_a_year_is_refused(make_assessor, make_client):
    client = await make_client(make_assessor(None))
    response = await client.post("/content", data=make_jpeg(1), headers=permit_for(client, expires_in=365 * 86400))
    status, _, message = await error_of(response)
    assert status == 401 and "at most 24 hours" in message


async def test_permit_naming_a_holder_but_signed_by_a_stranger_is_refused(make_assessor, make_client):
    client = await make_client(make_assessor(None))
    expires = int(time.time()) + 600
    signed = Account.sign_message(
        encode_defunct(text=permit_message(origin_of(client), HOLDER.address, expires)), STRANGER.key
    )
    forged = encode_permit(origin_of(client), HOLDER.address, expires, bytes(signed.signature))
    response = await client.post("/content", data=make_jpeg(1), headers={PERMIT_HEADER: forged})
    status, _, message = await error_of(response)
    assert status == 401 and HOLDER.address in message


@pytest.mark.parametrize("header", ["not base64!", "eyJhIjoxfQ", "W10", "x" * 5000])
async def test_malformed_permit_header__401_saying_what_is_wrong(make_assessor, make_client, header):
    client = await make_client(make_assessor(None))
    response = await client.post("/content", data=b"x", headers={PERMIT_HEADER: header})
    status, name, message = await error_of(response)
    assert status == 401 and name == "UploadPermitRequiredError" and "permit" in message.lower()


async def test_contract_holder_signs_with_eip1271(make_assessor, make_client, ledger):
    client = await make_client(make_assessor(None))
    ledger.holders.add(SAFE.lower())
    expires = int(time.time()) + 600
    good, bad = b"\x01" * 97, b"\x02" * 97  # what a multisig's isValidSignature accepts, and something else
    ledger.contract_signers[SAFE.lower()] = {good}
    headers = {PERMIT_HEADER: encode_permit(origin_of(client), SAFE, expires, good)}
    response = await client.post("/content", data=make_jpeg(1), headers=headers)
    assert response.status == 201 and (await response.json())["owner"].lower() == SAFE.lower()
    refused = await client.post(
        "/content", data=make_jpeg(2), headers={PERMIT_HEADER: encode_permit(origin_of(client), SAFE, expires, bad)}
    )
    assert refused.status == 401


async def test_upload_count_quota_per_address__429_with_retry_after(make_assessor, make_client):
    client = await make_client(make_assessor(None), upload_quota_count=3)
    headers = permit_for(client)
    for i in range(3):
        assert (await client.post("/content", data=make_jpeg(i), headers=headers)).status == 201
    response = await client.post("/content", data=make_jpeg(9), headers=headers)
    status, name, message = await error_of(response)
    assert status == 429 and name == "UploadQuotaError" and "3 uploads" in message
    assert 1 <= int(response.headers["Retry-After"]) <= 3601
    # another holder's quota is its own
    other = Account.from_key("0x" + "6f" * 32)
    client.app[UPLOADS].claims.holders.add(other.address.lower())
    assert (await client.post("/content", data=make_jpeg(9), headers=permit_for(client, other.key))).status == 201


async def test_upload_byte_quota_per_address__429(make_assessor, make_client):
    client = await make_client(make_assessor(None), upload_quota_bytes=3000)
    headers = permit_for(client)
    assert (await client.post("/content", data=b"a" * 2000, headers=headers)).status == 201
    status, _, message = await error_of(await client.post("/content", data=b"b" * 2000, headers=headers))
    assert status == 429 and "quota of 3000" in message


async def test_upload_larger_than_a_blob__413(make_assessor, make_client):
    client = await make_client(make_assessor(None), max_blob_bytes=1000)
    status, _, message = await error_of(await client.post("/content", data=b"z" * 1001, headers=permit_for(client)))
    assert status == 413 and "over the limit of 1000 bytes" in message


async def test_uploads_never_put_in_a_claim_are_capped_per_address(make_assessor, make_client):
    client = await make_client(make_assessor(None), max_photos=2)
    headers, limit = permit_for(client), 2 * (2 + 1)  # two claims of two photos and a manifest
    for i in range(limit):
        assert (await client.post("/content", data=make_jpeg(i), headers=headers)).status == 201
    status, _, message = await error_of(await client.post("/content", data=make_jpeg(99), headers=headers))
    assert status == 429 and "no submitted claim references yet" in message


async def test_unreferenced_upload_expires(make_assessor, make_client, store, ledger):
    client = await make_client(make_assessor(None), upload_ttl_s=60)
    gate = client.app[UPLOADS]
    headers = permit_for(client)
    kept, dropped = make_jpeg(1), make_jpeg(2)
    kept_cid = (await (await client.post("/content", data=kept, headers=headers)).json())["cid"]
    dropped_cid = (await (await client.post("/content", data=dropped, headers=headers)).json())["cid"]
    manifest = build_manifest([("kept.jpg", kept)])
    answer = await client.post(
        "/api/evidence", json={"photos": [{"name": "kept.jpg", "cid": kept_cid}]}, headers=headers
    )
    # /api/evidence is a dApp route; without it the manifest goes up as an upload like any other
    manifest_cid = (
        (await answer.json())["manifestCid"]
        if answer.status == 201
        else (await (await client.post("/content", data=manifest.data, headers=headers)).json())["cid"]
    )
    ledger.evidence_roots.append(manifest.root)  # the claim is submitted: its evidence root names the manifest
    assert await gate.sweep() == {"referenced": 2, "deleted": 0}  # not old enough yet
    gate.clock = lambda: time.time() + 61
    assert (await gate.sweep())["deleted"] == 1
    assert store.has(kept_cid) and store.has(manifest_cid) and not store.has(dropped_cid)
    assert (await client.get(f"/content/{dropped_cid}")).status == 404
    assert gate.ledger.pending(HOLDER.address) == 0


async def test_content_already_in_the_store_is_never_swept_as_an_upload(make_assessor, make_client, store):
    client = await make_client(make_assessor(None), upload_ttl_s=1)
    explanation = b'{"schema": "claims-oracle/explanation"}'
    cid = store.put(explanation)  # written by a node, owned by nobody
    assert (await client.post("/content", data=explanation, headers=permit_for(client))).status == 201
    gate = client.app[UPLOADS]
    gate.clock = lambda: time.time() + 10
    await gate.sweep()
    assert store.has(cid)


async def test_permit_message__names_this_gateway_and_the_address(make_assessor, make_client):
    client = await make_client(make_assessor(None))
    response = await client.get("/permits/message", params={"address": HOLDER.address.lower()})
    body = await response.json()
    assert response.status == 200 and body["origin"] == origin_of(client) and body["header"] == PERMIT_HEADER
    assert body["message"] == permit_message(origin_of(client), HOLDER.address, body["expires"])
    signed = Account.sign_message(encode_defunct(text=body["message"]), HOLDER.key)
    header = encode_permit(body["origin"], body["address"], body["expires"], bytes(signed.signature))
    assert (await client.post("/content", data=make_jpeg(3), headers={PERMIT_HEADER: header})).status == 201
    bad = await client.get("/permits/message", params={"address": "0x123"})
    assert bad.status == 400


async def test_sign_permit__helper_matches_the_message(make_assessor, make_client):
    client = await make_client(make_assessor(None))
    header = sign_permit(HOLDER.key, origin_of(client), int(time.time()) + 60)
    assert (await client.post("/content", data=b"doc", headers={PERMIT_HEADER: header})).status == 201
