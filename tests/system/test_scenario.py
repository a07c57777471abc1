"""`lantern demo --scenario`: the scripted morning settles exactly as the script says."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.system


def test_the_morning_ends_with_every_incident_acknowledged_or_at_the_top(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "lantern.cli",
            "demo",
            "--scenario",
            "morning",
            "--json",
            "--workdir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    rows = {r["number"]: r for r in json.loads(result.stdout)["morning"]}
    assert len(rows) == 20
    assert {r["outcome"] for r in rows.values()} == {"acknowledged", "exhausted"}
    assert [n for n, r in rows.items() if r["outcome"] == "exhausted"] == [8, 16]
    assert all(r["escalations"][-1] == "ack_timeout->none" for n, r in rows.items() if n in (8, 16))
    assert rows[5]["escalations"][0] == "no_eligible_responder->sup-rowan"
    assert rows[6]["declined"] is True
    assert rows[6]["escalations"][0].startswith("declined->")
    for n in (3, 10, 14):  # acknowledged late, after an escalation
        assert rows[n]["escalations"][0].startswith("ack_timeout->")
        assert rows[n]["outcome"] == "acknowledged"
