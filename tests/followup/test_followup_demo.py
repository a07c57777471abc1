"""The follow-up demo month: its report matches a hand count of its script.

Given the scripted month (four incidents, thirteen scripted actions),
when it runs in accelerated time,
then the on-time rates and the overdue notices are what counting the script by hand gives.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from services.followup.scenario import run_month

pytestmark = pytest.mark.application

#: Counted by hand from ``services/followup/scenario.py``'s SCRIPT (see its comment).
ON_TIME_BY_HAND = {
    "24h": {"on_time": 2, "counted": 2, "rate": 1.0},
    "72h": {"on_time": 1, "counted": 3, "rate": 0.3333},
    "7d": {"on_time": 3, "counted": 4, "rate": 0.75},
    "30d": {"on_time": 1, "counted": 2, "rate": 0.5},
}


def test_the_demo_month_report_matches_the_hand_count() -> None:
    report = run_month()

    assert report["on_time"] == ON_TIME_BY_HAND
    assert report["overdue_notices"] == 3
    assert report["overdue_notified"] == ["sup-rowan"]
    assert "72h  1 of 3 on time  (33%)" in report["text"]


def test_lantern_followup_demo_prints_the_same_report_as_json() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "lantern.cli", "followup-demo", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["on_time"] == ON_TIME_BY_HAND
