"""Tests for the perceptual hashes, on synthetic pictures and (when present) real photos."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from oracle.assess.imagehash import dhash, hamming, hash_hex, phash
from tests.factories import make_jpeg, real_photo_paths


def _recompress(data: bytes, scale: float = 0.5, quality: int = 60) -> bytes:
    image = Image.open(io.BytesIO(data)).convert("RGB")
    image = image.resize((max(8, int(image.width * scale)), max(8, int(image.height * scale))))
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def test_hamming__known_values__counts_bits():
    assert hamming(0, 0) == 0
    assert hamming(0b1011, 0b0001) == 2
    assert hamming(2**64 - 1, 0) == 64
    assert hash_hex(255) == "00000000000000ff"


@pytest.mark.parametrize("fn", [phash, dhash])
def test_hash__resized_recompressed_copy__stays_within_few_bits(fn):
    original = make_jpeg(7, size=(240, 180))
    assert 0 <= fn(original) < 2**64
    assert hamming(fn(original), fn(_recompress(original))) <= 6


@pytest.mark.parametrize("fn", [phash, dhash])
def test_hash__different_pictures__far_apart(fn):
    distances = [hamming(fn(make_jpeg(a)), fn(make_jpeg(b))) for a, b in [(1, 2), (3, 4), (5, 6)]]
    assert min(distances) > 12


def test_phash__real_photos__copies_match_and_distinct_photos_do_not():
    paths = real_photo_paths(6)
    hashes = [phash(p.read_bytes()) for p in paths]
    copies = [phash(_recompress(p.read_bytes(), scale=0.7, quality=70)) for p in paths]
    assert max(hamming(a, b) for a, b in zip(hashes, copies, strict=True)) <= 6
    pairs = [(i, j) for i in range(len(hashes)) for j in range(i + 1, len(hashes))]
    assert min(hamming(hashes[i], hashes[j]) for i, j in pairs) > 6


def test_phash__rotated_pixels_with_exif_orientation__match_upright_original():
    original = make_jpeg(11, size=(120, 80))
    rotated = Image.open(io.BytesIO(original)).transpose(Image.Transpose.ROTATE_90)
    plain, tagged = io.BytesIO(), io.BytesIO()
    rotated.save(plain, "JPEG", quality=95)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display", which undoes ROTATE_90
    rotated.save(tagged, "JPEG", quality=95, exif=exif.tobytes())
    assert hamming(phash(tagged.getvalue()), phash(original)) <= 6
    assert hamming(phash(plain.getvalue()), phash(original)) > 6
