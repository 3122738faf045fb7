"""The `claims-oracle model` commands: evaluate prints one JSON object; a one-step training run works."""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from oracle.vision.evaluation import SHIFTS, evaluate_folder
from oracle.vision.options import add_train_arguments
from oracle.vision.runtime import DEFAULT_MODEL_PATH, DamageModel


def _cli(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run `claims-oracle` in a subprocess and return the finished process."""
    return subprocess.run([sys.executable, "-m", "oracle.cli", *args], capture_output=True, text=True, timeout=timeout)


def test_cli__model_command_import__does_not_import_torch():
    code = "import sys; from oracle.cli import build_parser; build_parser(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_evaluate__small_real_sample__prints_exactly_one_json_object(tmp_path, selection_photos):
    if not DEFAULT_MODEL_PATH.is_file():
        pytest.skip("no exported model")
    for label, paths in selection_photos.items():
        (tmp_path / label).mkdir()
        for p in paths[:3]:
            os.symlink(p, tmp_path / label / p.name)
    (tmp_path / "notes").mkdir()  # not a class: ignored
    os.symlink(selection_photos["minor"][0], tmp_path / "notes" / "x.jpg")
    (tmp_path / "severe" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")

    out = _cli("model", "evaluate", "--data", str(tmp_path), "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)  # raises if stdout holds anything but one JSON document
    assert out.stdout.strip().count("\n") == 0
    assert doc["n"] == 12 and doc["classes"] == ["whole", "minor", "moderate", "severe"]
    assert 0 <= doc["accuracy"] <= 1 and 0 <= doc["macro_f1"] <= 1 and 0 <= doc["damage_accuracy"] <= 1
    assert {c: r["support"] for c, r in doc["per_class"].items()} == {
        "whole": 3,
        "minor": 3,
        "moderate": 3,
        "severe": 3,
    }
    assert set(doc["per_class"]["minor"]) == {"precision", "recall", "f1", "support"}
    confusion = np.asarray(doc["confusion"])
    assert confusion.shape == (4, 4) and confusion.sum() == 12
    assert doc["accuracy"] == pytest.approx(np.trace(confusion) / 12)
    assert [s["path"] for s in doc["skipped"]] == ["severe/broken.jpg"]
    assert len(doc["model_sha256"]) == 64


def test_evaluate__missing_folder__exits_2_with_a_clear_message(tmp_path):
    out = _cli("model", "evaluate", "--data", str(tmp_path / "nope"), "--json")
    assert out.returncode == 2
    assert "does not exist" in out.stderr and out.stdout == ""


def test_train__one_step_on_real_photos__writes_checkpoint_and_hashed_manifest(tmp_path, shared_data):
    pytest.importorskip("torch", reason="training needs the train extra")
    out = _cli(
        "model",
        "train",
        "--data",
        str(shared_data),
        "--output-dir",
        str(tmp_path),
        "--limit",
        "2",
        "--max-steps",
        "1",
        "--epochs",
        "1",
        "--batch-size",
        "4",
        "--threads",
        "2",
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "epoch 1/1" in out.stderr  # the progress bar
    import torch

    ckpt = torch.load(tmp_path / "best.pt", map_location="cpu", weights_only=False)
    assert ckpt["classes"] == ["whole", "minor", "moderate", "severe"]
    assert np.isfinite(ckpt["history"][0]["train"]["loss"])
    manifest = json.loads((tmp_path / "training_manifest.json").read_text())
    assert len(manifest["files"]) == 24  # 2 per class and split (train, selection and the untouched test split)
    assert {f["split"] for f in manifest["files"]} == {"train", "val", "test"}
    assert all(len(f["sha256"]) == 64 for f in manifest["files"])
    recorded = (tmp_path / "training_manifest.json.sha256").read_text().split()[0]
    assert recorded == ckpt["manifest_sha256"]


def test_train_defaults__are_the_shipped_models_recipe():
    """`claims-oracle model train` with no options must reproduce the shipped model's recipe (the model card says
    so)."""

    shipped = DamageModel.load().metadata["train_args"]
    defaults = vars(add_train_arguments(argparse.ArgumentParser()).parse_args([]))
    compared = sorted(set(shipped) & set(defaults))
    assert {"epochs", "crop_scale", "freeze_blocks", "seed", "lr"} <= set(compared)
    assert {k: defaults[k] for k in compared} == {k: shipped[k] for k in compared}
    # options added after the shipped model was trained default to what it was trained with
    older = {"arch": "efficientnet-lite0", "input_size": 0, "zoom_out": 0.0, "phone_augment": False}
    assert {k: defaults[k] for k in older if k not in shipped} == {k: v for k, v in older.items() if k not in shipped}
    assert shipped.get("train_size", 224) == 224  # the shipped model's input size, the lite0 default


def test_shifts__rewrite_photos_as_described(selection_photos):

    photo = selection_photos["severe"][0].read_bytes()
    w, h = Image.open(io.BytesIO(photo)).size
    sizes = {name: Image.open(io.BytesIO(rewrite(photo))).size for name, rewrite in SHIFTS.items()}
    assert max(sizes["upscaled_1000px_q90"]) == 1000
    assert sizes["jpeg_q20"] == (w, h)
    assert sizes["close_up_centre_60pct_q90"] == (int(w * 0.6), int(h * 0.6))
    assert sizes["wide_dark_canvas_2x_q90"] == (2 * w, h)
    assert all(Image.open(io.BytesIO(rewrite(photo))).format == "JPEG" for rewrite in SHIFTS.values())


def test_shift_command__scores_every_shift_and_none_matches_evaluate(tmp_path, selection_photos):
    if not DEFAULT_MODEL_PATH.is_file():
        pytest.skip("no exported model")

    layout = tmp_path / "data"
    flat = tmp_path / "flat"
    for label, paths in selection_photos.items():
        split_dir = (
            layout / "images" / "carparts_whole" / "train" / "whole"
            if label == "whole"
            else layout / "images" / "vds2500" / "val" / label
        )
        split_dir.mkdir(parents=True)
        (flat / label).mkdir(parents=True)
        for p in paths[:3]:  # held-out whole photos keep their names, so they stay in the selection set
            os.symlink(p, split_dir / p.name)
            os.symlink(p, flat / label / p.name)

    out = _cli("model", "shift", "--data", str(layout))
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert set(doc["shifts"]) == {"none", *SHIFTS}
    assert all(row["n"] == 12 and row["skipped"] == 0 for row in doc["shifts"].values())
    plain = evaluate_folder(flat)
    assert doc["shifts"]["none"]["macro_f1"] == pytest.approx(plain["macro_f1"])
    assert doc["shifts"]["none"]["damage_accuracy"] == pytest.approx(plain["damage_accuracy"])
    assert doc["model_sha256"] == plain["model_sha256"]
