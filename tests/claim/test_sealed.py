"""A claim whose evidence is sealed: members open it with their own grants, agree byte for byte, and the public
explanation carries no pixels, no heat map and no EXIF facts."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from oracle.claim.replay import replay
from oracle.explain.evidence import EvidenceError, evidence_key, load_manifest
from oracle.privacy import PRIVATE_PURPOSE, KnownKey, open_sealed
from tests.factories import IMAGE_MAGIC, exif_with, reader_for

pytestmark = pytest.mark.asyncio

GPS = (30.4312, -85.0423)


@pytest.fixture
def sealed_photos(photo_bytes) -> list[tuple[str, bytes]]:
    """The real photos, the first re-saved with a camera time and a GPS position in its EXIF."""
    image = Image.open(io.BytesIO(photo_bytes[0][1]))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=92, exif=exif_with(taken="2019:03:02 09:30:00", gps=GPS).tobytes())
    return [("with-gps.jpg", buffer.getvalue()), photo_bytes[1]]


async def test_sealed_claim__two_members_with_their_own_grants__agree_byte_for_byte(
    damage_model, noaa, make_assessor, make_context, sealed_photos, store
):
    members = [reader_for(10), reader_for(11)]
    ctx = make_context(sealed_photos, claimant={"sealed_for": [(m.address, m.public_key) for m in members]})
    first = await make_assessor(damage_model, [noaa], reader=members[0]).assess(ctx)
    second = await make_assessor(damage_model, [noaa], reader=members[1]).assess(ctx)
    assert first.explanation_hash == second.explanation_hash
    assert store.get(first.explanation_cid) == store.get(second.explanation_cid)

    key = evidence_key(load_manifest(ctx.evidence_root, store), members[0])
    assert key is not None
    public = store.get(first.explanation_cid)
    doc = json.loads(public)
    for finding in doc["findings"]:
        heatmap = store.get(finding["heatmapCid"])
        assert not heatmap.startswith(IMAGE_MAGIC)  # the heat map shows the photo: sealed
        assert open_sealed(key, heatmap, PRIVATE_PURPOSE).startswith(b"\x89PNG")
        assert set(finding["exif"]) == {"sealed"}
    facts = json.loads(open_sealed(key, bytes.fromhex(doc["findings"][0]["exif"]["sealed"][2:]), PRIVATE_PURPOSE))
    assert (facts["latE6"], facts["lonE6"]) == (round(GPS[0] * 1e6), round(GPS[1] * 1e6))
    assert str(facts["latE6"]).encode() not in public and b"with-gps" not in public


async def test_sealed_claim__member_without_a_grant__cannot_assess(
    damage_model, noaa, make_assessor, make_context, sealed_photos
):
    ctx = make_context(sealed_photos, claimant={"sealed_for": [(reader_for(10).address, reader_for(10).public_key)]})
    with pytest.raises(EvidenceError, match="no key grant"):
        await make_assessor(damage_model, [noaa], reader=reader_for(12)).assess(ctx)
    with pytest.raises(EvidenceError, match="sealed"):
        await make_assessor(damage_model, [noaa]).assess(ctx)


async def test_sealed_claim__replay_with_the_disclosed_key__matches(
    damage_model, noaa, make_assessor, make_context, sealed_photos, store
):
    member = reader_for(10)
    ctx = make_context(sealed_photos, claimant={"sealed_for": [(member.address, member.public_key)]})
    outcome = await make_assessor(damage_model, [noaa], reader=member).assess(ctx)
    key = evidence_key(load_manifest(ctx.evidence_root, store), member)
    assert key is not None
    assert replay(make_assessor(damage_model, [noaa], reader=KnownKey(key)), ctx, outcome.explanation_cid) == {}
    with pytest.raises(EvidenceError, match="not the key"):
        replay(make_assessor(damage_model, [noaa], reader=KnownKey(bytes(32))), ctx, outcome.explanation_cid)


async def test_sealed_claim__precise_place__used_by_the_checks_and_absent_from_the_public_record(
    damage_model, noaa, make_assessor, make_context, sealed_photos, store
):
    member = reader_for(10)
    place = (30_512_345, -85_276_543)  # the public area stays the context's on-grid (30.5, -85.3)
    readers = [(member.address, member.public_key)]
    ctx = make_context(sealed_photos, claimant={"sealed_for": readers, "place_e6": place})
    assessor = make_assessor(damage_model, [noaa], reader=member)
    loaded = assessor.load_claim(ctx)
    assert loaded.error is None and loaded.claim.place_e6 == place
    assert (loaded.claim.lat, loaded.claim.lon) == (place[0] / 1e6, place[1] / 1e6)
    outcome = await assessor.assess(ctx)
    public = store.get(outcome.explanation_cid)
    incident = json.loads(public)["claim"]["incident"]
    assert (incident["latE6"], incident["lonE6"]) == (ctx.lat_e6, ctx.lon_e6)
    assert b"30512345" not in public and b"85276543" not in public
    assert b"30512345" not in load_manifest(ctx.evidence_root, store)  # sealed in the manifest too
