"""A local anvil node for the demo and the tests: start it, wait for it, stop it."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass

from web3 import Web3

from oracle.domain import DEV_MNEMONIC, REPO_ROOT

NPM_ANVIL = REPO_ROOT / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"


def anvil_binary() -> str:
    """The anvil executable: the project's npm copy, else one on PATH."""
    if NPM_ANVIL.is_file():
        return str(NPM_ANVIL)
    found = shutil.which("anvil")
    if not found:
        raise FileNotFoundError(f"anvil not found at {NPM_ANVIL} nor on PATH: run `make setup` (npm ci)")
    return found


def free_port() -> int:
    """A TCP port on the loopback interface nobody is listening on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class DevChain:
    """A running anvil node and a web3 connection to it."""

    process: subprocess.Popen[bytes]
    url: str
    w3: Web3

    @property
    def accounts(self) -> list[str]:
        """The node's unlocked dev accounts."""
        return list(self.w3.eth.accounts)


@contextmanager
def dev_chain(port: int | None = None, timestamp: int | None = None, accounts: int = 20, block_time: int | None = None):
    """Run anvil on loopback for the duration of the block (genesis at `timestamp` if given)."""
    port = port or free_port()
    command = [
        anvil_binary(),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--accounts",
        str(accounts),
        "--mnemonic",
        DEV_MNEMONIC,
        "--silent",
    ]
    if timestamp is not None:
        command += ["--timestamp", str(timestamp)]
    if block_time is not None:
        command += ["--block-time", str(block_time)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 30}))
        deadline = time.monotonic() + 20
        while not w3.is_connected():
            if process.poll() is not None:
                stderr = process.stderr.read().decode() if process.stderr is not None else ""
                raise RuntimeError(f"anvil exited with {process.returncode}: {stderr[-500:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"anvil did not answer on {url} within 20 s")
            time.sleep(0.05)
        yield DevChain(process=process, url=url, w3=w3)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
