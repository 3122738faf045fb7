"""`claims-oracle demo` end to end: every sample claim path reaches its expected outcome on anvil, the dApp is
served at the printed URL, and SIGTERM stops the nodes, the gateway and anvil."""

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from oracle.dev.devchain import free_port
from oracle.settings import load_settings

pytestmark = pytest.mark.skipif(not load_settings().model_path.is_file(), reason="shipped model not found")


def read_until(process: subprocess.Popen, marker: str, timeout: float) -> list[str]:
    """Stdout lines up to and including the first one containing `marker`."""
    lines, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if marker in line:
            return lines
    raise AssertionError(f"{marker!r} never printed; output so far:\n" + "\n".join(lines))


def test_demo__real_photos__every_claim_path_as_expected_then_serves_until_sigterm(shared_data, tmp_path):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "oracle.cli", "demo", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp_path)},  # where its temporary folders go, to check they are gone
    )
    try:
        lines = read_until(process, "Ctrl-C stops everything", timeout=600)
        assert lines[0] == f"dApp and gateway: http://127.0.0.1:{port}/"
        rows = {
            line.split("  ")[0].strip(): line for line in lines if line.endswith((" yes", " NO")) and ":" not in line
        }
        assert set(rows) == {
            "instant approval",
            "window then finalize",
            "reject, dispute, ruling",
            "reused photo",
            "hail without hail",
        }
        assert all(row.endswith("yes") for row in rows.values()), "\n".join(lines)
        assert "PARTIAL" in rows["instant approval"] or "APPROVE" in rows["instant approval"]
        assert "REJECT" in rows["reject, dispute, ruling"] and "REFER" in rows["reused photo"]
        assert "every sample claim reached its expected outcome: yes" in lines
        chain_url = re.search(r"\(chain (http://[0-9.:]+)\)", lines[-1]).group(1)

        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10).read().decode()
        assert '<main id="view"' in page
        config = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/config", timeout=10))
        assert config["chainId"] == 31337 and config["devWallet"]["rpcUrl"] == "/rpc"
        assert [a["role"] for a in config["devWallet"]["accounts"]][:2] == ["insurer", "claimant"]

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, process.stderr.read()[-3000:]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    for url in (f"http://127.0.0.1:{port}/", chain_url):
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(url, timeout=5)
    assert sorted(p.name for p in tmp_path.glob("claims-demo*")) == []  # state and photo links removed on exit
