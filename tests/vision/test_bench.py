"""The model benchmark times phone-sized photos with heat maps and writes every key it prints."""

from __future__ import annotations

import json
from pathlib import Path

from oracle.vision import bench


def test_bench_times_phone_sized_photos_with_heatmaps(shared_data: Path, tmp_path: Path):
    output = tmp_path / "model.json"
    result = bench.run(data_dir=shared_data, batch_size=4, repeats=1, single_repeats=2, output=output, phone_photos=2)
    for width in (1280, 4000):
        assert result[f"photos_per_second_{width}_heatmaps"] > 0
        assert result[f"latency_ms_single_{width}_heatmap_p50"] > 0
    assert json.loads(output.read_text()) == result


def test_bench_photos_come_from_the_real_originals_at_the_size_asked(shared_data: Path):
    photos, source = bench.sample_photos(shared_data, 2, (1280, 960))
    assert source == "real vds2500/val photos resized to 1280x960"
    assert len(photos) == 2 and all(p[:2] == b"\xff\xd8" for p in photos)
