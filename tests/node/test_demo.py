"""`claims-oracle demo --once` end to end: every sample claim path reaches its expected outcome on anvil."""

import subprocess
import sys

import pytest

from oracle.settings import load_settings

pytestmark = pytest.mark.skipif(not load_settings().model_path.is_file(), reason="shipped model not found")


def test_demo_once__real_photos__every_claim_path_as_expected(shared_data):
    result = subprocess.run([sys.executable, "-m", "oracle.cli", "demo", "--once"], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    rows = {line.split("  ")[0].strip(): line for line in result.stdout.splitlines() if line.endswith(("yes", "NO"))}
    assert set(rows) == {"instant approval", "window then finalize", "reject, dispute, ruling", "reused photo",
                         "hail without hail"}
    assert all(row.endswith("yes") for row in rows.values()), result.stdout
    assert "PARTIAL" in rows["instant approval"] or "APPROVE" in rows["instant approval"]
    assert "REJECT" in rows["reject, dispute, ruling"] and "REFER" in rows["reused photo"]
