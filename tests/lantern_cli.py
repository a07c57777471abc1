"""Driving the real `lantern` command from tests: run a sub-command, or a whole `lantern up`."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def lantern(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lantern.cli", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def as_json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@contextmanager
def running_system(data_dir: Path, *more: str) -> Iterator[Path]:
    """`lantern up --demo` the way the README starts it; Ctrl-C (SIGINT) stops it cleanly."""
    log = (data_dir / "up.log").open("w")
    up = subprocess.Popen(
        [sys.executable, "-m", "lantern.cli", "up", "--demo", "--data-dir", str(data_dir), *more],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while not (data_dir / "run.json").exists():
        assert up.poll() is None, (data_dir / "up.log").read_text()
        assert time.monotonic() < deadline, "lantern up did not become ready"
        time.sleep(0.1)
    yield data_dir
    up.send_signal(signal.SIGINT)
    assert up.wait(30) == 0
    assert not (data_dir / "run.json").exists()
