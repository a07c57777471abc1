"""``lantern bench`` end to end, at tiny sizes: every figure is there, with its target and verdict.

Given the whole suite run by the real command (``--quick`` with the test-only
size override, so it takes about a minute),
then bench.json holds every figure the issue asks for as a number, each target
with a ``met`` that agrees with its figure, the actual sizes measured, and
bench.md and the three plots are written.  No assertion is about speed.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lantern.benchmarks.report import PLOTS

pytestmark = [pytest.mark.system, pytest.mark.timeout(240)]

BENCH = [sys.executable, "-m", "lantern.cli", "bench"]
TINY = {
    "rate_seconds": 1,
    "lifecycles": 6,
    "lifecycle_concurrency": 3,
    "drain_reports": 60,
    "timer_pending": 100,
    "timer_due": 10,
    "timer_window_s": 1,
    "timeline_sizes": [50, 300],
    "timeline_queries": 50,
    "store_events": 4000,
    "history_incidents": 20,
    "raw_commits": 50,
    "raw_reads": 500,
}


def number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def test_bench_quick_writes_every_figure_with_its_target_and_verdict(tmp_path: Path) -> None:
    out = tmp_path / "results"
    # When the suite runs through the real command,
    done = subprocess.run(
        [*BENCH, "--quick", "--out", str(out), "--sizes", json.dumps(TINY)],
        capture_output=True,
        text=True,
        timeout=230,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((out / "bench.json").read_text())

    # then the raw layers and every headline figure are numbers,
    for key in (
        "raw_floor_ms",
        "raw_commit_per_s",
        "raw_read_per_s",
        "lifecycle_per_s",
        "rebuild_events_per_s",
        "restart_to_ready_s",
        "timer_lateness_p99_ms",
    ):
        assert number(result[key]), (key, result[key])
    rta = result["report_to_assigned"]
    for key in ("p50_ms", "p95_ms", "p99_ms", "rate_per_s", "ratio_p50_to_floor"):
        assert number(rta[key]), (key, rta[key])
    assert [p["rate_per_s"] for p in rta["curve"]] == [50, 100, 200, 400]
    assert all(number(p["latency_ms_p99"]) for p in rta["curve"])
    assert set(result["drain_per_s"]) == {"dispatch", "records"}
    assert all(number(v) for v in result["drain_per_s"].values())
    assert set(result["timeline_p99_ms"]) == {"50", "300"}
    assert all(number(v) for v in result["timeline_p99_ms"].values())
    assert set(result["rss_mb"]) >= {"intake", "dispatch", "followup", "records"}
    assert all(number(v) and v > 0 for v in result["rss_mb"].values())

    # and every lifecycle offered went from report to plan,
    assert result["lifecycle"]["completed"] == TINY["lifecycles"], result["lifecycle"]

    # the sizes say what was measured, smaller than the issue's,
    assert result["mode"] == "quick"
    assert result["sizes"]["reduced"] is True
    assert result["sizes"]["store_events_actual"] >= TINY["store_events"]
    assert result["restart"]["events_stored"] == result["sizes"]["store_events_actual"]

    # each target's verdict agrees with its measured figure,
    targets = {t["name"]: t for t in result["targets"]}
    assert len(targets) == 10
    for t in targets.values():
        assert number(t["measured"]), t
        op, bound = t["target"].split()
        expected = t["measured"] <= float(bound) if op == "<=" else t["measured"] >= float(bound)
        assert t["met"] is expected, t
    ratio = result["rebuild_events_per_s"] / result["rebuild"]["raw_read_per_s"]
    assert targets["rebuild_to_raw_read"]["measured"] == pytest.approx(ratio, abs=1e-3)

    # and the table and the plots are written.
    table = (out / "bench.md").read_text()
    assert "raw floor" in table
    assert all(t["what"] in table for t in targets.values())
    for plot in PLOTS:
        assert (out / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
