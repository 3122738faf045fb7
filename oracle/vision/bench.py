"""Serving benchmark of the exported damage model: batched throughput and single-photo latency on this CPU."""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from oracle.vision import data as vdata
from oracle.vision.images import INPUT_SIZE, encode_jpeg, normalize_batch, prepare
from oracle.vision.runtime import DamageModel

DEFAULT_OUTPUT = vdata.REPO_ROOT / "bench" / "model.json"


PHONE_SIZES = ((1280, 960), (4000, 3000))  # the phone photo sizes claims bring, timed with heat maps


def _val_paths(data_dir: Path) -> list[Path]:
    """Return the vds2500 val photos of the data dir, or none when it is absent."""
    try:
        return [data_dir / s.path for s in vdata.list_samples(data_dir) if s.split == "val"]
    except FileNotFoundError:
        return []


def sample_photos(
    data_dir: Path, count: int, size: tuple[int, int] = (INPUT_SIZE, INPUT_SIZE)
) -> tuple[list[bytes], str]:
    """Return `count` JPEG photos of `size`: real val photos resized from their originals when present, else noise."""
    paths = _val_paths(data_dir)
    rng = np.random.default_rng(0)
    photos = []
    for i in range(count):
        if paths:
            img = Image.open(paths[(i * 7) % len(paths)]).convert("RGB").resize(size, Image.Resampling.BILINEAR)
        else:
            img = Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))
        photos.append(encode_jpeg(img, 90))
    label = f"{size[0]}x{size[1]}"
    return photos, f"real vds2500/val photos resized to {label}" if paths else f"synthetic {label} noise"


def phone_size_timings(model: DamageModel, data_dir: Path, count: int, repeats: int, single_repeats: int) -> dict:
    """Return batched photos/s and single-photo p50 latency, heat maps drawn, for each of PHONE_SIZES."""
    result: dict = {}
    for width, height in PHONE_SIZES:
        photos, _ = sample_photos(data_dir, count, (width, height))
        batch = _timed(lambda photos=photos: model.predict(photos, heatmaps=True, batch_size=count), repeats)
        single = _timed(lambda first=photos[0]: model.predict([first], heatmaps=True), single_repeats)
        result[f"photos_per_second_{width}_heatmaps"] = round(count / statistics.median(batch), 1)
        result[f"latency_ms_single_{width}_heatmap_p50"] = round(statistics.median(single) * 1000, 2)
    return result


def _timed(fn, repeats: int) -> list[float]:
    """Return wall-clock seconds of `repeats` calls of fn after one warm-up call."""
    fn()
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def run(
    model_path: Path | None = None,
    data_dir: Path | None = None,
    batch_size: int = 64,
    repeats: int = 7,
    single_repeats: int = 50,
    output: Path | None = DEFAULT_OUTPUT,
    phone_photos: int = 16,
) -> dict:
    """Measure throughput and latency, print and (optionally) write them as JSON."""
    model = DamageModel.load(model_path)
    data_dir = Path(data_dir or vdata.default_data_dir())
    photos, source = sample_photos(data_dir, batch_size)
    batch = np.stack([np.zeros((3, INPUT_SIZE, INPUT_SIZE), np.float32)] * batch_size)

    batch_e2e = _timed(lambda: model.predict(photos, heatmaps=False, batch_size=batch_size), repeats)
    batch_net = _timed(lambda: model.run(batch), repeats)
    batch_prep = _timed(lambda: normalize_batch(np.stack([prepare(p, model.input_size)[0] for p in photos])), repeats)
    # Phone-sized photos (1280 x 960 JPEG): JPEG draft decoding keeps their preprocessing close to the small ones.
    large, _ = sample_photos(data_dir, 16, PHONE_SIZES[0])
    large_prep = _timed(lambda: normalize_batch(np.stack([prepare(p, model.input_size)[0] for p in large])), repeats)
    single_e2e = _timed(lambda: model.predict([photos[0]], heatmaps=False), single_repeats)
    single_net = _timed(lambda: model.run(batch[:1]), single_repeats)
    single_heat = _timed(lambda: model.predict([photos[0]], heatmaps=True), max(10, single_repeats // 5))

    def ms(xs: list[float], q: float) -> float:
        """Return the q-quantile of xs in milliseconds."""
        return round(float(np.quantile(xs, q)) * 1000, 2)

    phone = phone_size_timings(model, data_dir, phone_photos, max(3, repeats // 2), max(5, single_repeats // 5))
    result = {
        "model_sha256": model.model_sha256,
        **phone,
        "images_per_second_batch": round(batch_size / statistics.median(batch_e2e), 1),
        "latency_ms_single_p50": ms(single_e2e, 0.5),
        "latency_ms_single_p90": ms(single_e2e, 0.9),
        "network_only": {
            "images_per_second_batch": round(batch_size / statistics.median(batch_net), 1),
            "latency_ms_single_p50": ms(single_net, 0.5),
        },
        "preprocess_only": {
            "images_per_second_batch": round(batch_size / statistics.median(batch_prep), 1),
            "ms_per_image": round(statistics.median(batch_prep) * 1000 / batch_size, 3),
            "ms_per_image_1280x960_jpeg": round(statistics.median(large_prep) * 1000 / len(large), 3),
        },
        "latency_ms_single_with_heatmap_p50": ms(single_heat, 0.5),
        "batch_size": batch_size,
        "input": source,
        "measures": "end to end: JPEG decode + letterbox + normalise + ONNX Runtime + softmax (no heat map) "
        "unless stated; the photos_per_second_W_heatmaps and latency_ms_single_W_heatmap_p50 keys time "
        "W-pixel-wide JPEGs (1280x960, 4000x3000) with heat maps drawn; network_only is the ONNX session "
        "alone; preprocess_only is decode + letterbox + batch normalisation without the network",
        "machine": {
            "cpus": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(),
        },
        "onnxruntime": __import__("onnxruntime").__version__,
        "load_average_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "unix_time": int(time.time()),
    }
    print(json.dumps(result, indent=2))
    if output:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        Path(output).write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {output}", file=sys.stderr)
    return result
