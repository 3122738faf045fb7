"""The training augmentations that stand in for how claim photos are taken."""

from __future__ import annotations

import pytest
from PIL import Image

torch = pytest.importorskip("torch", reason="training needs the train extra")

from oracle.vision.training import MotionBlur, ZoomOut, train_transform  # noqa: E402


def test_zoom_out__photo_small_in_a_scene_from_the_background_pool_letterboxed_to_size():
    torch.manual_seed(0)
    red = Image.new("RGB", (300, 200), (255, 0, 0))
    blue_scene = Image.new("RGB", (480, 320), (0, 0, 255))
    for _ in range(20):
        out = ZoomOut(224, [blue_scene])(red)
        assert out.size == (224, 224)
        colours = {colour for _, colour in out.getcolors(224 * 224)}
        assert (0, 0, 255) in colours  # the scene shows around the photo
        red_share = sum(n for n, c in out.getcolors(224 * 224) if c[0] > 200 and c[2] < 50) / (224 * 224)
        assert 0.05 <= red_share <= 0.55  # ZOOM_OUT_AREA of the scene, before the letterbox border


def test_zoom_out__without_backgrounds__is_refused():
    with pytest.raises(ValueError, match="background"):
        ZoomOut(224, [])


def test_motion_blur__spreads_a_point_along_a_line_and_keeps_brightness():
    dot = Image.new("L", (9, 9), 0)
    dot.putpixel((4, 4), 250)
    torch.manual_seed(1)
    blurred = MotionBlur()(dot.convert("RGB")).convert("L")
    lit = [v for v in blurred.getdata() if v > 0]
    assert len(lit) == 5 and all(v == 50 for v in lit)


def test_train_transform__phone_options_only_when_asked():
    plain = [type(t).__name__ for t in train_transform(224, 0.6).transforms]
    phone = [type(t).__name__ for t in train_transform(224, 0.6, [Image.new("RGB", (64, 64))], 0.25, True).transforms]
    assert "RandomAdjustSharpness" not in plain and "RandomAdjustSharpness" in phone
    assert len(phone) == len(plain) + 3  # perspective, sharpening, sensor noise
