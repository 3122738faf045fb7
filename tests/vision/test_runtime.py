"""The shipped model served with ONNX Runtime: outputs, determinism, heat maps, odd inputs, no torch needed."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from oracle.domain import CLASSES
from oracle.vision import DamageModel, ImageError
from oracle.vision.images import FULL_SIZE_PIXELS, decode, letterbox
from oracle.vision.runtime import DEFAULT_MODEL_PATH, HEATMAP_MAX_SIDE, heatmap_png


def _bytes(img: Image.Image, fmt: str) -> bytes:
    """Return encoded image bytes."""
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


def test_load__shipped_model__hash_matches_sha256_file_and_metadata(damage_model):
    recorded = DEFAULT_MODEL_PATH.with_name(DEFAULT_MODEL_PATH.name + ".sha256").read_text().split()[0]
    assert damage_model.model_sha256 == recorded == hashlib.sha256(DEFAULT_MODEL_PATH.read_bytes()).hexdigest()
    assert damage_model.classes == CLASSES
    assert 0.2 < damage_model.temperature < 5.0
    assert len(damage_model.metadata["training_manifest_sha256"]) == 64


def test_predict__real_photos__returns_consistent_calibrated_predictions(damage_model, selection_photos):
    photos = [p.read_bytes() for paths in selection_photos.values() for p in paths[:2]]
    preds = damage_model.predict(photos)
    assert len(preds) == len(photos)
    for p in preds:
        assert set(p.probabilities) == set(CLASSES)
        assert sum(p.probabilities.values()) == pytest.approx(1.0, abs=1e-6)
        assert p.label == max(p.probabilities, key=p.probabilities.get)
        assert p.confidence == pytest.approx(p.probabilities[p.label])
        assert p.damage_probability == pytest.approx(1 - p.probabilities["whole"])
        assert p.heatmap_png.startswith(b"\x89PNG")


def test_classify__then_render__same_predictions_and_heatmap_bytes_as_predict(damage_model, selection_photos):
    photos = [p.read_bytes() for paths in selection_photos.values() for p in paths[:1]]
    drawn = damage_model.predict(photos)
    classified = damage_model.classify(photos)
    assert [prediction for prediction, _ in classified] == [replace(p, heatmap_png=b"") for p in drawn]
    assert [pending.render() for _, pending in classified] == [p.heatmap_png for p in drawn]


def test_predict__real_photos__mostly_right_on_held_out_classes(damage_model, selection_photos):
    pairs = [(label, p.read_bytes()) for label, paths in selection_photos.items() for p in paths]
    preds = damage_model.predict([b for _, b in pairs], heatmaps=False)
    damage_right = sum((label == "whole") == (p.label == "whole") for (label, _), p in zip(pairs, preds, strict=True))
    assert damage_right >= 0.75 * len(pairs)  # a broken export or preprocessing gives chance level


def test_predict__same_photos_twice_and_fresh_session__identical_outputs(damage_model, selection_photos):
    photos = [p.read_bytes() for paths in selection_photos.values() for p in paths[:1]]
    first = damage_model.predict(photos)
    second = damage_model.predict(photos)
    fresh = DamageModel.load().predict(photos)
    assert first == second == fresh  # probabilities and heat-map bytes alike


def test_predict__single_versus_batch__agree_within_1e5(damage_model, selection_photos):
    photos = [p.read_bytes() for paths in selection_photos.values() for p in paths[:1]]
    batch = damage_model.predict(photos, heatmaps=False)
    singles = [damage_model.predict_one(b, heatmaps=False) for b in photos]
    for a, b in zip(batch, singles, strict=True):
        assert max(abs(a.probabilities[c] - b.probabilities[c]) for c in CLASSES) < 1e-5


def test_predict__heatmap__is_png_with_the_photos_aspect(damage_model, selection_photos):
    photo = Image.open(selection_photos["whole"][0]).convert("RGB")
    pred = damage_model.predict([photo.resize((900, 300))])[0]
    heat = Image.open(io.BytesIO(pred.heatmap_png))
    assert heat.format == "PNG" and heat.size == (512, 171)
    assert np.asarray(heat).std() > 5  # not a blank image


def test_predict__greyscale_rgba_and_huge_photo__are_handled(damage_model, selection_photos):
    photo = Image.open(selection_photos["severe"][0])
    inputs = [
        _bytes(photo.convert("L"), "JPEG"),
        _bytes(photo.convert("RGBA"), "PNG"),
        _bytes(photo.convert("RGB").resize((3000, 2000)), "JPEG"),
        photo.convert("P"),
    ]
    preds = damage_model.predict(inputs, heatmaps=False)
    assert [sum(p.probabilities.values()) for p in preds] == pytest.approx([1.0] * 4, abs=1e-6)


def test_predict__one_corrupt_photo_in_batch__raises_image_error_naming_it(damage_model, selection_photos):
    good = selection_photos["minor"][0].read_bytes()
    with pytest.raises(ImageError, match=r"photo 1: (truncated|corrupt)"):
        damage_model.predict([good, good[: len(good) // 3]])


def test_serving__without_torch_installed__predicts():
    if not DEFAULT_MODEL_PATH.is_file():
        pytest.skip("no exported model")
    code = (
        "import sys; sys.modules['torch'] = None; sys.modules['torchvision'] = None\n"
        "import numpy as np; from PIL import Image\n"
        "from oracle.vision import DamageModel\n"
        "img = Image.fromarray(np.full((300, 400, 3), 120, np.uint8))\n"
        "p = DamageModel.load().predict([img])[0]\n"
        "assert 'torch' not in [m for m in sys.modules if sys.modules[m] is not None]\n"
        "print(p.label)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() in CLASSES


def test_classify__photo_near_the_pixel_limit__keeps_a_heat_map_sized_copy_and_draws_the_same_bytes(damage_model):
    photo = Image.new("RGB", (4500, 3000), (90, 120, 150))  # 13.5 MP: over FULL_SIZE_PIXELS, decoded alone
    photo.paste((200, 40, 40), (1000, 800, 2600, 2000))
    png = _bytes(photo, "PNG")
    assert FULL_SIZE_PIXELS < 4500 * 3000
    ((prediction, pending),) = damage_model.classify([png])
    assert max(pending.photo.size) == HEATMAP_MAX_SIDE  # not the 4500x3000 decode: a batch holds no full-size photo
    full = decode(png)
    _, box = letterbox(full)
    assert pending.render() == heatmap_png(full, pending.cam, box)  # the same bytes as drawn over the full photo
