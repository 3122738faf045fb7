"""`claims-oracle load` runs end to end with tiny levels and writes every figure per level (no timing is asserted:
benchmarks record numbers, tests never judge them; `make bench-load` runs 20, 50 and 100 clients)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.chain_fixtures import needs_model


@needs_model
def test_load__tiny_levels__every_figure_per_route_and_level(shared_data, tmp_path):
    output = tmp_path / "load.json"
    command = [sys.executable, "-m", "oracle.cli", "load", "--levels", "2", "4", "--claims", "24"]
    command += ["--bridge-seconds", "3", "--upload-seconds", "1", "--output", str(output)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "bridge p95 at 4 clients / p95 at 2 clients" in result.stdout
    load = json.loads(output.read_text())
    assert [(row["route"], row["clients"]) for row in load["levels"]] == [
        ("bridge", 2),
        ("bridge", 4),
        ("upload", 2),
        ("upload", 4),
    ]
    for row in load["levels"]:
        assert row["accepted"] > 0 and row["accepted_per_s"] > 0, row
        assert 0 < row["p50_s"] <= row["p95_s"] and 0 <= row["shed_rate"] <= 1
        assert set(row["statuses"]) <= {"200", "201", "503"}, row  # nothing refused but shed load
    assert isinstance(load["met"], bool) and load["gateway"]["max_queue"] >= 0
