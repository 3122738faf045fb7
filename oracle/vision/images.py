"""Decode untrusted photo bytes safely and turn them into the model's fixed-size input."""

from __future__ import annotations

import contextlib
import ctypes
import io
import threading
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from oracle.domain import MAX_PIXELS

INPUT_SIZE = 224
# EfficientNet-Lite was trained on inputs scaled to [-1, 1]: (x - 0.5) / 0.5 per channel.
MEAN = (0.5, 0.5, 0.5)
STD = (0.5, 0.5, 0.5)
# The letterbox border is mid grey, which normalises to exactly zero.
PAD_VALUE = 128

MAX_BYTES = 25 * 1024 * 1024  # a phone photo is 2-8 MB; anything far beyond is not a plain photo
MIN_SIDE = 16  # below this there is nothing to look at
FULL_SIZE_PIXELS = 12_000_000
"""Photos over this many pixels (a 12 MP phone photo) are decoded one at a time in the whole process (`prepare`
with `keep_side`): a 40 MP PNG takes 120 MB as RGB and several times that while it is converted."""
_FULL_SIZE = threading.Lock()
MMAP_THRESHOLD_BYTES = 8 * 1024 * 1024
"""Allocations at least this big (Pillow holds a big photo in 16 MiB blocks) are mapped on their own and go back to
the system when freed. glibc otherwise raises its threshold after the first such free and keeps the blocks of
every later big photo in its heap: 1 claim of 12 photos at the pixel limit then held 448 MiB after it was
decided instead of 88 MiB."""


def _fix_mmap_threshold() -> None:
    """Set glibc's mmap threshold to MMAP_THRESHOLD_BYTES (nothing elsewhere)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).mallopt(-3, MMAP_THRESHOLD_BYTES)  # -3: M_MMAP_THRESHOLD


_fix_mmap_threshold()


class ImageError(ValueError):
    """A photo that cannot be used as evidence, with a message saying what was wrong with it."""


@dataclass(frozen=True)
class Letterbox:
    """Where the photo sits inside the square model input (for mapping heat maps back onto it)."""

    left: int
    top: int
    width: int
    height: int


def decode(
    image: bytes | bytearray | memoryview | Image.Image,
    *,
    max_bytes: int = MAX_BYTES,
    max_pixels: int = MAX_PIXELS,
    draft_size: int | None = None,
) -> Image.Image:
    """Return the photo as an upright RGB Pillow image, or raise ImageError saying why it is unusable."""
    if isinstance(image, Image.Image):
        return _to_rgb(_checked_size(image, max_pixels))
    if not isinstance(image, (bytes, bytearray, memoryview)):
        raise ImageError(f"expected image bytes or a PIL image, got {type(image).__name__}")
    data = bytes(image)
    if not data:
        raise ImageError("empty input: 0 bytes is not an image")
    if len(data) > max_bytes:
        raise ImageError(f"too many bytes: {len(data):,} bytes is over the {max_bytes:,}-byte limit for one photo")
    with warnings.catch_warnings():
        # Pillow warns (not raises) between MAX_IMAGE_PIXELS and twice that; we apply our own limit instead.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data))
        except Image.DecompressionBombError as exc:
            raise ImageError(
                f"decompression bomb: the declared size is over the {max_pixels:,}-pixel limit ({exc})"
            ) from exc
        except UnidentifiedImageError as exc:
            raise ImageError(f"not an image: Pillow cannot identify {len(data):,} bytes starting {data[:8]!r}") from exc
        _checked_size(img, max_pixels)
        if draft_size and img.format == "JPEG":
            # Let libjpeg decode big photos at 1/2, 1/4 or 1/8 scale: much faster, same pixels at model size.
            img.draft("RGB", (draft_size, draft_size))
        try:
            img.load()
        except Image.DecompressionBombError as exc:
            raise ImageError(f"decompression bomb: {exc}") from exc
        except OSError as exc:
            text = str(exc)
            kind = "truncated" if "truncated" in text or "broken data stream" in text else "corrupt"
            raise ImageError(f"{kind} image ({img.format}, {img.size[0]}x{img.size[1]}): {text}") from exc
        except (ValueError, SyntaxError, IndexError) as exc:  # Pillow's plugins raise these on malformed data
            raise ImageError(f"corrupt image ({img.format}): {exc}") from exc
    # Phones store rotation in EXIF; the model must see the photo upright. In place: the image is ours, and
    # the usual path (no rotation) then costs no full-size copy. A malformed EXIF block must not reject an
    # otherwise good photo.
    with contextlib.suppress(Exception):
        ImageOps.exif_transpose(img, in_place=True)
    return _to_rgb(img)


def _checked_size(img: Image.Image, max_pixels: int) -> Image.Image:
    """Reject images whose declared size is a decompression bomb or too small to show anything."""
    width, height = img.size
    if width * height > max_pixels:
        raise ImageError(
            f"decompression bomb: {width}x{height} = {width * height:,} pixels is over the "
            f"{max_pixels:,}-pixel limit; resize the photo before submitting it"
        )
    if min(width, height) < MIN_SIDE:
        raise ImageError(f"image too small: {width}x{height}; each side must be at least {MIN_SIDE} px")
    return img


def _to_rgb(img: Image.Image) -> Image.Image:
    """Convert any Pillow mode (greyscale, palette, CMYK, 16-bit, with or without alpha) to RGB."""
    if img.mode == "RGB":
        return img
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        top = arr.max() or 1.0
        img = Image.fromarray((arr * (255.0 / top)).clip(0, 255).astype(np.uint8), "L")
    if img.mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        img = Image.fromarray(((arr - lo) * (255.0 / ((hi - lo) or 1.0))).astype(np.uint8), "L")
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (PAD_VALUE, PAD_VALUE, PAD_VALUE, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")  # transparent parts become neutral grey
    return img.convert("RGB")


def letterbox(img: Image.Image, size: int = INPUT_SIZE) -> tuple[Image.Image, Letterbox]:
    """Scale the photo to fit a size x size square without cropping, padding the rest with grey."""
    width, height = img.size
    scale = size / max(width, height)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    resized = img.resize((new_w, new_h), Image.Resampling.BILINEAR, reducing_gap=3.0)
    box = Letterbox(left=(size - new_w) // 2, top=(size - new_h) // 2, width=new_w, height=new_h)
    if (new_w, new_h) == (size, size):
        return resized, box  # a square photo fills the whole input: no border to paste onto
    canvas = Image.new("RGB", (size, size), (PAD_VALUE, PAD_VALUE, PAD_VALUE))
    canvas.paste(resized, (box.left, box.top))
    return canvas, box


_MEAN = np.asarray(MEAN, dtype=np.float32)[None, :, None, None]
_STD = np.asarray(STD, dtype=np.float32)[None, :, None, None]


def encode_jpeg(img: Image.Image, quality: int) -> bytes:
    """Return the photo encoded as JPEG bytes at `quality`."""
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=quality)
    return out.getvalue()


def normalize_batch(pixels: np.ndarray) -> np.ndarray:
    """Turn uint8 RGB pixels (N, H, W, 3) into the network's normalised float32 batch (N, 3, H, W), C-contiguous.

    One vectorised pass over the whole batch, in place, with the same float32 operations in the same order as
    (x / 255 - mean) / std per image, so the result is bit-identical to normalising each photo on its own."""
    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8 or pixels.ndim != 4 or pixels.shape[-1] != 3:
        raise ValueError(f"expected uint8 pixels of shape (N, H, W, 3), got {pixels.dtype} {pixels.shape}")
    out = np.empty((pixels.shape[0], 3, pixels.shape[1], pixels.shape[2]), dtype=np.float32)
    out[...] = pixels.transpose(0, 3, 1, 2)  # HWC -> CHW and uint8 -> float32 in one copy
    out /= np.float32(255.0)
    out -= _MEAN
    out /= _STD
    return out


def prepare(
    image: bytes | Image.Image, size: int = INPUT_SIZE, keep_side: int | None = None
) -> tuple[np.ndarray, Image.Image, Letterbox]:
    """Decode one photo and return (the letterboxed uint8 HWC pixels, the decoded RGB photo, its letterbox).

    Batched serving keeps the cheap uint8 pixels per photo and normalises a whole batch at once with
    normalize_batch; the result is identical to stacking preprocess() outputs. With `keep_side`, the photo returned
    is `fit_within(photo, keep_side)` and the full-size decode is dropped at once; a photo over FULL_SIZE_PIXELS is
    then decoded under a process-wide lock, so at most one such photo is in memory at a time."""
    large = keep_side is not None and declared_pixels(image) > FULL_SIZE_PIXELS
    with _FULL_SIZE if large else contextlib.nullcontext():
        rgb = decode(image, draft_size=size * 2)
        square, box = letterbox(rgb, size)
        if keep_side is not None:
            rgb = fit_within(rgb, keep_side)
    return np.asarray(square, dtype=np.uint8), rgb, box


def fit_within(photo: Image.Image, longest: int) -> Image.Image:
    """The photo scaled (bilinear) so that its long side is at most `longest`; the photo itself if it fits.
    Applying it twice gives the first result back, so heat maps drawn over a kept copy have the same bytes."""
    scale = min(1.0, longest / max(photo.size))
    target = (max(1, round(photo.size[0] * scale)), max(1, round(photo.size[1] * scale)))
    return photo.resize(target, Image.Resampling.BILINEAR) if target != photo.size else photo


def declared_pixels(image: bytes | Image.Image) -> int:
    """The pixel count a photo's header declares (nothing decoded); 0 when unreadable (decode says why)."""
    if isinstance(image, Image.Image):
        return image.size[0] * image.size[1]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(image)) as img:
                return int(img.size[0] * img.size[1])
    except Exception:  # noqa: BLE001 - any unreadable header: decode reports it with its reason
        return 0


def preprocess(image: bytes | Image.Image, size: int = INPUT_SIZE) -> tuple[np.ndarray, Image.Image, Letterbox]:
    """Decode one photo and return (model input CHW array, the decoded RGB photo, its letterbox)."""
    pixels, rgb, box = prepare(image, size)
    return normalize_batch(pixels[None])[0], rgb, box
