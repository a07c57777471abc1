"""Services as real OS processes (``lantern serve``), for tests that kill them with SIGKILL.

The harness runs services in the test's event loop; a SIGKILL needs a process of
its own.  Each served process gets the harness's store, NATS, prefix, secret and
configuration through the environment, exactly as ``lantern up`` passes them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from lantern.natsserver import free_port
from tests.harness import Harness, Running, eventually


@dataclass
class Served:
    service: str
    env: dict[str, str]
    log: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "lantern.cli",
                    "serve",
                    self.service,
                    "--http-port",
                    str(self.port),
                ],
                env=self.env,
                stdout=log,
                stderr=log,
            )

    async def ready(self, timeout: float = 45) -> None:
        async def up() -> bool:
            try:
                async with httpx.AsyncClient() as client:
                    return (await client.get(f"{self.url}/healthz")).status_code == 200
            except httpx.HTTPError:
                return False

        await eventually(up, timeout)

    async def readyz(self) -> dict[str, object]:
        async with httpx.AsyncClient(timeout=5) as client:
            body: dict[str, object] = (await client.get(f"{self.url}/readyz")).json()
        return body

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill9()


def serve(harness: Harness, service: str, name: str = "", nats_url: str = "") -> Served:
    """``nats_url``: this process's own (a service's user on a cluster); the harness's else."""
    store = harness.store
    env = {
        **os.environ,
        "LANTERN_NATS_URL": nats_url or harness.nats_url,
        "LANTERN_PREFIX": harness.subjects.prefix,
        "LANTERN_PARTITIONS": str(harness.subjects.partitions),
        "LANTERN_DATA_DIR": store["data_dir"],
        "LANTERN_STORE": store["store"],
        "LANTERN_POSTGRES_DSN": store.get("postgres_dsn", ""),
        "LANTERN_POSTGRES_SCHEMA": store.get("postgres_schema", ""),
        "LANTERN_CONFIG": harness.config_file,
        "LANTERN_JWKS": str(harness.jwks_path()),
    }
    served = Served(service, env, Path(store["data_dir"]) / f"{name or service}.log")
    served.start()
    return served


def route(harness: Harness, service: str, served: Served) -> None:
    """Let ``harness.call`` reach a served process."""
    harness.running[service] = Running(None, None, None, served.url)  # type: ignore[arg-type]
