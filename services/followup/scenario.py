"""A scripted follow-up month, run in accelerated time (``lantern followup-demo``).

The follow-up application and its timer ticker run on the in-memory store
with a simulated clock that advances an hour per step, so 35 days take well
under a second.  Dispatch's status events are fed in as the consumer would
feed them.  The script below is the whole story; its hand count is in the
docstring of :data:`SCRIPT`, and a test checks the report against it.
All data is synthetic.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from events import followup as f
from events.dispatch import DispatchStatusChangedV1, ResponderEnrolledV1
from events.vocabulary import ResponderRole, RiskLevel
from plumbing.domain import Trace
from plumbing.timers import Ticker
from services.followup.application import FollowupApplication
from services.followup.domain.ids import plan_id_for

START = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)
OFFSETS = {"24h": D, "72h": 3 * D, "7d": 7 * D, "30d": 30 * D}


@dataclass(frozen=True)
class Incident:
    name: str
    school: str
    risk: str
    status: str
    at: datetime
    owner: str

    @property
    def incident_id(self) -> UUID:
        return uuid5(NAMESPACE_URL, f"lantern:demo:followup:{self.name}")


INCIDENTS = {
    "A": Incident("A", "birch-hs", "high", "resolved", START, "co-quinn"),
    "B": Incident("B", "alder-hs", "imminent", "stabilized", START + D, "co-morgan"),
    "C": Incident("C", "birch-hs", "moderate", "handed_off", START + 2 * D, "sw-casey"),
    "D": Incident("D", "alder-hs", "low", "resolved", START + 3 * D, "co-morgan"),
}

#: (incident, slot, action, hours after the slot's original due time[, extra hours]).
#:
#: Hand count with the default protocol (grace 12 h: on time = completed by due + 12 h):
#:   24h: A +2 on time, B +11 on time                                   -> 2 of 2
#:   72h: A +20 late, B +0 on time, C +13 late                          -> 1 of 3
#:   7d:  A no-show, rescheduled, done +30 late; B +6, C (rescheduled
#:        to +6) done +8, D +1 on time                                  -> 3 of 4
#:   30d: A -3 (early) on time; B never done, late                      -> 1 of 2
#: Supervisor notified of overdue check-ins: A 72h, C 72h, B 30d        -> 3
SCRIPT: list[tuple[str, str, str, float, float]] = [
    ("A", "24h", "complete", 2, 0),
    ("A", "72h", "complete", 20, 0),
    ("A", "7d", "no_show", 1, 0),
    ("A", "7d", "reschedule", 1, 30),  # to due + 30 h
    ("A", "7d", "complete", 30, 0),
    ("A", "30d", "complete", -3, 0),
    ("B", "24h", "complete", 11, 0),
    ("B", "72h", "complete", 0, 0),
    ("B", "7d", "complete", 6, 0),
    ("C", "72h", "complete", 13, 0),
    ("C", "7d", "reschedule", 0, 6),  # to due + 6 h
    ("C", "7d", "complete", 8, 0),
    ("D", "7d", "complete", 1, 0),
]

HAND_COUNT = {"24h": (2, 2), "72h": (1, 3), "7d": (3, 4), "30d": (1, 2)}
HAND_OVERDUE_NOTICES = 3


class SimulatedClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _trace(actor: str) -> Trace:
    return Trace(actor=actor, correlation_id="demo-followup", causation_id="demo-script")


def _steps() -> list[tuple[datetime, str, str, str, float]]:
    """The script as (when, incident, slot, action, extra hours), in time order."""
    timed = [
        (INCIDENTS[i].at + OFFSETS[slot] + hours * H, i, slot, action, extra)
        for i, slot, action, hours, extra in SCRIPT
    ]
    return sorted(timed, key=lambda t: t[0])


def _open_checkin(app: FollowupApplication, incident: Incident, slot: str) -> UUID:
    plan = app.plan_view(plan_id_for(incident.incident_id))
    live = [
        c
        for c in plan["checkins"]
        if c["slot"] == slot and c["state"] not in ("completed", "rescheduled")
    ]
    return UUID(live[-1]["checkin_id"])


def _act(
    app: FollowupApplication, when: datetime, name: str, slot: str, action: str, extra: float
) -> None:
    incident = INCIDENTS[name]
    checkin_id = _open_checkin(app, incident, slot)
    trace = _trace(incident.owner)
    if action == "complete":
        app.complete_checkin(
            f.CompleteCheckinV1(
                checkin_id=checkin_id, by=incident.owner, outcome=f.CheckinOutcome.STABLE
            ),
            at=when,
            trace=trace,
        )
    elif action == "no_show":
        app.no_show(
            f.NoShowCheckinV1(checkin_id=checkin_id, by=incident.owner), at=when, trace=trace
        )
    else:
        due = incident.at + OFFSETS[slot]
        app.reschedule(
            f.RescheduleCheckinV1(
                checkin_id=checkin_id, by=incident.owner, to=due + extra * H, reason="student away"
            ),
            at=when,
            trace=trace,
        )


def _open_plans(app: FollowupApplication, now: datetime, opened: set[str]) -> None:
    for incident in INCIDENTS.values():
        if incident.name in opened or incident.at > now:
            continue
        event = DispatchStatusChangedV1(
            incident_id=incident.incident_id,
            dispatch_id=uuid5(incident.incident_id, "d"),
            responder_id=incident.owner,
            school_id=incident.school,
            student_ref=f"demo-stu-{incident.name.lower()}",
            risk=RiskLevel(incident.risk),
            status=incident.status,
            at=incident.at,
        )
        app.record(*app.on_dispatch_event(event, _trace("service:dispatch")))
        opened.add(incident.name)


async def _run(app: FollowupApplication, clock: SimulatedClock, days: int) -> None:
    supervisor = ResponderEnrolledV1(
        responder_id="sup-rowan",
        role=ResponderRole.SUPERVISOR,
        schools=["birch-hs", "alder-hs"],
        available=True,
    )
    app.record(*app.on_dispatch_event(supervisor, _trace("service:dispatch")))
    ticker = Ticker(app.timers, app.fire, clock=clock, name="demo")
    steps, opened = _steps(), set[str]()
    end = START + days * D
    while clock.now <= end:
        _open_plans(app, clock.now, opened)
        while steps and steps[0][0] <= clock.now:
            when, name, slot, action, extra = steps.pop(0)
            clock.now = when
            _act(app, when, name, slot, action, extra)
        await ticker.tick()
        clock.now = min(clock.now.replace(minute=0, second=0) + H, end + H)


def run_month(days: int = 35) -> dict[str, Any]:
    """Run the script; return the measures, the notices and a printable report."""
    app = FollowupApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    try:
        clock = SimulatedClock(START)
        asyncio.run(_run(app, clock, days))
        measures = app.measures(f.ShowMeasuresV1(), as_of=clock.now)
        overdue = [
            e.notified
            for _, e in app.domain_events_after(0, 100_000)
            if type(e).__name__ == "CheckinBecameOverdue"
        ]
        rates = {
            slot: {"on_time": c["on_time"], "counted": c["counted"], "rate": c["rate"]}
            for slot, c in measures["total"]["checkins"].items()
        }
        return {
            "start": START.isoformat(),
            "end": clock.now.isoformat(),
            "plans": measures["total"]["plans"],
            "on_time": rates,
            "overdue_notices": len(overdue),
            "overdue_notified": sorted(set(overdue)),
            "measures": measures,
            "text": _text(rates, len(overdue)),
        }
    finally:
        app.close()


def _text(rates: dict[str, dict[str, Any]], overdue: int) -> str:
    lines = ["Follow-up month (synthetic, accelerated): on-time check-in completion", ""]
    for slot in ("24h", "72h", "7d", "30d"):
        r = rates.get(slot, {"on_time": 0, "counted": 0, "rate": None})
        pct = "-" if r["rate"] is None else f"{r['rate']:.0%}"
        lines.append(f"  {slot:<4} {r['on_time']} of {r['counted']} on time  ({pct})")
    lines.append("")
    lines.append(f"  supervisor notified of {overdue} overdue check-ins")
    return "\n".join(lines)
