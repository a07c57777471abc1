"""Given: a recorded dispatch history, written step by step as dispatch records it.

For the what-if specifications.  The roster and each incident's response are
the real domain aggregates, and each decision is taken by the same steps the
service takes (``services.dispatch.whatif.decisions``), with the loads of the
given's own open dispatches.  Times are passed in; roster changes are stamped
with the time they are recorded.  ``history()`` folds the events in the order
they were given, as they would come out of the store.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from plumbing.domain import Trace
from services.dispatch.domain import decisions
from services.dispatch.domain.decisions import Known
from services.dispatch.domain.policy import Policy
from services.dispatch.domain.response import IncidentResponse
from services.dispatch.domain.roster import Responder, Roster
from services.dispatch.whatif.history import History, fold, open_dispatches, pending
from tests.dispatch.roster_fixtures import responder
from tests.support import NOW

TRACE = Trace(actor="given", correlation_id="given", causation_id="given")
T0 = NOW
S = timedelta(seconds=1)
HIGH_300 = Policy(
    version="recorded",
    ack_deadline_s={"imminent": 120, "high": 300, "moderate": 900, "low": 3600},
    on_scene_deadline_s={"imminent": 0, "high": 0, "moderate": 0, "low": 0},
    chain=("next_responder", "supervisor", "district_crisis_lead"),
    repeat_limit=0,
)


def district() -> list[Responder]:
    """Two counselors, the school's supervisor and the district crisis lead, all on call."""
    return [
        responder("co-a"),
        responder("co-b"),
        responder("sup-d", "supervisor"),
        responder("dcl-e", "district_crisis_lead", schools=()),
    ]


@dataclass(frozen=True)
class Report:
    """What dispatch learns from intake's report (the fields the response pins)."""

    incident_id: UUID
    school_id: str
    risk: str
    reported_at: datetime
    student_ref: str = "stu-1"
    categories: tuple[str, ...] = ("acute_distress",)
    language: str = ""
    immediate_danger: bool = False


def incident_id(name: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"lantern:test:whatif:{name}")


class Given:
    def __init__(self, policy: Policy = HIGH_300, responders: list[Responder] | None = None):
        self.policy = policy
        self.rows: list[tuple[int, Any]] = []
        self.roster = Roster.open(TRACE)
        self.roster.collect_events()
        self.responses: dict[str, IncidentResponse] = {}
        for r in district() if responders is None else responders:
            self.roster.enroll(r, TRACE)
        self._record(self.roster, stamp=T0 - timedelta(days=1))

    # -- the roster ----------------------------------------------------------------------------
    def off_call(self, who: str, start: datetime, end: datetime, *, recorded: datetime) -> None:
        self.roster.override(who, start, end, False, "sick", TRACE)
        self._record(self.roster, stamp=recorded)

    # -- incidents -----------------------------------------------------------------------------
    def report(self, name: str, at: datetime, *, risk: str = "high", school: str = "s0") -> None:
        """Reported at ``at`` and taken up by dispatch at once."""
        report = Report(incident_id(name), school, risk, at)
        self.responses[name] = decisions.open_response(
            report, self.policy, at=at, **self._board(), trace=TRACE
        )
        self._record(self.responses[name])

    def ack(self, name: str, who: str, at: datetime) -> None:
        response = self.responses[name]
        response.acknowledge(self._dispatch(name, who), who, at=at, trace=TRACE)
        self._record(response)

    def decline(self, name: str, who: str, at: datetime) -> None:
        response = self.responses[name]
        dispatch = self._dispatch(name, who)
        decisions.decline(response, dispatch, who, "busy", at=at, **self._board(), trace=TRACE)
        self._record(response)

    def status(self, name: str, who: str, status: str, at: datetime) -> None:
        response = self.responses[name]
        response.report_status(
            self._dispatch(name, who), who, status, handed_off_to="", note="", at=at, trace=TRACE
        )
        self._record(response)

    def deadlines(self, name: str, at: datetime) -> None:
        """The ticker comes round at ``at`` and fires what is due."""
        response = self.responses[name]
        for dispatch_id, kind, due in sorted(pending(response), key=lambda d: d[2]):
            if due <= at:
                decisions.fire(
                    response, dispatch_id, kind, due, now=at, **self._board(), trace=TRACE
                )
        self._record(response)

    def history(self) -> History:
        return fold(self.rows)

    # -- helpers -----------------------------------------------------------------------------
    def _board(self) -> dict[str, Any]:
        loads: Counter[str] = Counter()
        for response in self.responses.values():
            loads.update(open_dispatches(response))
        return {"staff": Known(list(self.roster.responders.values()), loads)}

    def _dispatch(self, name: str, who: str) -> UUID:
        response = self.responses[name]
        return next(
            d for d in reversed(response.order) if response.dispatches[d].responder_id == who
        )

    def _record(self, aggregate: Any, stamp: datetime | None = None) -> None:
        for event in aggregate.collect_events():
            if stamp is not None:
                event = replace(event, timestamp=stamp)
            self.rows.append((len(self.rows) + 1, event))
