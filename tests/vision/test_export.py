"""ONNX export agrees with eager PyTorch on real photos (skips where torch is not installed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is only installed with the train extra")
pytest.importorskip("efficientnet_lite_pytorch", reason="the train extra is not installed")

# below the skips: these modules import torch
from oracle.vision.data import MODELS_DIR  # noqa: E402
from oracle.vision.export import _portable_args, export_onnx, load_checkpoint  # noqa: E402
from oracle.vision.images import preprocess  # noqa: E402
from oracle.vision.network import DamageNet, ExportedDamageNet  # noqa: E402
from oracle.vision.runtime import DamageModel  # noqa: E402


def _photos(selection_photos: dict[str, list[Path]]) -> np.ndarray:
    """Return a preprocessed batch of real photos, two per class."""
    return np.stack([preprocess(p.read_bytes())[0] for ps in selection_photos.values() for p in ps[:2]])


def _eager(model, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return eager (logits, cam) for a batch."""

    with torch.no_grad():
        logits, cam = ExportedDamageNet(model)(torch.from_numpy(batch))
    return logits.numpy(), cam.numpy()


def test_export__pretrained_network__onnx_matches_eager_within_1e4(tmp_path, selection_photos):

    torch.manual_seed(0)
    model = DamageNet(pretrained=True).eval()
    torch.nn.init.normal_(model.net._fc.weight, std=0.05)  # a head with signal, not the near-zero init
    path = tmp_path / "m.onnx"
    export_onnx(
        model, path, {"classes": ["whole", "minor", "moderate", "severe"], "temperature": 1.0, "input_size": 224}
    )
    batch = _photos(selection_photos)
    onnx_logits, onnx_cam = DamageModel.load(path).run(batch)
    eager_logits, eager_cam = _eager(model, batch)
    assert np.abs(onnx_logits - eager_logits).max() < 1e-4
    assert np.abs(onnx_cam - eager_cam).max() < 1e-4
    assert np.allclose(onnx_cam.mean(axis=(2, 3)), onnx_logits, atol=1e-5)  # the CAM explains the logits exactly


def _shipped_checkpoint(metadata: dict):
    """Return the first models/runs/*/best.pt whose epoch and training arguments are the shipped model's, or None."""

    for path in sorted((MODELS_DIR / "runs").glob("*/best.pt")):
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
        if ckpt["epoch"] == metadata.get("epoch") and _portable_args(ckpt["args"]) == metadata.get("train_args"):
            return path
    return None


def test_export__shipped_model__matches_its_training_checkpoint_within_1e4(damage_model, selection_photos):
    checkpoint = _shipped_checkpoint(damage_model.metadata)
    if checkpoint is None:
        pytest.skip(
            f"the shipped model's training checkpoint is not under {MODELS_DIR / 'runs'} (not kept in "
            "git); train to compare against it"
        )

    model, _ = load_checkpoint(checkpoint)
    batch = _photos(selection_photos)
    onnx_logits, onnx_cam = damage_model.run(batch)
    eager_logits, eager_cam = _eager(model, batch)
    assert np.abs(onnx_logits - eager_logits).max() < 1e-4
    assert np.abs(onnx_cam - eager_cam).max() < 1e-4
