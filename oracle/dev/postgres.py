"""A throwaway PostgreSQL cluster on loopback, for tests and benchmarks of several workers on one database."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from oracle.dev.devchain import free_port


class PostgresUnavailableError(RuntimeError):
    """This machine cannot run a throwaway PostgreSQL cluster (no server binaries, or no user to run them as)."""


def postgres_bin() -> Path | None:
    """The newest PostgreSQL server's bin directory under /usr/lib/postgresql (Debian's layout), or None."""
    found = [path.parent for path in Path("/usr/lib/postgresql").glob("*/bin/initdb")]
    return max(found, key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0, default=None)


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    """Run a new PostgreSQL cluster on a free loopback port (as the `postgres` OS user when run as root) for the
    duration of the block; yields its server URL (postgresql+psycopg://postgres@127.0.0.1:PORT)."""
    bindir = postgres_bin()
    if bindir is None:
        raise PostgresUnavailableError(
            "PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin (apt-get install -y postgresql)"
        )
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise PostgresUnavailableError(
                "running as root and there is no `postgres` OS user to run initdb as"
            ) from None
        as_postgres = ["runuser", "-u", "postgres", "--"]
    root = Path(tempfile.mkdtemp(prefix="claims-oracle-pg-"))
    if as_postgres:
        shutil.chown(root, "postgres", "postgres")
    data, port = root / "data", free_port()

    def run(*command) -> None:
        result = subprocess.run(
            [*as_postgres, *map(str, command)], capture_output=True, text=True, timeout=120, check=False
        )
        if result.returncode != 0:
            log = root / "server.log"
            raise RuntimeError(
                f"{Path(command[0]).name} failed ({result.returncode}): {result.stderr[-2000:]}"
                + (log.read_text()[-2000:] if log.is_file() else "")
            )

    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
    try:
        run(bindir / "initdb", "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
        run(bindir / "pg_ctl", "-D", data, "-l", root / "server.log", "-w", "-t", "60", "-o", options, "start")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(
            [*as_postgres, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
            check=False,
        )
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def new_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the server at `server_url`, dropped after the block; yields its URL."""
    name = f"node_{uuid.uuid4().hex[:16]}"
    admin = server_url.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server_url}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
