"""Evaluate the exported model on labelled folders and write the model's metrics and figures."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from tqdm import tqdm

from oracle.domain import CLASSES
from oracle.vision import data as vdata
from oracle.vision import metrics
from oracle.vision.images import ImageError, decode, encode_jpeg, normalize_batch, prepare
from oracle.vision.runtime import DamageModel


def run_logits(
    model: DamageModel,
    samples: list[vdata.Sample],
    root: Path,
    batch_size: int = 32,
    rewrite: Callable[[bytes], bytes] | None = None,
) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """Return raw logits and labels for the readable samples (each photo's bytes passed through `rewrite` first,
    if given), plus a list of the unreadable ones."""
    logits, labels, errors = [], [], []
    batch: list[np.ndarray] = []  # letterboxed uint8 pixels
    batch_labels: list[int] = []

    def flush() -> None:
        """Run the pending batch."""
        if batch:
            logits.append(model.run(normalize_batch(np.stack(batch)))[0])
            labels.extend(batch_labels)
            batch.clear()
            batch_labels.clear()

    for s in tqdm(samples, desc="evaluate", file=sys.stderr, dynamic_ncols=True):
        try:
            photo = (root / s.path).read_bytes()
            pixels, _, _ = prepare(rewrite(photo) if rewrite else photo, model.input_size)
        except (ImageError, OSError) as exc:
            errors.append({"path": s.path, "error": str(exc)})
            print(f"skipped {s.path}: {exc}", file=sys.stderr)
            continue
        batch.append(pixels)
        batch_labels.append(CLASSES.index(s.label))
        if len(batch) == batch_size:
            flush()
    flush()
    out = np.concatenate(logits).astype(np.float64) if logits else np.zeros((0, len(CLASSES)))
    return out, np.asarray(labels, dtype=np.int64), errors


def evaluate_folder(data_dir: Path, model_path: Path | None = None, batch_size: int = 32) -> dict:
    """Evaluate the model on data_dir/<class>/<image> and return the metrics document."""
    t0 = time.time()
    model = DamageModel.load(model_path)
    samples = vdata.list_folder(data_dir)
    logits, labels, errors = run_logits(model, samples, Path(data_dir), batch_size)
    probs = metrics.softmax(logits, model.temperature)
    report = metrics.classification_report(labels, probs.argmax(1))
    report["ece"] = metrics.ece(probs, labels) if len(labels) else None
    report["mean_confidence"] = float(probs.max(1).mean()) if len(labels) else None
    report["skipped"] = errors
    report["model_sha256"] = model.model_sha256
    report["data"] = str(Path(data_dir).resolve())
    report["seconds"] = round(time.time() - t0, 2)
    return report


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Return a TrueType font if one is installed, else Pillow's built-in font."""
    for name in ("DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def confusion_png(matrix: np.ndarray, classes: tuple[str, ...], title: str, path: Path) -> None:
    """Draw a confusion matrix (rows true, columns predicted; shade = row share, text = count)."""
    cell, left, top = 90, 120, 80
    n = len(classes)
    img = Image.new("RGB", (left + n * cell + 20, top + n * cell + 60), "white")
    d = ImageDraw.Draw(img)
    font, small = _font(15), _font(13)
    d.text((10, 10), title, fill="black", font=font)
    d.text((left + n * cell // 2 - 30, top - 45), "predicted", fill="black", font=small)
    d.text((10, top + n * cell + 25), "rows: true class", fill="black", font=small)
    for j, name in enumerate(classes):
        d.text((left + j * cell + 10, top - 22), name, fill="black", font=small)
        d.text((10, top + j * cell + cell // 2 - 8), name, fill="black", font=small)
    for i in range(n):
        total = matrix[i].sum() or 1
        for j in range(n):
            share = matrix[i, j] / total
            shade = int(255 - 200 * share)
            box = (left + j * cell, top + i * cell, left + (j + 1) * cell, top + (i + 1) * cell)
            d.rectangle(box, fill=(shade, shade, 255), outline="grey")
            colour = "white" if share > 0.55 else "black"
            d.text((box[0] + 12, box[1] + 28), f"{matrix[i, j]} ({share:.0%})", fill=colour, font=small)
    img.save(path)


def reliability_png(curves: dict[str, list[dict]], eces: dict[str, float], path: Path) -> None:
    """Draw reliability diagrams (accuracy against confidence per bin) side by side, one per curve."""
    w, h, pad = 300, 300, 50
    img = Image.new("RGB", (len(curves) * (w + 2 * pad), h + 2 * pad + 20), "white")
    d = ImageDraw.Draw(img)
    font = _font(13)
    for k, (name, bins) in enumerate(curves.items()):
        x0, y0 = k * (w + 2 * pad) + pad, pad
        d.rectangle((x0, y0, x0 + w, y0 + h), outline="black")
        d.line((x0, y0 + h, x0 + w, y0), fill="grey", width=1)
        for b in bins:
            if not b["count"]:
                continue
            bx0, bx1 = x0 + b["lo"] * w, x0 + b["hi"] * w
            d.rectangle((bx0 + 1, y0 + h - b["accuracy"] * h, bx1 - 1, y0 + h), fill=(90, 130, 220), outline="navy")
            cy = y0 + h - b["confidence"] * h
            d.line((bx0 + 1, cy, bx1 - 1, cy), fill="red", width=2)
        d.text((x0, 12), f"{name}: ECE {eces[name]:.3f}", fill="black", font=font)
        d.text((x0, y0 + h + 8), "confidence (bars: accuracy, red: mean confidence)", fill="black", font=font)
    img.save(path)


def write_report(data_dir: Path, model_path: Path | None, out_dir: Path) -> dict:
    """Evaluate the exported model on the selection set from the manifest; write metrics.json and the figures."""
    t0 = time.time()
    model = DamageModel.load(model_path)
    samples = [s for s in vdata.list_samples(data_dir) if s.split == "val"]
    logits, labels, errors = run_logits(model, samples, Path(data_dir))
    seconds = time.time() - t0
    t = model.temperature
    raw, cal = metrics.softmax(logits), metrics.softmax(logits, t)
    preds = cal.argmax(1)
    whole = CLASSES.index("whole")
    vds = labels != whole
    overall = metrics.classification_report(labels, preds)
    calibration = {
        "ece_before": metrics.ece(raw, labels),
        "ece_after": metrics.ece(cal, labels),
        "ece_after_cross_fitted_2fold": metrics.cross_fitted_ece(logits, labels),
        "nll_before": metrics.nll(logits, labels),
        "nll_after": metrics.nll(logits, labels, t),
        "bins": 15,
    }
    doc = {
        "model_sha256": model.model_sha256,
        "training_manifest_sha256": model.metadata.get("training_manifest_sha256"),
        "temperature": t,
        "selection_set": "vds2500 val (457) + held-out whole-car photos (sha256(name) mod 5 == 0)",
        "all": overall,
        "vds2500_val": metrics.classification_report(labels[vds], preds[vds]),
        "whole_holdout": {"n": int((~vds).sum()), "recall": float((preds[~vds] == whole).mean())},
        "calibration": calibration,
        "skipped": errors,
        "eval_seconds": round(seconds, 2),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "metrics.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    confusion_png(
        np.asarray(overall["confusion"]),
        CLASSES,
        f"selection set (n={overall['n']}), macro-F1 {overall['macro_f1']:.3f}",
        out_dir / "confusion_matrix.png",
    )
    reliability_png(
        {"before (T=1)": metrics.reliability(raw, labels), f"after (T={t:.2f})": metrics.reliability(cal, labels)},
        {"before (T=1)": calibration["ece_before"], f"after (T={t:.2f})": calibration["ece_after"]},
        out_dir / "reliability.png",
    )
    return doc


def _upscaled(img: Image.Image) -> Image.Image:
    """The photo enlarged to a 1,000 px long side, as a phone camera's resolution."""
    f = 1000 / max(img.size)
    return img.resize((round(img.size[0] * f), round(img.size[1] * f)), Image.Resampling.BICUBIC)


def _close_up(img: Image.Image) -> Image.Image:
    """The centre 60% of the photo's width and height, as a close-up."""
    w, h = img.size
    cw, ch = int(w * 0.6), int(h * 0.6)
    return img.crop(((w - cw) // 2, (h - ch) // 2, (w + cw) // 2, (h + ch) // 2))


def _wide(img: Image.Image) -> Image.Image:
    """The photo in the middle of a twice-as-wide dark canvas, as a photo with much background."""
    canvas = Image.new("RGB", (img.size[0] * 2, img.size[1]), (40, 40, 40))
    canvas.paste(img, (img.size[0] // 2, 0))
    return canvas


# Rewrites of the selection photos that stand in for other cameras and framings (a proxy, not a test set).
SHIFTS: dict[str, Callable[[bytes], bytes]] = {
    "upscaled_1000px_q90": lambda b: encode_jpeg(_upscaled(decode(b)), 90),
    "jpeg_q20": lambda b: encode_jpeg(decode(b), 20),
    "close_up_centre_60pct_q90": lambda b: encode_jpeg(_close_up(decode(b)), 90),
    "wide_dark_canvas_2x_q90": lambda b: encode_jpeg(_wide(decode(b)), 90),
}


def shift_report(data_dir: Path, model_path: Path | None = None) -> dict:
    """Score the model on the selection set as it is and under each of SHIFTS: macro-F1 over the four classes,
    whole-versus-damaged accuracy, `whole` recall and ECE, per shift."""
    model = DamageModel.load(model_path)
    samples = [s for s in vdata.list_samples(data_dir) if s.split == "val"]
    results = {}
    for name, rewrite in {"none": None, **SHIFTS}.items():
        logits, labels, errors = run_logits(model, samples, Path(data_dir), rewrite=rewrite)
        probs = metrics.softmax(logits, model.temperature)
        report = metrics.classification_report(labels, probs.argmax(1))
        results[name] = {
            "n": report["n"],
            "macro_f1": report["macro_f1"],
            "accuracy": report["accuracy"],
            "damage_accuracy": report["damage_accuracy"],
            "whole_recall": report["per_class"]["whole"]["recall"],
            "ece": metrics.ece(probs, labels),
            "skipped": len(errors),
        }
    return {
        "model_sha256": model.model_sha256,
        "set": "selection set (vds2500 val + held-out whole)",
        "shifts": results,
    }
