"""One ``lantern up`` per data directory: a lock file naming its holder.

Two systems on one data directory would share its SQLite files and its
JetStream store, and the second would delete the first one's ``run.json`` when
it stopped.  ``<data dir>/lantern.lock`` prevents that:

* it is held with ``flock`` for as long as the holder runs, so the operating
  system releases it when the holder dies, however it dies: a lock left behind
  by a crash is recognised as stale (no one holds it) and taken over, saying so;
* it records the holder's PID, command and start time, so a refusal names them.

``lantern audit verify`` takes the same lock while it reads a stopped
system's embedded JetStream store, so ``up`` cannot start on it meanwhile.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

LOCK_FILE = "lantern.lock"


@dataclass(frozen=True)
class Holder:
    pid: int
    command: str
    since: str

    def describe(self) -> str:
        return f"pid {self.pid}, `{self.command}`, since {self.since}"


class Locked(Exception):
    """The data directory is in use by a running holder."""

    def __init__(self, path: Path, holder: Holder | None) -> None:
        who = holder.describe() if holder else "holder unknown"
        super().__init__(f"{path.parent} is in use by another Lantern ({who})")
        self.path = path
        self.holder = holder


def _read(handle: IO[str]) -> Holder | None:
    handle.seek(0)
    try:
        data: dict[str, Any] = json.loads(handle.read() or "{}")
        return Holder(int(data["pid"]), str(data["command"]), str(data["since"]))
    except (ValueError, KeyError, TypeError):
        return None


class DataDirLock:
    """Held from :meth:`acquire` until :meth:`release` (or the process ends)."""

    def __init__(self, data_dir: Path, command: str) -> None:
        self.path = data_dir / LOCK_FILE
        self.command = command
        self._handle: IO[str] | None = None
        self.stale: Holder | None = None  # a dead holder's record this lock replaced

    def acquire(self) -> DataDirLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(handle)
            handle.close()
            raise Locked(self.path, holder) from None
        self.stale = _read(handle)  # a record without a live lock: its holder died
        handle.seek(0)
        handle.truncate()
        record = {
            "pid": os.getpid(),
            "command": self.command,
            "since": datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
            "argv": sys.argv[1:],
        }
        handle.write(json.dumps(record))
        handle.flush()
        self._handle = handle
        return self

    def release(self) -> None:
        """Empty the record (a clean stop leaves no holder behind) and drop the lock.

        The file itself stays: unlinking it while another process waits on the old
        inode could leave two holders of two different files.
        """
        if self._handle is None:
            return
        with contextlib.suppress(OSError):
            self._handle.seek(0)
            self._handle.truncate()
            self._handle.flush()
        self._handle.close()  # closing drops the flock
        self._handle = None

    def __enter__(self) -> DataDirLock:
        return self.acquire()

    def __exit__(self, *_: object) -> None:
        self.release()


def holder(data_dir: Path) -> Holder | None:
    """Who holds the data directory now (None: nobody, even if a stale file is left)."""
    path = data_dir / LOCK_FILE
    if not path.exists():
        return None
    with path.open("r") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read(handle) or Holder(0, "unknown", "unknown")
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    return None
