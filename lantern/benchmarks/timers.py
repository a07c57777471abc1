"""Timer lateness with 10,000 pending deadlines (the due-timer read model and its ticker).

Builds 10,000 incident responses in dispatch's application on a SQLite file.
``--due`` of them (default 1,000) get acknowledgement deadlines spread over a
window a little in the future; the rest fall due hours later, so about 10,000
deadlines stay pending all through.  Then the real ticker runs on the system
clock.  Every due deadline fires an escalation (load, decide, commit) whose next
deadline is an hour away.  Lateness = when the escalation was committed minus
when the deadline fell due.  ``--due 10000`` measures a worst-case burst instead.

    python -m lantern.benchmarks.timers [--pending 10000] [--due 1000] [--window 30]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

from events.dispatch import AddResponderV1
from events.intake import IncidentReportedV1
from events.vocabulary import Category, ResponderRole, RiskLevel
from lantern.benchmarks.common import percentile, progress, write
from plumbing.domain import Trace
from plumbing.timers import Ticker
from services.dispatch.application import DispatchApplication
from services.dispatch.domain.policy import Policy

TRACE = Trace(actor="bench", correlation_id="bench", causation_id="bench")
ACK_S = 3600


def build(
    app: DispatchApplication, pending: int, due: int, window_s: float, lead_s: float
) -> datetime:
    """``due`` deadlines fall uniformly in [start, start + window); the rest hours later."""
    roster = [
        AddResponderV1(
            responder_id=f"co-{i}", name=f"C{i}", role=ResponderRole.COUNSELOR, schools=["s0"]
        )
        for i in range(20)
    ]
    app.enroll_responders(roster, trace=TRACE)
    start = datetime.now(UTC) + timedelta(seconds=lead_s)
    began = time.monotonic()
    batch = []
    for n in range(pending):
        if n < due:
            falls_due = start + timedelta(seconds=window_s * n / due)
        else:
            falls_due = start + timedelta(hours=3, seconds=n)
        reported_at = falls_due - timedelta(seconds=ACK_S)
        event = IncidentReportedV1(
            incident_id=uuid4(),
            school_id="s0",
            student_ref=f"s{n}",
            categories=[Category.OTHER],
            risk=RiskLevel.LOW,
            reported_at=reported_at,
        )
        batch.extend(app.on_intake_event(event, TRACE, at=reported_at))
        if len(batch) >= 500:
            app.record(*batch)
            batch.clear()
            progress("deadlines created", n + 1, pending, began)
    app.record(*batch)
    progress("deadlines created", pending, pending, began)
    return start


async def measure(
    app: DispatchApplication, pending: int, due: int, window_s: float
) -> dict[str, object]:
    app.timers.catch_up()
    assert app.timers.pending() >= pending, app.timers.pending()
    ticker = Ticker(app.timers, app.fire, interval_s=0.05, name="bench")
    stop = asyncio.Event()
    task = asyncio.create_task(ticker.run(lambda: not stop.is_set()))
    began = time.monotonic()
    while ticker.fired < due and time.monotonic() - began < window_s * 4 + 180:
        await asyncio.sleep(0.5)
        progress("deadlines fired", ticker.fired, due, began)
    stop.set()
    await task
    lateness_ms = [s * 1000 for s in ticker.lateness_s]
    return {
        "pending_deadlines": pending,
        "fired_in_window": due,
        "window_s": window_s,
        "fired": ticker.fired,
        "still_pending_after": app.timers.pending(),
        "lateness_ms_p50": round(percentile(lateness_ms, 50), 1),
        "lateness_ms_p99": round(percentile(lateness_ms, 99), 1),
        "lateness_ms_max": round(max(lateness_ms), 1) if lateness_ms else None,
        "tick_interval_ms": 50,
    }


def run(pending: int, due: int, window_s: float, lead_s: float) -> dict[str, Any]:
    """Build ``pending`` deadlines on a fresh SQLite file, then measure ``due`` of them firing.

    If the set-up overruns ``lead_s`` the lateness includes the overrun; the figure
    ``setup_overran_s`` says by how much (0 when it did not).
    """
    directory = Path(tempfile.mkdtemp(prefix="lantern-timers-"))
    policy = Policy(
        ack_deadline_s={"imminent": ACK_S, "high": ACK_S, "moderate": ACK_S, "low": ACK_S},
        repeat_limit=100,
    )
    app = DispatchApplication(
        env={
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(directory / "dispatch.sqlite"),
        },
        policy=policy,
    )
    try:
        started = time.monotonic()
        first_due = build(app, pending, due, window_s, lead_s=lead_s)
        setup_s = time.monotonic() - started
        early = (first_due - datetime.now(UTC)).total_seconds()
        print(f"{pending} deadlines pending; the first falls due in {early:.1f} s", file=sys.stderr)
        figures: dict[str, Any] = asyncio.run(measure(app, pending, due, window_s))
    finally:
        app.close()
    figures["setup_s"] = round(setup_s, 1)
    figures["setup_overran_s"] = round(max(0.0, -early), 1)
    figures["store"] = "sqlite (file)"
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pending", type=int, default=10_000)
    parser.add_argument("--due", type=int, default=1_000)
    parser.add_argument("--window", type=float, default=30.0)
    parser.add_argument(
        "--lead",
        type=float,
        default=60.0,
        help="seconds from now to the first deadline (covers the set-up)",
    )
    args = parser.parse_args()
    figures = run(args.pending, args.due, args.window, args.lead)
    if figures["setup_overran_s"]:
        print("set-up overran the lead; raise --lead", file=sys.stderr)
        return 1
    write("timers", figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
