"""Perceptual image hashes (dHash and pHash, 64 bits each) written with Pillow and numpy."""

from __future__ import annotations

import io

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps

HASH_BITS = 64


DRAFT_SIDE = 64  # a JPEG is decoded in grey at the smallest 1/2^k scale that keeps both sides at least this long


def _gray(image: Image.Image | bytes) -> Image.Image:
    if isinstance(image, (bytes, bytearray)):
        image = Image.open(io.BytesIO(image))
        # the hashes look at 32x32 and 9x8 thumbnails: decoding a phone photo at full size only to shrink it
        # costs most of the time (a no-op for formats other than JPEG)
        image.draft("L", (DRAFT_SIDE, DRAFT_SIDE))
    image = ImageOps.exif_transpose(image)  # a rotated copy of a photo is still the same photo
    return image.convert("L")


def _bits_to_int(bits: npt.NDArray[np.bool_]) -> int:
    value = 0
    for bit in bits.reshape(-1):
        value = (value << 1) | int(bool(bit))
    return value


def dhash(image: Image.Image | bytes) -> int:
    """Difference hash: 9x8 grey thumbnail, one bit per horizontal neighbour pair (left brighter than right)."""
    return _dhash_gray(_gray(image))


def _dhash_gray(gray: Image.Image) -> int:
    pixels = np.asarray(gray.resize((9, 8), Image.Resampling.LANCZOS), dtype=np.int32)
    return _bits_to_int(pixels[:, :-1] > pixels[:, 1:])


def _dct_matrix(n: int) -> npt.NDArray[np.float64]:
    k = np.arange(n).reshape(-1, 1)
    i = np.arange(n).reshape(1, -1)
    matrix: npt.NDArray[np.float64] = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    matrix[0, :] = np.sqrt(1.0 / n)
    return matrix


_DCT32 = _dct_matrix(32)


def phash(image: Image.Image | bytes) -> int:
    """DCT hash: 32x32 grey thumbnail, 2-D DCT, 8x8 lowest frequencies against their median (DC left out)."""
    return _phash_gray(_gray(image))


def _phash_gray(gray: Image.Image) -> int:
    pixels = np.asarray(gray.resize((32, 32), Image.Resampling.LANCZOS), dtype=np.float64)
    low = (_DCT32 @ pixels @ _DCT32.T)[:8, :8]
    median = np.median(low.reshape(-1)[1:])
    return _bits_to_int(low > median)


def perceptual_hashes(image: Image.Image | bytes) -> tuple[int, int]:
    """(phash, dhash) of one photo, decoding it once: the same values as phash() and dhash() apart."""
    gray = _gray(image)
    return _phash_gray(gray), _dhash_gray(gray)


def hamming(a: int, b: int) -> int:
    """Number of differing bits between two 64-bit hashes."""
    return ((a ^ b) & ((1 << HASH_BITS) - 1)).bit_count()


def hash_hex(value: int) -> str:
    """Return a 64-bit hash as 16 hex digits, the form hashes take in explanations."""
    return f"{value:016x}"
