"""`claims-oracle node` started while the RPC is down: it waits and retries with back-off instead of a traceback."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time

import pytest

from oracle.dev.devchain import dev_chain, free_port
from oracle.node.command import wait_for_chain
from tests.chain_fixtures import MODEL_PATH, needs_model


def test_wait_for_chain__rpc_down__backs_off_doubling_up_to_30_s():
    waits = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 7:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        wait_for_chain(f"http://127.0.0.1:{free_port()}", sleep=sleep)
    assert waits == [1, 2, 4, 8, 16, 30, 30]


def read_lines(process: subprocess.Popen, until: str, timeout: float) -> list[str]:
    """Lines of the process's stderr up to one containing `until`."""
    lines: list[str] = []
    selector = selectors.DefaultSelector()
    selector.register(process.stderr, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if selector.select(timeout=0.5):
            line = process.stderr.readline()
            lines.append(line.rstrip())
            if until in line:
                return lines
    raise AssertionError(f"{until!r} never logged; stderr so far:\n" + "\n".join(lines))


@needs_model
def test_node_command__rpc_down_at_start__waits_and_retries_then_runs_once_it_is_up(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "CLAIMS_ORACLE_RPC_URL": f"http://127.0.0.1:{port}",
        "CLAIMS_ORACLE_CONTRACT_ADDRESS": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
        "CLAIMS_ORACLE_DB_URL": f"sqlite:///{tmp_path / 'node.db'}",
        "CLAIMS_ORACLE_CONTENT_STORE_URL": f"file://{tmp_path / 'cas'}",
        "CLAIMS_ORACLE_STATE_DIR": str(tmp_path),
        "CLAIMS_ORACLE_MODEL_PATH": str(MODEL_PATH),
    }
    command = [sys.executable, "-m", "oracle.cli", "node", "--dev-account", "3"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        lines = read_lines(process, "retrying in 2 s", timeout=60)
        assert any("unavailable at start" in line and "retrying in 1 s" in line for line in lines)
        assert process.poll() is None and not any("Traceback" in line for line in lines)
        with dev_chain(port=port):
            lines += read_lines(process, " ready", timeout=90)  # signal handlers are set by then
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert not any("Traceback" in line for line in lines), "\n".join(lines)
