"""Specification: the exit status says what to do next.

2: fix the input; 3: the system cannot be reached or cannot do it now (no
system running, nothing listening, or a service answering 503), so try again;
1: anything else.  Each case is a real ``lantern`` process against a real HTTP
server standing in for intake.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from lantern import natsserver, runfile

pytestmark = pytest.mark.system  # real processes and a real HTTP server


def lantern(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lantern.cli", "--data-dir", str(data_dir), *args, "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def answering() -> Iterator[tuple[str, list[int]]]:
    """An HTTP server that answers every request with the status at the front of the list."""
    statuses: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status = statuses[0]
            body = json.dumps({"error": f"status {status}", "field": None}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", statuses
    server.shutdown()


def with_intake_at(data_dir: Path, url: str) -> Path:
    runfile.write(data_dir, {"services": {"intake": url}, "prefix": "lantern"})
    return data_dir


def test_no_running_system_is_3(tmp_path: Path) -> None:
    result = lantern(tmp_path, "schools")
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr


def test_nothing_listening_is_3(tmp_path: Path) -> None:
    port = natsserver.free_port()
    result = lantern(with_intake_at(tmp_path, f"http://127.0.0.1:{port}"), "schools")
    assert result.returncode == 3, result.stderr


@pytest.mark.parametrize(("status", "code"), [(503, 3), (400, 2), (500, 1), (404, 1)])
def test_a_service_answer_maps_to_what_to_do_next(
    tmp_path: Path, answering: tuple[str, list[int]], status: int, code: int
) -> None:
    url, statuses = answering
    statuses.append(status)
    result = lantern(with_intake_at(tmp_path, url), "schools")
    assert result.returncode == code, result.stderr
    assert json.loads(result.stderr)["error"] == f"status {status}"
