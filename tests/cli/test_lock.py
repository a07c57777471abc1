"""One holder per data directory; a lock left by a dead holder is recognised and replaced."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lantern.lock import LOCK_FILE, DataDirLock, Locked, holder


def test_a_second_holder_is_refused_and_told_who_holds_it(tmp_path: Path) -> None:
    with DataDirLock(tmp_path, "lantern up"):
        other = DataDirLock(tmp_path, "lantern up")
        with pytest.raises(Locked) as refused:
            other.acquire()
        assert refused.value.holder is not None
        assert refused.value.holder.command == "lantern up"
        assert f"pid {refused.value.holder.pid}" in str(refused.value)
        assert holder(tmp_path) == refused.value.holder
    assert holder(tmp_path) is None  # released on exit


def test_a_lock_held_by_another_process_is_seen_and_freed_when_it_dies(tmp_path: Path) -> None:
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from lantern.lock import DataDirLock;"
            f"held = DataDirLock(Path({str(tmp_path)!r}), 'lantern up').acquire();"
            "print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "held"
        found = holder(tmp_path)
        assert found is not None
        assert found.pid == child.pid
        with pytest.raises(Locked):
            DataDirLock(tmp_path, "lantern up").acquire()
    finally:
        child.kill()  # a crash: no chance to release
        child.wait()
    assert holder(tmp_path) is None
    taken = DataDirLock(tmp_path, "lantern up").acquire()
    assert taken.stale is not None
    assert taken.stale.pid == child.pid
    taken.release()


def test_a_clean_release_leaves_no_stale_record(tmp_path: Path) -> None:
    DataDirLock(tmp_path, "lantern up").acquire().release()
    again = DataDirLock(tmp_path, "lantern up").acquire()
    assert again.stale is None
    record = json.loads((tmp_path / LOCK_FILE).read_text())
    assert record["command"] == "lantern up"
    again.release()
