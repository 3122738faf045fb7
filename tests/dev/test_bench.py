"""`claims-oracle bench` runs end to end with tiny counts and writes its results file (no timing is asserted:
benchmarks record numbers, tests never judge them)."""

import json
import subprocess
import sys

import pytest

from oracle.settings import load_settings

pytestmark = pytest.mark.skipif(not load_settings().model_path.is_file(), reason="shipped model not found")

NUMBERS = (
    "latency_p50_s",
    "latency_p95_s",
    "latency_mean_s",
    "latency_max_s",
    "claims_per_second",
    "claims_per_second_from_start",
    "model_images_per_second",
    "model_images_per_second_no_heatmaps",
    "pipeline_vs_model_ratio",
)


def test_bench__tiny_counts__writes_every_number_with_its_setup(shared_data, tmp_path):
    output, gas = tmp_path / "e2e.json", tmp_path / "gas.json"
    gas.write_text(json.dumps({"report_vote": 79229, "submit_claim": 80534}))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "oracle.cli",
            "bench",
            "--claims",
            "3",
            "--throughput-claims",
            "3",
            "--workers-claims",
            "3",
            "--output",
            str(output),
            "--gas-json",
            str(gas),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "pipeline vs model" in result.stdout

    bench = json.loads(output.read_text())
    for key in NUMBERS:
        assert isinstance(bench[key], float) and bench[key] > 0, key
    assert bench["latency_claims"] == 3 and len(bench["latency_samples_s"]) == 3
    assert bench["throughput_claims"] == 3 and bench["model_images"] == 9
    assert sum(bench["latency_decisions"].values()) == 3 and sum(bench["throughput_decisions"].values()) == 3
    assert set(bench["latency_decisions"]) <= {"APPROVE", "PARTIAL", "REJECT", "REFER"}
    assert bench["gas"] == {"report_vote": 79229, "submit_claim": 80534}
    assert set(bench["met"]) == {"latency_p50_s", "latency_p95_s", "pipeline_vs_model_ratio"}
    assert all(isinstance(value, bool) for value in bench["met"].values())
    assert {"latency", "claims_per_second", "model_images_per_second", "pipeline_vs_model_ratio"} <= set(
        bench["measured"]
    )
    assert bench["photos"]["per_claim"] == 3 and bench["photos"]["distinct"] == 9  # each phase: 9 distinct photos
    assert bench["notes"] == []  # no node logged an error
    # one and two workers of one member on one PostgreSQL database: every claim assessed once and voted once
    assert set(bench["workers"]) == {"1", "2"}
    for workers, arm in bench["workers"].items():
        assert arm["claims"] == 3 and arm["votes_mined"] == 3, workers
        assert len(arm["assessed_by_worker"]) == int(workers) and sum(arm["assessed_by_worker"]) == 3, workers
        assert arm["claims_per_node_cpu_second"] > 0 and arm["claims_per_machine_cpu_second"] > 0
