"""A PostgreSQL cluster of the test's own, so outage tests can stop it (the shared server stays up).

``initdb`` and ``pg_ctl`` refuse to run as root, so the cluster belongs to the
``postgres`` user, in a directory of its own that it can reach.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from lantern.natsserver import free_port


def _as_postgres(*argv: str) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *argv]
    return list(argv)


def available() -> bool:
    return shutil.which("initdb") is not None or Path("/usr/lib/postgresql").exists()


def _bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    return str(versions[-1] / name)


@dataclass
class OwnPostgres:
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="lantern-pg-")))
    port: int = field(default_factory=free_port)

    @property
    def data(self) -> Path:
        return self.root / "pg"

    @property
    def dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"

    def init(self) -> None:
        self.root.chmod(0o755)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        subprocess.run(
            _as_postgres(_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"),
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            _as_postgres(
                _bin("pg_ctl"),
                "-D",
                str(self.data),
                "-o",
                options,
                "-l",
                str(self.root / "log"),
                "-w",
                "start",
            ),
            check=True,
            capture_output=True,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with psycopg.connect(self.dsn, connect_timeout=1):
                    return
            except psycopg.OperationalError:
                time.sleep(0.1)
        raise RuntimeError("own PostgreSQL did not accept connections")

    def stop(self, mode: str = "fast") -> None:
        subprocess.run(
            _as_postgres(_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"),
            check=False,
            capture_output=True,
        )

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def own_postgres_store(data_dir: Path) -> Iterator[dict[str, str]]:
    """A PostgreSQL cluster of the test's own (it may be stopped and restarted), with a fresh
    schema: the store settings a harness takes, plus ``_pg``/``_pg_port`` to find it again."""
    pg = OwnPostgres()
    pg.init()
    pg.start()
    schema = f"lt_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg.dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield {
            "store": "postgres",
            "data_dir": str(data_dir),
            "postgres_dsn": pg.dsn,
            "postgres_schema": schema,
            "_pg": str(pg.root),
            "_pg_port": str(pg.port),
        }
    finally:
        pg.remove()
