"""The bench's verdicts are comparisons of measured figures with the issue's targets."""

from __future__ import annotations

from typing import Any

from lantern.benchmarks.verdicts import verdicts


def figures(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "report_to_assigned": {
            "ratio_p50_to_floor": 2.5,
            "curve": [{"rate_per_s": 100, "latency_ms_p99": 30.0}],
        },
        "lifecycle_per_s": 250.0,
        "rebuild_events_per_s": 40_000.0,
        "raw_read_per_s": 200_000.0,  # the system's store; the rebuild is set beside its own
        "rebuild": {"raw_read_per_s": 100_000.0},
        "restart_to_ready_s": 1.0,
        "timer_lateness_p99_ms": 60.0,
        "timeline": {"p99_ratio": 1.1},
        "rss_mb": {"intake": 90.0, "dispatch": 120.0},
        "restart": {"rss_mb": 210.0},
        "drain_per_s": {"dispatch": 1600.0, "records": 2000.0},
    }
    return base | changes


def by_name(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in verdicts(result)}


def test_each_target_is_met_or_missed_by_its_figure() -> None:
    checked = by_name(figures())
    assert checked["report_to_assigned_p50_to_floor"]["met"] is True
    assert checked["report_to_assigned_p99_ms_at_100"]["met"] is False  # 30 ms > 25 ms
    assert checked["lifecycle_per_s"]["met"] is True
    assert checked["rebuild_to_raw_read"]["measured"] == 0.4
    assert checked["rebuild_to_raw_read"]["met"] is False  # 40 % of the raw read rate
    assert checked["rss_mb_max"]["measured"] == 210.0  # the largest of every service
    assert checked["rss_mb_max"]["met"] is False
    assert checked["dispatch_drain_per_s"]["met"] is True
    assert checked["records_drain_per_s"]["met"] is False


def test_a_missing_or_nan_figure_is_never_met() -> None:
    result = figures(lifecycle_per_s=float("nan"))
    del result["timeline"]
    checked = by_name(result)
    assert checked["lifecycle_per_s"] == {
        **checked["lifecycle_per_s"],
        "measured": None,
        "met": False,
    }
    assert checked["timeline_p99_ratio"]["met"] is False
