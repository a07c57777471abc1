"""The replay: the period's incidents through dispatch's decisions, on one simulated clock.

Who is least loaded depends on every open dispatch in the district, so
incidents cannot be replayed one at a time: the replay is one discrete-event
simulation of the whole district, in time order.  What it takes from the
record, at the recorded times:

* reports reaching dispatch (when dispatch took each one up);
* roster changes, at the time they were *recorded*: each decision sees the
  roster as it was known then, never a correction recorded later;
* what intake said later (risk changes, cancellations, closures);
* the responders' answers, reused or modelled (see :mod:`.behaviour`);
* incidents outside the period keep their recorded course: they only weigh on
  responders' loads.

What it decides itself, under the what-if policy (or, with ``policy=None``,
under each incident's own pinned policy): assignments, escalation steps,
deadlines and holds, through :mod:`.decisions` and the domain aggregate.  A
deadline fires when it falls due; where the record shows the live ticker
firing that very deadline, at the recorded instant (a few milliseconds late),
and where the record shows it overtaken by something that came a moment after
it fell due (before the ticker came round), right after that.

Every incident is played out to the end, even past the end of the record
(its chain and deadlines run out); what actually happened stops where the
record stops.  Nothing is written anywhere.
"""

from __future__ import annotations

import heapq
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from plumbing.domain import Conflict, Invalid, Trace
from services.dispatch.domain import decisions as steps
from services.dispatch.domain.decisions import Known
from services.dispatch.domain.policy import Policy
from services.dispatch.domain.response import IncidentResponse
from services.dispatch.domain.roster import Responder, RosterState
from services.dispatch.whatif import decisions, gc_pause
from services.dispatch.whatif.behaviour import SILENT, Answer, Behaviour, recorded_timeline
from services.dispatch.whatif.history import (
    History,
    IncidentRecord,
    Place,
    answerable,
    load_changes,
    open_dispatches,
)

R = IncidentResponse
ACTOR = "service:dispatch-whatif"
#: Ordering of things at one instant: recorded ones by notification id (2n), things that must
#: come right after a recorded one (2n + 1), then everything the replay made up itself.
MADE_UP = 1 << 62


@dataclass
class IncidentReplay:
    record: IncidentRecord
    events: list[Any] = field(default_factory=list)  # the replayed domain events, in order
    modelled: list[str] = field(default_factory=list)  # why, when anything was drawn

    @property
    def incident_id(self) -> UUID:
        return self.record.incident_id


@dataclass
class Replay:
    policy: Policy | None  # None: each incident under its own pinned policy
    since: datetime | None
    until: datetime | None
    seed: int
    incidents: dict[UUID, IncidentReplay]  # the period's incidents, every school
    end: datetime | None  # where the record ends
    seconds: float


def replay(
    history: History,
    policy: Policy | None = None,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    seed: int = 0,
) -> Replay:
    """Replay the incidents reported in [since, until) under ``policy`` (None: as pinned)."""
    started = time.perf_counter()
    with gc_pause.paused():
        engine = _Engine(history, policy, seed)
        incidents = engine.run(since, until)
    return Replay(
        policy=policy,
        since=since,
        until=until,
        seed=seed,
        incidents=incidents,
        end=history.end,
        seconds=time.perf_counter() - started,
    )


def roles(history: History) -> dict[str, str]:
    """Each responder's role, as the roster ends."""
    roster = RosterState()
    for _, event in history.roster:
        event.apply(roster)
    return {r.responder_id: r.role for r in roster.responders.values()}


class _Live:
    """One incident being replayed."""

    def __init__(self, record: IncidentRecord, replayed: IncidentReplay, trace: Trace) -> None:
        self.record = record
        self.replayed = replayed
        self.trace = trace
        self.response: Any = None
        self.timers: dict[tuple[UUID | None, str], datetime] = {}
        self.active: Counter[str] = Counter()


Action = Callable[[], None]


class _Engine:
    def __init__(self, history: History, policy: Policy | None, seed: int) -> None:
        self.history = history
        self.policy = decisions.pinned_once(policy) if policy is not None else None
        self.behaviour = Behaviour(history, roles(history), seed)
        self.loads: Counter[str] = Counter()
        self.roster = RosterState()
        self._responders: list[Responder] | None = None
        self.queue: list[tuple[datetime, int, int, Action]] = []
        self.counter = 0

    # -- the clock ---------------------------------------------------------------------------
    def run(self, since: datetime | None, until: datetime | None) -> dict[UUID, IncidentReplay]:
        replayed: dict[UUID, IncidentReplay] = {}
        recorded: list[tuple[datetime, int, Action]] = []
        for place, event in self.history.roster:
            recorded.append((place.at, 2 * place.position, self._roster_change(event)))
        for record in self.history.incidents.values():
            if _in_period(record, since, until):
                live = self._live(record)
                replayed[record.incident_id] = live.replayed
                received = record.received
                opened = 2 * record.opened_place.position
                recorded.append((received.at, opened, self._arrival(live, received.at)))
                for place, event in record.intake:
                    recorded.append((place.at, 2 * place.position, self._intake(live, event)))
            else:
                for place, changes in record.load_changes:
                    recorded.append((place.at, 2 * place.position, self._background(changes)))
        recorded.sort(key=lambda item: (item[0], item[1]))
        self._loop(recorded)
        return replayed

    def _loop(self, recorded: list[tuple[datetime, int, Action]]) -> None:
        queue, index, count = self.queue, 0, len(recorded)
        while index < count or queue:
            if index < count and (
                not queue or (recorded[index][0], recorded[index][1]) <= queue[0][:2]
            ):
                action = recorded[index][2]
                index += 1
            else:
                action = heapq.heappop(queue)[3]
            action()

    def _at(self, when: datetime, place: Place | None, action: Action, after: bool = False) -> None:
        """Schedule ``action`` at ``when``; at one instant, recorded things keep their order."""
        self.counter += 1
        order = 2 * place.position + int(after) if place is not None else MADE_UP
        heapq.heappush(self.queue, (when, order, self.counter, action))

    # -- what the record says happened ---------------------------------------------------------
    def _live(self, record: IncidentRecord) -> _Live:
        trace = Trace(ACTOR, record.opened.correlation_id, "whatif")
        return _Live(record, IncidentReplay(record), trace)

    def _roster_change(self, event: Any) -> Action:
        def apply() -> None:
            event.apply(self.roster)
            self._responders = None

        return apply

    def _background(self, changes: tuple[tuple[str, int], ...]) -> Action:
        def apply() -> None:
            for responder_id, change in changes:
                self.loads[responder_id] += change

        return apply

    def _arrival(self, live: _Live, at: datetime) -> Action:
        def arrive() -> None:
            record = live.record
            policy = self.policy or Policy.from_snapshot(record.opened.policy)
            live.response = steps.open_response(
                record.opened,
                policy,
                at=at,
                staff=Known(self.responders(), self.loads),
                trace=live.trace,
            )
            self._after(live, at)

        return arrive

    def _intake(self, live: _Live, event: Any) -> Action:
        def tell() -> None:
            response, trace = live.response, live.trace
            if isinstance(event, R.RiskChanged):
                response.change_risk(event.risk, at=event.at, trace=trace)
            elif isinstance(event, R.Cancelled):
                response.cancel(event.reason, at=event.at, trace=trace)
            else:
                response.close(at=event.at, trace=trace)
            self._after(live, event.at)

        return tell

    def responders(self) -> list[Responder]:
        if self._responders is None:
            self._responders = list(self.roster.responders.values())
        return self._responders

    # -- following the replayed response ---------------------------------------------------------
    def _after(self, live: _Live, at: datetime) -> None:
        """Take the command's new events: set their timers, ask for answers, update the loads."""
        for event in live.response.collect_events():
            live.replayed.events.append(event)
            self._follow(live, event)
        active = open_dispatches(live.response)
        for responder_id, change in load_changes(live.active, active):
            self.loads[responder_id] += change
        live.active = active

    def _follow(self, live: _Live, event: Any) -> None:
        """What dispatch's due-timer read model does with each event, plus asking for answers."""
        timers = live.timers
        if isinstance(event, R.PagingHeld):
            self._timer(live, None, "hold", event.until)
        elif isinstance(event, R.ResponderAssigned):
            _cancel(timers, "hold")
            self._timer(live, event.dispatch_id, "ack", event.ack_deadline)
            self._page(live, event.dispatch_id, event.responder_id, event.at)
        elif isinstance(event, R.Escalated):
            timers.clear()
            if event.dispatch_id is not None and event.ack_deadline is not None:
                self._timer(live, event.dispatch_id, "ack", event.ack_deadline)
                assert event.to_responder_id is not None
                self._page(live, event.dispatch_id, event.to_responder_id, event.at)
        elif isinstance(event, R.Acknowledged):
            timers.clear()
            if event.on_scene_deadline is not None:
                self._timer(live, event.dispatch_id, "on_scene", event.on_scene_deadline)
            self._field_work(live, event.dispatch_id, event.responder_id, event.at)
        elif isinstance(event, R.Declined):
            _cancel(timers, "ack")
        elif isinstance(event, R.StatusReported):
            if event.status != "en_route":
                _cancel(timers, "on_scene")
        elif isinstance(event, R.Cancelled | R.Closed):
            timers.clear()

    def _timer(self, live: _Live, dispatch_id: UUID | None, kind: str, due: datetime) -> None:
        live.timers[(dispatch_id, kind)] = due
        deadline = (dispatch_id, kind, due)
        fired = live.record.fired.get(deadline)
        overtaken = live.record.overtaken.get(deadline) if fired is None else None
        place = fired or overtaken
        now = place.at if place is not None else due

        def fire() -> None:
            if live.timers.get((dispatch_id, kind)) != due:
                return  # cancelled meanwhile: a stale timer
            changed = steps.fire(
                live.response,
                dispatch_id,
                kind,
                due,
                now=now,
                staff=Known(self.responders(), self.loads),
                trace=live.trace,
            )
            if changed:
                self._after(live, now)
            else:
                live.timers.pop((dispatch_id, kind), None)

        self._at(now, place, fire, after=overtaken is not None)

    # -- the responders ------------------------------------------------------------------------
    def _page(self, live: _Live, dispatch_id: UUID, responder_id: str, paged_at: datetime) -> None:
        """Someone was paged: schedule their answer (recorded, else modelled)."""
        recorded = live.record.dispatches.get(dispatch_id)
        if recorded is not None and recorded.responder_id == responder_id:
            shift = paged_at - recorded.paged_at
            if recorded.reaction is not None:
                reaction = recorded.reaction
                answer = Answer(reaction.kind, 0.0, reaction.reason)
                when = reaction.place.at + shift
                self._at(when, reaction.place, self._answer(live, dispatch_id, answer, when))
            elif recorded.answerable_until is not None:
                until = recorded.answerable_until
                silent_for = (until.at - recorded.paged_at).total_seconds()
                check = self._still_silent(live, dispatch_id, responder_id, silent_for)
                self._at(until.at + shift, until, check, after=True)
            return
        ordinal = live.response.order.index(dispatch_id) + 1
        answer, source = self.behaviour.draw_answer(
            responder_id, incident_id=live.record.incident_id, ordinal=ordinal
        )
        why = (
            "not paged there in the record"
            if recorded is None
            else (f"the record paged {recorded.responder_id} there")
        )
        live.replayed.modelled.append(
            f"page {ordinal} to {responder_id}: {why}; answer drawn from {source}: "
            f"{_describe(answer)}"
        )
        self._schedule_drawn(live, dispatch_id, answer, paged_at)

    def _still_silent(
        self, live: _Live, dispatch_id: UUID, responder_id: str, silent_for: float
    ) -> Action:
        """The record stopped letting them answer here; if the replay still does, draw."""

        def check() -> None:
            if not answerable(live.response, dispatch_id):
                return
            dispatch = live.response.dispatches[dispatch_id]
            ordinal = live.response.order.index(dispatch_id) + 1
            answer, source = self.behaviour.draw_answer(
                responder_id,
                incident_id=live.record.incident_id,
                ordinal=ordinal,
                silent_for=silent_for,
            )
            live.replayed.modelled.append(
                f"page {ordinal} to {responder_id}: silent {silent_for:g} s in the record, then "
                f"overtaken; what next was drawn from {source}: {_describe(answer)}"
            )
            self._schedule_drawn(live, dispatch_id, answer, dispatch.assigned_at)

        return check

    def _schedule_drawn(
        self, live: _Live, dispatch_id: UUID, answer: Answer, paged_at: datetime
    ) -> None:
        if answer.kind != SILENT:
            when = paged_at + timedelta(seconds=answer.delay_s)
            self._at(when, None, self._answer(live, dispatch_id, answer, when))

    def _answer(self, live: _Live, dispatch_id: UUID, answer: Answer, at: datetime) -> Action:
        def act() -> None:
            response = live.response
            responder_id = response.dispatches[dispatch_id].responder_id
            try:
                if answer.kind == "ack":
                    response.acknowledge(dispatch_id, responder_id, at=at, trace=live.trace)
                else:
                    steps.decline(
                        response,
                        dispatch_id,
                        responder_id,
                        answer.reason,
                        at=at,
                        staff=Known(self.responders(), self.loads),
                        trace=live.trace,
                    )
            except Conflict:
                return  # too late: the page moved on or someone else has it
            self._after(live, at)

        return act

    def _field_work(self, live: _Live, dispatch_id: UUID, responder_id: str, at: datetime) -> None:
        """After an acknowledgement: the field statuses (recorded, else modelled)."""
        recorded = live.record.dispatches.get(dispatch_id)
        timeline = recorded_timeline(recorded) if recorded is not None else None
        if recorded is not None and recorded.responder_id == responder_id and timeline is not None:
            assert recorded.reaction is not None
            shift = at - recorded.reaction.place.at
            for status in recorded.statuses:
                when = status.place.at + shift
                self._at(when, status.place, self._status(live, dispatch_id, status, when))
            return
        steps, source = _incident_timeline(live.record), "the incident's own record"
        if steps is None:
            steps, source = self.behaviour.draw_timeline(
                responder_id,
                incident_id=live.record.incident_id,
                ordinal=live.response.order.index(dispatch_id) + 1,
            )
        if not steps:
            return
        live.replayed.modelled.append(
            f"field statuses of {responder_id} drawn from {source}: "
            + ", ".join(f"{s.status} +{s.after_s:g} s" for s in steps)
        )
        for step in steps:
            when = at + timedelta(seconds=step.after_s)
            self._at(when, None, self._status(live, dispatch_id, step, when))

    def _status(self, live: _Live, dispatch_id: UUID, step: Any, at: datetime) -> Action:
        def report() -> None:
            response = live.response
            try:
                response.report_status(
                    dispatch_id,
                    response.dispatches[dispatch_id].responder_id,
                    step.status,
                    handed_off_to=step.handed_off_to,
                    note=step.note,
                    at=at,
                    trace=live.trace,
                )
            except (Conflict, Invalid):
                return  # the dispatch moved on (re-escalated, cancelled) before this status
            self._after(live, at)

        return report


def _in_period(record: IncidentRecord, since: datetime | None, until: datetime | None) -> bool:
    reported = record.reported_at
    return (
        len(record.events) > 1
        and (since is None or reported >= since)
        and (until is None or reported < until)
    )


def _cancel(timers: dict[tuple[UUID | None, str], datetime], kind: str) -> None:
    for key in [k for k in timers if k[1] == kind]:
        del timers[key]


def _incident_timeline(record: IncidentRecord) -> Any:
    """The field statuses the incident itself needed in the record, whoever acknowledged it."""
    for dispatch in record.dispatches.values():
        timeline = recorded_timeline(dispatch)
        if timeline is not None:
            return timeline
    return None


def _describe(answer: Answer) -> str:
    if answer.kind == SILENT:
        return "no answer"
    verb = "acknowledges" if answer.kind == "ack" else "declines"
    return f"{verb} after {answer.delay_s:g} s"
