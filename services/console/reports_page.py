"""Reports: time to assign, acknowledge and reach the student, and follow-up completion.

Per school and period, from records' ``show_response_measures`` and
follow-up's ``show_measures`` (both decide who may see which school: a
supervisor asks for each of their schools; compliance and administrators see
the district).  Charts are inline SVG (``services.console.charts``); the same
figures download as CSV.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from events.subjects import FOLLOWUP, RECORDS
from plumbing.access.auth import Role
from services.console import charts
from services.console.web import Visit, page

READERS = frozenset({Role.SUPERVISOR, Role.COMPLIANCE, Role.ADMIN})
PERIOD = re.compile(r"^\d{4}-\d{2}$")
DURATIONS = (
    ("to_assign_s", "Time to assign"),
    ("to_acknowledge_s", "Time to acknowledge"),
    ("to_with_student_s", "Time to reach the student"),
)


async def figures(visit: Visit, period: str | None) -> list[dict[str, Any]]:
    """One row per school: medians and 90th percentiles, and check-in completion."""
    base: dict[str, Any] = {"period": period} if period else {}
    schools: list[str | None] = (
        list(visit.person.schools) if visit.person.role is Role.SUPERVISOR else [None]
    )
    per_school: dict[str, dict[str, Any]] = {}
    for school in schools:
        q = {**base, **({"school_id": school} if school else {})}
        response = await visit.call(RECORDS, "show_response_measures", q)
        follow = await visit.call(FOLLOWUP, "show_measures", q)
        summary = response.body.get("summary", {}) if response.ok else {}
        for sid, stats in summary.get("by_school", {}).items():
            row = per_school.setdefault(sid, {"school_id": sid})
            row["incidents"] = stats.get("incidents", 0)
            row["escalated"] = stats.get("escalated_incidents", 0)
            for key, _ in DURATIONS:
                row[f"{key}_median"] = (stats.get(key) or {}).get("median")
                row[f"{key}_p90"] = (stats.get(key) or {}).get("p90")
        for group in follow.body.get("groups", []) if follow.ok else []:
            row = per_school.setdefault(group["school_id"], {"school_id": group["school_id"]})
            counted = sum(c["counted"] for c in group["checkins"].values())
            on_time = sum(c["on_time"] for c in group["checkins"].values())
            row["checkins_counted"] = row.get("checkins_counted", 0) + counted
            row["checkins_on_time"] = row.get("checkins_on_time", 0) + on_time
    for row in per_school.values():
        counted = row.get("checkins_counted", 0)
        row["followup_rate"] = row.get("checkins_on_time", 0) / counted if counted else None
    return [per_school[k] for k in sorted(per_school)]


def _period(request: Request) -> str | None:
    value = request.query_params.get("period", "")
    return value if PERIOD.match(value) else None


@page(*READERS, what="reports")
async def show(request: Request, visit: Visit) -> Response:
    period = _period(request)
    rows = await figures(visit, period)
    times = charts.bars(
        "Median response times by school",
        [(r["school_id"], [r.get(f"{k}_median") for k, _ in DURATIONS]) for r in rows],
        [label for _, label in DURATIONS],
    )
    followup = charts.bars(
        "Check-ins completed on time by school",
        [(r["school_id"], [r.get("followup_rate")]) for r in rows],
        ["On-time check-ins"],
        fmt="percent",
    )
    return visit.render(
        "reports.html",
        rows=rows,
        period=period or "",
        times_chart=times,
        followup_chart=followup,
        durations=DURATIONS,
        duration=charts.duration,
        percent=charts.percent,
    )


@page(*READERS, what="reports")
async def download(request: Request, visit: Visit) -> Response:
    period = _period(request)
    rows = await figures(visit, period)
    out = io.StringIO()
    columns = ["school_id", "period", "incidents", "escalated"]
    columns += [f"{k}_{s}" for k, _ in DURATIONS for s in ("median", "p90")]
    columns += ["checkins_counted", "checkins_on_time", "followup_rate"]
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "period": period or "all"})
    name = f"lantern-measures-{period or 'all'}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


routes = [
    Route("/reports", show, methods=["GET"]),
    Route("/reports.csv", download, methods=["GET"]),
]
