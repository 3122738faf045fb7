"""Untrusted photo inputs: corrupt, truncated, huge, odd modes and non-images are rejected or converted."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from oracle.vision.images import (
    INPUT_SIZE,
    MAX_BYTES,
    MEAN,
    PAD_VALUE,
    STD,
    ImageError,
    decode,
    letterbox,
    normalize_batch,
    prepare,
    preprocess,
)


def _encode(img: Image.Image, fmt: str = "JPEG", **kw) -> bytes:
    """Return the encoded bytes of a Pillow image."""
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _photo(size=(320, 240)) -> Image.Image:
    """Return a deterministic colourful test image."""
    rng = np.random.default_rng(1)
    return Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    """Return one PNG chunk with its length and CRC."""
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def _bomb_png(width: int, height: int) -> bytes:
    """Return a tiny PNG whose header declares width x height pixels (a decompression bomb)."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _png_chunk(b"IEND", b"")
    )


def test_decode__valid_jpeg__returns_rgb_of_same_size():
    img = decode(_encode(_photo()))
    assert img.mode == "RGB" and img.size == (320, 240)


def test_decode__truncated_jpeg__raises_image_error_saying_truncated():
    data = _encode(_photo((640, 480)), quality=95)
    with pytest.raises(ImageError, match="truncated"):
        decode(data[: len(data) // 2])


def test_decode__corrupt_bytes_after_valid_header__raises_image_error():
    data = bytearray(_encode(_photo((640, 480))))
    data[600:] = bytes(len(data) - 600)  # zero out everything after the headers
    with pytest.raises(ImageError, match="corrupt|truncated"):
        decode(bytes(data))


@pytest.mark.parametrize("width,height", [(100_000, 100_000), (9_000, 8_000)])
def test_decode__decompression_bomb_header__raises_before_allocating(width, height):
    with pytest.raises(ImageError, match="decompression bomb.*pixel limit"):
        decode(_bomb_png(width, height))


def test_decode__too_many_bytes__raises_with_the_limit():
    with pytest.raises(ImageError, match="too many bytes"):
        decode(b"\xff\xd8" + bytes(MAX_BYTES))


@pytest.mark.parametrize("data", [b"hello, this is a text file", b"%PDF-1.7\n%...", b"\x00" * 1000])
def test_decode__not_an_image__raises_image_error_saying_so(data):
    with pytest.raises(ImageError, match="not an image"):
        decode(data)


def test_decode__empty_bytes__raises_image_error():
    with pytest.raises(ImageError, match="empty"):
        decode(b"")


def test_decode__wrong_type__raises_image_error_naming_type():
    with pytest.raises(ImageError, match="got str"):
        decode("photo.jpg")  # type: ignore[arg-type]


def test_decode__tiny_image__raises_image_error():
    with pytest.raises(ImageError, match="too small"):
        decode(_encode(_photo((8, 8)), "PNG"))


def test_decode__greyscale_jpeg__returns_rgb_with_equal_channels():
    grey = _photo().convert("L")
    img = decode(_encode(grey))
    arr = np.asarray(img)
    assert img.mode == "RGB"
    assert np.array_equal(arr[..., 0], arr[..., 1]) and np.array_equal(arr[..., 1], arr[..., 2])


def test_decode__16bit_greyscale_png__returns_rgb():
    arr = np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) * 15
    img = decode(_encode(Image.fromarray(arr), "PNG"))
    assert img.mode == "RGB" and img.size == (64, 64)
    assert np.asarray(img).max() == 255


def test_decode__rgba_png_with_transparency__composites_transparent_area_to_grey():
    rgba = Image.new("RGBA", (64, 64), (255, 0, 0, 255))
    rgba.paste((0, 0, 255, 0), (0, 0, 32, 64))  # left half fully transparent blue
    img = decode(_encode(rgba, "PNG"))
    assert img.mode == "RGB"
    assert img.getpixel((10, 10)) == (PAD_VALUE, PAD_VALUE, PAD_VALUE)
    assert img.getpixel((50, 10)) == (255, 0, 0)


def test_decode__palette_gif__returns_rgb():
    img = decode(_encode(_photo((64, 48)).convert("P"), "GIF"))
    assert img.mode == "RGB" and img.size == (64, 48)


def test_decode__exif_rotated_jpeg__returns_upright_photo():
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    img = decode(_encode(_photo((320, 240)), exif=exif))
    assert img.size == (240, 320)


def test_decode__pil_image_input__is_accepted_and_converted():
    img = decode(_photo().convert("RGBA"))
    assert img.mode == "RGB"


def test_letterbox__wide_photo__keeps_aspect_and_pads_grey():
    square, box = letterbox(_photo((1000, 500)))
    assert square.size == (INPUT_SIZE, INPUT_SIZE)
    assert (box.width, box.height) == (224, 112) and (box.left, box.top) == (0, 56)
    assert square.getpixel((100, 10)) == (PAD_VALUE, PAD_VALUE, PAD_VALUE)


def test_preprocess__any_size__returns_normalised_chw_float32():
    for size in [(17, 900), (4000, 3000), (224, 224)]:
        arr, photo, _ = preprocess(_encode(_photo(size)))
        assert arr.shape == (3, INPUT_SIZE, INPUT_SIZE) and arr.dtype == np.float32
        assert arr.min() >= -1.0 and arr.max() <= 1.0
        assert photo.mode == "RGB"


def test_preprocess__large_jpeg__draft_decoding_keeps_aspect():
    arr, photo, box = preprocess(_encode(_photo((2000, 1000))))
    assert photo.size[0] == 2 * photo.size[1]
    assert box.height == 112


def test_normalize_batch__matches_per_photo_formula_bit_for_bit():
    pixels = np.random.default_rng(2).integers(0, 256, (5, INPUT_SIZE, INPUT_SIZE, 3), dtype=np.uint8)
    mean, std = np.asarray(MEAN, dtype=np.float32), np.asarray(STD, dtype=np.float32)
    expected = np.stack([((np.asarray(p, dtype=np.float32) / 255.0 - mean) / std).transpose(2, 0, 1) for p in pixels])
    out = normalize_batch(pixels)
    assert out.dtype == np.float32 and out.shape == (5, 3, INPUT_SIZE, INPUT_SIZE) and out.flags.c_contiguous
    assert np.array_equal(out, expected)


def test_normalize_batch__wrong_dtype_or_layout__raises():
    with pytest.raises(ValueError, match="uint8"):
        normalize_batch(np.zeros((1, 3, INPUT_SIZE, INPUT_SIZE), dtype=np.float32))
    with pytest.raises(ValueError, match="uint8"):
        normalize_batch(np.zeros((INPUT_SIZE, INPUT_SIZE, 3), dtype=np.uint8))


def test_prepare__then_normalize_batch__equals_preprocess_for_any_shape():
    photos = [_encode(_photo(size)) for size in [(224, 224), (1000, 500), (300, 900), (2000, 1500)]]
    photos.append(_encode(_photo((64, 48)).convert("RGBA"), "PNG"))
    batch = normalize_batch(np.stack([prepare(b)[0] for b in photos]))
    assert np.array_equal(batch, np.stack([preprocess(b)[0] for b in photos]))


def test_letterbox__square_photo__fills_the_input_with_no_border():
    img = _photo((448, 448))
    square, box = letterbox(img)
    assert (box.left, box.top, box.width, box.height) == (0, 0, INPUT_SIZE, INPUT_SIZE)
    expected = img.resize((INPUT_SIZE, INPUT_SIZE), Image.Resampling.BILINEAR, reducing_gap=3.0)
    assert np.array_equal(np.asarray(square), np.asarray(expected))
    assert square is not img
