"""Serve the exported damage model with ONNX Runtime: batch prediction, calibrated confidence and heat maps."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnxruntime as ort
from PIL import Image

from oracle.domain import CLASSES, HEATMAP_RAMP, REPO_ROOT, SEVERITIES
from oracle.vision.images import (
    INPUT_SIZE,
    ImageError,
    Letterbox,
    fit_within,
    normalize_batch,
    prepare,
)
from oracle.vision.metrics import softmax

DEFAULT_MODEL_PATH = REPO_ROOT / "models" / "damage.onnx"
HEATMAP_MAX_SIDE = 512  # heat maps are drawn over the photo scaled to at most this long side
HEATMAP_ALPHA = 0.45


@dataclass(frozen=True)
class PhotoPrediction:
    """What the model says about one photo."""

    probabilities: dict[str, float]  # calibrated, keys whole, minor, moderate, severe; sums to 1
    label: str  # the most probable class
    confidence: float  # calibrated probability of `label`
    damage_probability: float  # 1 - p(whole)
    heatmap_png: bytes = field(default=b"", repr=False)  # activation map of `label` over the photo (b"": not drawn)

    @property
    def severity(self) -> str:
        """Return the most probable damage class, ignoring `whole`."""
        return max(SEVERITIES, key=lambda c: self.probabilities[c])


def _colormap(values: np.ndarray) -> np.ndarray:
    """Map values in [0, 1] to RGB uint8 with a blue-cyan-yellow-red ramp."""
    stops = np.array([stop for stop, _ in HEATMAP_RAMP])
    colours = np.array([rgb for _, rgb in HEATMAP_RAMP], dtype=np.float64)
    out = np.stack([np.interp(values, stops, colours[:, k]) for k in range(3)], axis=-1)
    return out.astype(np.uint8)


_COLOURS = _colormap(np.arange(256) / 255.0)  # the ramp for every 8-bit activation level, looked up per pixel


def heatmap_png(photo: Image.Image, cam: np.ndarray, box: Letterbox, size: int = INPUT_SIZE) -> bytes:
    """Return a PNG of the activation map (h, w over the square model input) blended over the photo."""
    cam = np.maximum(np.asarray(cam, dtype=np.float64), 0.0)
    top = cam.max()
    cam = cam / top if top > 0 else cam
    # Upsample to the model input square, then cut out the part the photo occupies (drop the letterbox).
    square = Image.fromarray((cam * 255).astype(np.uint8), "L").resize((size, size), Image.Resampling.BICUBIC)
    region = square.crop((box.left, box.top, box.left + box.width, box.top + box.height))
    base = fit_within(photo, HEATMAP_MAX_SIDE)
    target = base.size
    overlay = Image.fromarray(_COLOURS[np.asarray(region.resize(target, Image.Resampling.BICUBIC))], "RGB")
    blended = Image.blend(base.convert("RGB"), overlay, HEATMAP_ALPHA)
    buf = io.BytesIO()
    # zlib level 1: a third of the size-optimal level's encoding time for a file about a quarter larger; the
    # bytes are fixed by the pinned Pillow (its bundled zlib), which committee members must share (the heat
    # maps' content ids are in the explanation)
    blended.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


@dataclass(frozen=True)
class PendingHeatmap:
    """What drawing one photo's heat map takes: the decoded photo, its letterbox, the predicted class's map."""

    photo: Image.Image = field(repr=False)
    cam: np.ndarray = field(repr=False)
    box: Letterbox
    size: int = INPUT_SIZE

    def render(self) -> bytes:
        """Draw the heat map as PNG bytes (the same bytes `DamageModel.predict` puts in `heatmap_png`)."""
        return heatmap_png(self.photo, self.cam, self.box, self.size)


class DamageModel:
    """The exported damage classifier, run with ONNX Runtime (no PyTorch needed)."""

    def __init__(self, session: ort.InferenceSession, path: Path, sha256: str):
        """Wrap a loaded session; use DamageModel.load() instead of calling this directly."""
        self.session = session
        self.path = path
        self.model_sha256 = sha256
        meta = session.get_modelmeta().custom_metadata_map
        self.metadata: dict = json.loads(meta["damage_model"]) if "damage_model" in meta else {}
        self.classes: tuple[str, ...] = tuple(self.metadata.get("classes", CLASSES))
        if self.classes != CLASSES:
            raise ValueError(f"{path}: model classes {self.classes} differ from the runtime's {CLASSES}")
        self.temperature = float(self.metadata.get("temperature", 1.0))
        self.input_size = int(self.metadata.get("input_size", INPUT_SIZE))
        self.input_name = session.get_inputs()[0].name

    @classmethod
    def load(cls, path: str | Path | None = None, threads: int | None = None) -> DamageModel:
        """Load the exported model (default: the shipped models/damage.onnx) and hash its bytes."""
        path = Path(path) if path is not None else DEFAULT_MODEL_PATH
        if not path.is_file():
            raise FileNotFoundError(f"damage model not found at {path}; run `claims-oracle model export` first")
        data = path.read_bytes()
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # ONNX Runtime's own default counts physical cores, which leaves one of 2 vCPUs idle here.
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.inter_op_num_threads = 1
        # no memory arena: the activations of a batch go back when the run ends instead of staying reserved for the
        # next one, so a node holds them only while the network runs (not also while it decodes the next photos)
        options.enable_cpu_mem_arena = False
        session = ort.InferenceSession(data, sess_options=options, providers=["CPUExecutionProvider"])
        return cls(session, path, hashlib.sha256(data).hexdigest())

    def run(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Run the network on a preprocessed (N, 3, S, S) float32 batch; return raw (logits, cams)."""
        logits, cams = self.session.run(None, {self.input_name: np.ascontiguousarray(batch, dtype=np.float32)})
        return logits, cams

    def predict(
        self, images: Sequence[bytes | Image.Image], heatmaps: bool = True, batch_size: int = 32
    ) -> list[PhotoPrediction]:
        """Predict every photo; raise ImageError (naming the photo's index) if any photo is unusable."""
        classified = self.classify(images, batch_size)
        if not heatmaps:
            return [prediction for prediction, _ in classified]
        return [dataclasses.replace(prediction, heatmap_png=pending.render()) for prediction, pending in classified]

    def classify(
        self, images: Sequence[bytes | Image.Image], batch_size: int = 32
    ) -> list[tuple[PhotoPrediction, PendingHeatmap]]:
        """Predict every photo without drawing heat maps, each with what drawing its heat map takes (so a caller
        can draw them on another thread while the network runs the next batch); raises as `predict` does."""

        # Decode and letterbox every photo first (so a bad photo fails before any network time is spent), keeping
        # only uint8 pixels; each chunk is then normalised in one vectorised step straight into the network input.
        prepared = []
        for i, image in enumerate(images):
            try:
                # the photo kept for the heat map is already at heat-map size: a batch holds no full-size photo
                prepared.append(prepare(image, self.input_size, keep_side=HEATMAP_MAX_SIDE))
            except ImageError as exc:
                raise ImageError(f"photo {i}: {exc}") from exc
        results: list[tuple[PhotoPrediction, PendingHeatmap]] = []
        for start in range(0, len(prepared), batch_size):
            chunk = prepared[start : start + batch_size]
            logits, cams = self.run(normalize_batch(np.stack([pixels for pixels, _, _ in chunk])))
            probs = softmax(logits, self.temperature)
            for (_, photo, box), p, cam in zip(chunk, probs, cams, strict=True):  # one row per photo
                k = int(np.argmax(p))
                results.append(
                    (
                        PhotoPrediction(
                            probabilities={c: float(v) for c, v in zip(self.classes, p, strict=True)},
                            label=self.classes[k],
                            confidence=float(p[k]),
                            damage_probability=float(1.0 - p[0]),
                        ),
                        PendingHeatmap(photo, cam[k], box, self.input_size),
                    )
                )
        return results

    def predict_one(self, image: bytes | Image.Image, heatmaps: bool = True) -> PhotoPrediction:
        """Predict a single photo."""
        return self.predict([image], heatmaps=heatmaps)[0]
