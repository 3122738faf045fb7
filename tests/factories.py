"""Shared test factories and fixtures (registered for every test by tests/conftest.py): data locations, synthetic
photos, terms, claims and assessment inputs."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from PIL import Image

from oracle.assess import DEFAULT_TERMS_PATH, AssessmentInputs, Claim, Peril, Prediction
from oracle.cas.store import ContentStore
from oracle.explain.evidence import Photo, build_manifest, photo_entry
from oracle.privacy import Reader, encryption_key_message, identity_from_signature
from oracle.settings import DEFAULT_DATA_DIR
from oracle.sources.history import InMemoryClaimsHistory
from oracle.sources.terms import parse_terms

FIXTURES = Path(__file__).parent / "sources" / "fixtures"
TABLES = DEFAULT_DATA_DIR / "tables"
IMAGES = DEFAULT_DATA_DIR / "images"

# 2019-03-02T10:20Z: NOAA hail event 808462 (1.75 in) in Calhoun County, FL at 30.51, -85.31
HAIL_TIME = 1551522000
HAIL_LAT_E6, HAIL_LON_E6 = 30_500_000, -85_300_000
ETH = 10**18


def store_manifest_naming_a_class(
    store: ContentStore, photos: list[tuple[str, bytes]], vehicle_class: str, **claimant: str
) -> tuple[bytes, str]:
    """Store photos and a manifest whose claimant names a vehicle class, as clients wrote before the class was the
    policy's (and as a claimant gaming the schedule would); return its evidence root and URI."""
    manifest = build_manifest(photos, {"vehicleClass": vehicle_class, **claimant})
    for _, data in photos:
        store.put(data)
    return manifest.root, f"ipfs://{store.put(manifest.data)}"


@pytest.fixture(scope="session")
def tables_dir() -> Path:
    """The NOAA tables directory, or a skip naming the path that is missing."""
    if not (TABLES / "StormEvents_details-ftp_v1.0_d2019_c20190617.csv.gz").is_file():
        pytest.skip(f"NOAA Storm Events bulk files not found under {TABLES} (../shared/data is absent)")
    return TABLES


def real_photo_paths(n: int, split: str = "val", cls: str = "moderate") -> list[Path]:
    """The first n real photos of a class, or a skip when the data set is absent."""
    folder = IMAGES / "vds2500" / split / cls
    paths = sorted(folder.glob("*"))[:n] if folder.is_dir() else []
    if len(paths) < n:
        pytest.skip(f"real photos not found under {folder} (../shared/data is absent)")
    return paths


def make_jpeg(seed: int, size: tuple[int, int] = (96, 72), exif: Image.Exif | None = None) -> bytes:
    """A smooth random picture (blocks upscaled) that perceptual hashes tell apart by seed."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, size=(6, 8, 3), dtype=np.uint8)
    image = Image.fromarray(blocks, "RGB").resize(size, Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=90, exif=exif.tobytes() if exif is not None else b"")
    return buf.getvalue()


def exif_with(
    taken: str | None = None, offset: str | None = None, gps: tuple[float, float] | None = None
) -> Image.Exif:
    """An EXIF block with DateTimeOriginal ('YYYY:MM:DD HH:MM:SS'), its offset and a GPS position."""
    exif = Image.Exif()
    if taken:
        exif.get_ifd(0x8769)[0x9003] = taken
    if offset:
        exif.get_ifd(0x8769)[0x9011] = offset
    if gps:
        lat, lon = gps
        g = exif.get_ifd(0x8825)
        g[1], g[3] = ("N" if lat >= 0 else "S"), ("E" if lon >= 0 else "W")
        for tag, value in ((2, abs(lat)), (4, abs(lon))):
            d = int(value)
            m = int((value - d) * 60)
            s = round(((value - d) * 60 - m) * 60, 4)
            g[tag] = (float(d), float(m), float(s))
    return exif


def photo(index: int, data: bytes, name: str | None = None) -> Photo:
    """A verified Photo for bytes."""
    entry = photo_entry(name or f"p{index}.jpg", data)
    return Photo(index=index, name=entry["name"], cid=entry["cid"], sha256=entry["sha256"], data=data)


def prediction(
    label: str = "moderate", damage: float = 0.95, confidence: float = 0.9, heatmap: bytes = b""
) -> Prediction:
    """A prediction that puts `confidence` on `label` and spreads the rest."""
    classes = ["whole", "minor", "moderate", "severe"]
    probs = {c: 0.0 for c in classes}
    probs[label] = confidence
    rest = [c for c in classes if c != label]
    for c in rest:
        probs[c] = (1 - confidence) / 3
    if label != "whole":
        probs["whole"] = 1 - damage
        others = [c for c in rest if c != "whole"]
        for c in others:
            probs[c] = max(0.0, (damage - confidence) / 2)
    return Prediction(
        probabilities=probs,
        label=label,
        confidence=confidence,
        damage_probability=1 - probs["whole"],
        heatmap_png=heatmap,
    )


@pytest.fixture(scope="session")
def terms():
    """The shipped example terms document."""
    return parse_terms(DEFAULT_TERMS_PATH.read_bytes())


@pytest.fixture(scope="session")
def claim() -> Claim:
    """A hail claim on a sedan in Calhoun County, FL, the morning NOAA recorded 1.75 in hail there."""
    return Claim(
        claim_id=7,
        chain_id=31337,
        contract="0x5FbDB2315678afecb367f032d93F642f64180aa3",
        policy_id=3,
        product_id=1,
        evidence_root=b"\x11" * 32,
        evidence_uri="ipfs://bafkreievidence",
        terms_hash=b"\x22" * 32,
        policy_start=HAIL_TIME - 60 * 86_400,
        policy_end=HAIL_TIME + 300 * 86_400,
        incident_time=HAIL_TIME,
        submitted_at=HAIL_TIME + 2 * 86_400,
        lat_e6=HAIL_LAT_E6,
        lon_e6=HAIL_LON_E6,
        peril=int(Peril.HAIL),
        claimed_amount=ETH // 2,
        remaining_coverage=10 * ETH,
        deductible=ETH // 10,
        covered_perils=0b111111,
        insured_object_id="0xvin-hash-1",
        vehicle_class="sedan",
        county_fips="12013",
    )


@pytest.fixture
def make_inputs(claim, terms):
    """Factory: AssessmentInputs for n synthetic photos, with overrides for any part."""

    def build(
        n: int = 2, *, predictions=None, weather=(), history=None, claim_overrides=None, photos=None, terms_=None
    ) -> AssessmentInputs:
        photos = photos if photos is not None else [photo(i, make_jpeg(1000 + i)) for i in range(n)]
        predictions = predictions if predictions is not None else [prediction() for _ in photos]
        return AssessmentInputs(
            claim=replace(claim, **(claim_overrides or {})),
            photos=photos,
            predictions=predictions,
            weather=weather,
            history=history if history is not None else InMemoryClaimsHistory(),
            terms=terms_ or terms,
            terms_hash=b"\x22" * 32,
        )

    return build


KEY_DIRECTORY = "0x" + "ab" * 20
IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG", b"RIFF")
"""How JPEG, PNG and WebP files begin: sealed evidence must begin with none of them."""


def reader_for(index: int) -> Reader:
    """A reader whose key is derived from a fresh account's signature, as a node derives its own."""
    account = Account.from_key(bytes([index + 1]) * 32)
    message = encryption_key_message(31337, KEY_DIRECTORY, account.address)
    signature = account.sign_message(encode_defunct(text=message)).signature
    return Reader(account.address, identity_from_signature(bytes(signature)))
