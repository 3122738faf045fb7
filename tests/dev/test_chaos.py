"""The short chaos run of `make test`: a few claims with real photos while two committee members are SIGKILLed and
restarted; every claim is decided exactly once with no conflicting votes or reports (`make chaos`: 100 claims, 20
kills)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.chain_fixtures import needs_model


@needs_model
def test_chaos__members_sigkilled_while_claims_come_in__every_claim_decided_exactly_once(shared_data, tmp_path):
    output = tmp_path / "chaos.json"
    command = [sys.executable, "-m", "oracle.cli", "chaos", "--claims", "4", "--kills", "2", "--interval", "1"]
    command += ["--output", str(output)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=240, check=False)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    chaos = json.loads(output.read_text())
    assert chaos["kills"] == 2 and chaos["restarts"] == 2
    assert chaos["decided_exactly_once"] == 4 and chaos["decision_events"] == 4
    assert chaos["double_votes"] == 0 and chaos["conflicting_vote_claims"] == 0
    assert all(row["conflicting_outcomes"] == 0 for row in chaos["member_databases"].values())
    assert chaos["problems"] == []
    assert "slowest claim" in result.stdout
