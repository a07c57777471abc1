"""The issue's targets, each checked against a run's figures: measured, target, met.

Nothing here is a result: every ``met`` is a comparison of a figure measured in
the run (or its ratio to a raw layer measured in the same run) with its target.
A figure that is missing or not a number is ``met: false``.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

#: (name, what, how to get the measured figure, comparison, target, unit)
TARGETS: list[tuple[str, str, Callable[[dict[str, Any]], Any], str, float, str]] = [
    (
        "report_to_assigned_p50_to_floor",
        "report→assigned p50 at 100/s, as a multiple of the raw floor",
        lambda r: r["report_to_assigned"]["ratio_p50_to_floor"],
        "<=",
        3,
        "x",
    ),
    (
        "report_to_assigned_p99_ms_at_100",
        "report→assigned p99 at 100 reports/s",
        lambda r: _at_rate(r, 100)["latency_ms_p99"],
        "<=",
        25,
        "ms",
    ),
    (
        "lifecycle_per_s",
        "full lifecycles sustained",
        lambda r: r["lifecycle_per_s"],
        ">=",
        200,
        "/s",
    ),
    (
        "rebuild_to_raw_read",
        "read model rebuilt from scratch, as a share of the raw notification read rate",
        lambda r: r["rebuild_events_per_s"] / r["rebuild"]["raw_read_per_s"],
        ">=",
        0.5,
        "x",
    ),
    (
        "restart_to_ready_s",
        "restart to ready with the store's events (see restart.events_stored)",
        lambda r: r["restart_to_ready_s"],
        "<=",
        5,
        "s",
    ),
    (
        "timer_lateness_p99_ms",
        "timer lateness p99 with pending deadlines",
        lambda r: r["timer_lateness_p99_ms"],
        "<=",
        1000,
        "ms",
    ),
    (
        "timeline_p99_ratio",
        "timeline p99, larger store over smaller",
        lambda r: r["timeline"]["p99_ratio"],
        "<=",
        1.5,
        "x",
    ),
    (
        "rss_mb_max",
        "largest resident memory of any service",
        lambda r: max([*r["rss_mb"].values(), r["restart"]["rss_mb"]]),
        "<=",
        200,
        "MB",
    ),
    (
        "dispatch_drain_per_s",
        "dispatch draining a backlog",
        lambda r: r["drain_per_s"]["dispatch"],
        ">=",
        1500,
        "/s",
    ),
    (
        "records_drain_per_s",
        "records draining a backlog",
        lambda r: r["drain_per_s"]["records"],
        ">=",
        3000,
        "/s",
    ),
]

COMPARE = {"<=": operator.le, ">=": operator.ge}


def _at_rate(result: dict[str, Any], rate: int) -> dict[str, Any]:
    for point in result["report_to_assigned"]["curve"]:
        if point["rate_per_s"] == rate:
            found: dict[str, Any] = point
            return found
    raise KeyError(rate)


def verdicts(result: dict[str, Any]) -> list[dict[str, Any]]:
    checked = []
    for name, what, get, op, target, unit in TARGETS:
        try:
            measured = get(result)
        except (KeyError, TypeError, ValueError, ZeroDivisionError):
            measured = None
        number = isinstance(measured, int | float) and not math.isnan(measured)
        checked.append(
            {
                "name": name,
                "what": what,
                "measured": round(float(measured), 3) if number else None,
                "target": f"{op} {target:g}",
                "unit": unit,
                "met": bool(number and COMPARE[op](measured, target)),
            }
        )
    return checked
