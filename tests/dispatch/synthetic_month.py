"""A synthetic month of dispatch, recorded through the real DispatchApplication in accelerated time.

What the fidelity tests and the what-if benchmark replay.  The real
application runs on the in-memory store (or any store given) with a simulated
clock: a month takes seconds.  The clock drives everything a live system's
clock would: the ``at`` of every command, the ticker that fires deadlines
(a little late, as the live one is), and the time each event is recorded
(eventsourcing's event timestamps, which say when the roster knew what).

The month has, by construction:

* about 70 incidents a day at six schools, most in school hours, every risk,
  and now and then several at one school within seconds;
* intake's news decided in batches, as dispatch's consumer decides them (one
  unit of work, recorded aggregate by aggregate);
* responders who acknowledge (some late, after the escalation), decline, or
  never answer, each with their own habits; field statuses after an
  acknowledgement, and sometimes none by the on-scene deadline;
* roster changes: off-call overrides recorded ahead, sick days recorded after
  they began (so "as known then" differs from "as true then"), swaps and
  availability changes;
* intake's later news: risk reclassifications, cancellations and closures;
* a policy change in the middle of the month (shorter deadlines, a shorter
  chain, low-risk reports held outside school hours).

Everything is synthetic and seeded, so the month is the same on every run.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import eventsourcing.domain

from events.dispatch import AddResponderV1, Day, ShiftV1
from events.intake import (
    IncidentCancelledV1,
    IncidentClosedV1,
    IncidentReportedV1,
    RiskReclassifiedV1,
)
from events.vocabulary import Category, ResponderRole, RiskLevel
from plumbing.domain import Conflict, Invalid, Trace
from services.dispatch.application import DispatchApplication
from services.dispatch.domain.policy import Policy, SchoolHours
from services.dispatch.domain.response import IncidentResponse

START = datetime(2026, 9, 1, 5, 0, tzinfo=UTC)
BATCH_WAIT = timedelta(
    seconds=1.5
)  # the consumer takes up what arrived meanwhile  # a Tuesday, before school opens in Chicago
ZONE = "America/Chicago"
SCHOOLS = ("birch-hs", "alder-hs", "maple-es", "cedar-ms", "willow-k8", "oak-es")
HOURS = SchoolHours(timezone=ZONE, start="07:30", end="16:30")

POLICY_A = Policy(
    version="month-a",
    ack_deadline_s={"imminent": 120, "high": 300, "moderate": 900, "low": 1800},
    on_scene_deadline_s={"imminent": 900, "high": 1200, "moderate": 2400, "low": 0},
    repeat_limit=1,
    school_hours=HOURS,
)
POLICY_B = Policy(
    version="month-b",
    ack_deadline_s={"imminent": 90, "high": 180, "moderate": 600, "low": 1800},
    on_scene_deadline_s={"imminent": 900, "high": 900, "moderate": 1800, "low": 0},
    repeat_limit=0,
    school_hours=HOURS,
    low_risk_after_hours="hold",
)

R = IncidentResponse
F = ResponderRole
WEEKDAYS: list[Day] = ["mon", "tue", "wed", "thu", "fri"]
DAY_SHIFT = [ShiftV1(days=WEEKDAYS, start="07:00", end="17:00")]
LATE_SHIFT = [ShiftV1(days=WEEKDAYS, start="15:00", end="24:00")]


def roster() -> list[AddResponderV1]:
    """Twenty field responders, two supervisors and a district crisis lead (all invented)."""
    people: list[AddResponderV1] = []
    roles = (F.COUNSELOR, F.SCHOOL_PSYCHOLOGIST, F.SCHOOL_SOCIAL_WORKER, F.CRISIS_TEAM_LEAD)
    for n in range(20):
        schools = [SCHOOLS[n % 6]] + ([SCHOOLS[(n + 1) % 6]] if n % 3 == 0 else [])
        role = roles[n % 4]
        skills = []
        if role is F.SCHOOL_PSYCHOLOGIST or n % 5 == 1:
            skills.append("suicide_risk_assessment")
        if n % 4 == 3 or n % 7 == 2:
            skills.append("threat_assessment")
        people.append(
            AddResponderV1(
                responder_id=f"fr-{n:02d}",
                name=f"Field Responder {n:02d}",
                role=role,
                schools=schools,
                skills=skills,
                languages=["es"] if n % 4 == 1 else (["vi"] if n == 6 else []),
                shifts=None if n % 5 == 0 else (LATE_SHIFT if n % 5 == 4 else DAY_SHIFT),
                timezone=ZONE,
            )
        )
    people.append(
        AddResponderV1(
            responder_id="sup-ash", name="Sup Ash", role=F.SUPERVISOR, schools=list(SCHOOLS[:3])
        )
    )
    people.append(
        AddResponderV1(
            responder_id="sup-elm", name="Sup Elm", role=F.SUPERVISOR, schools=list(SCHOOLS[3:])
        )
    )
    people.append(
        AddResponderV1(
            responder_id="dcl-pine", name="Lead Pine", role=F.DISTRICT_CRISIS_LEAD, schools=[]
        )
    )
    return people


@dataclass(frozen=True)
class Habits:
    """How one responder answers pages: chances, and typical delays in seconds."""

    ack: float
    decline: float
    ack_mean_s: float
    late: float  # chance an acknowledgement comes after the deadline


def habits(responder_id: str, rng: random.Random) -> Habits:
    if responder_id.startswith("dcl"):
        return Habits(ack=0.9, decline=0.0, ack_mean_s=60, late=0.05)
    if responder_id.startswith("sup"):
        return Habits(ack=0.75, decline=0.05, ack_mean_s=90, late=0.1)
    return Habits(
        ack=rng.uniform(0.55, 0.9),
        decline=rng.uniform(0.03, 0.12),
        ack_mean_s=rng.uniform(30, 200),
        late=rng.uniform(0.05, 0.2),
    )


@dataclass
class Month:
    """The generated month: the application holding it, and counts of what it contains."""

    app: DispatchApplication
    incidents: int = 0
    counts: dict[str, int] = field(default_factory=dict)


class SimulatedClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@contextmanager
def recording_clock(clock: Callable[[], datetime]) -> Iterator[None]:
    """Stamp the events recorded meanwhile with the simulated time, as a live clock would.

    eventsourcing stamps each new event with ``datetime_now_with_tzinfo()``;
    in accelerated time that must be the simulated clock, or every roster
    change would look recorded after the whole month.
    """
    original = eventsourcing.domain.datetime_now_with_tzinfo
    eventsourcing.domain.datetime_now_with_tzinfo = clock
    try:
        yield
    finally:
        eventsourcing.domain.datetime_now_with_tzinfo = original


def generate(
    days: int = 30,
    per_day: int = 70,
    seed: int = 2026,
    env: dict[str, str] | None = None,
    policy_change_day: int | None = None,
) -> Month:
    """Record a month through the real application; returns it still open (close it)."""
    app = DispatchApplication(env=env or {"PERSISTENCE_MODULE": "eventsourcing.popo"})
    clock = SimulatedClock(START - timedelta(days=1))
    month = Month(app)
    with recording_clock(clock):
        _Script(app, clock, month, random.Random(seed)).run(
            days, per_day, days // 2 if policy_change_day is None else policy_change_day
        )
    return month


class _Script:
    def __init__(
        self, app: DispatchApplication, clock: SimulatedClock, month: Month, rng: random.Random
    ) -> None:
        self.app = app
        self.clock = clock
        self.month = month
        self.rng = rng
        self.actions: list[tuple[datetime, int, Callable[[], None]]] = []
        self.counter = 0
        self.position = 0
        self.habits: dict[str, Habits] = {}
        self.inbox: list[tuple[Any, Trace, str]] = []
        self.responders: list[AddResponderV1] = roster()

    def count(self, what: str) -> None:
        self.month.counts[what] = self.month.counts.get(what, 0) + 1

    def at(self, when: datetime, action: Callable[[], None]) -> None:
        self.counter += 1
        heapq.heappush(self.actions, (when, self.counter, action))

    def trace(self, actor: str, correlation: str = "month") -> Trace:
        return Trace(actor=actor, correlation_id=correlation, causation_id="synthetic-month")

    # -- the plan of the month -----------------------------------------------------------------
    def run(self, days: int, per_day: int, change_day: int) -> None:
        self.app.escalation_policy = POLICY_A
        self.app.enroll_responders(self.responders, trace=self.trace("admin"))
        for r in self.responders:
            self.habits[r.responder_id] = habits(r.responder_id, self.rng)
        self._follow_new_events()
        for day in range(days):
            self._plan_day(START + timedelta(days=day), per_day)
        self.at(START + timedelta(days=change_day), self._change_policy)
        while self.actions:
            when, _, action = heapq.heappop(self.actions)
            self.clock.now = max(self.clock.now, when)  # a batch may have run a moment past it
            action()
            self._follow_new_events()

    def _change_policy(self) -> None:
        self.app.escalation_policy = POLICY_B  # what a restart with the new config does
        self.count("policy_change")

    def _plan_day(self, day: datetime, per_day: int) -> None:
        rng = self.rng
        for _ in range(per_day):
            if rng.random() < 0.8:  # school hours, Chicago: 12:30-21:30 UTC in the autumn
                offset = timedelta(hours=7.5 + rng.random() * 9)
            else:
                offset = timedelta(hours=rng.random() * 24)
            self.at(day + offset, self._report)
            if rng.random() < 0.08:  # a crisis touching several students at one school
                school = rng.choice(SCHOOLS)
                for k in range(rng.randint(2, 4)):
                    self.at(day + offset + timedelta(seconds=0.4 * k), self._cluster(school))
        self._plan_roster(day)

    def _plan_roster(self, day: datetime) -> None:
        rng = self.rng
        field_ids = [r.responder_id for r in self.responders if r.responder_id.startswith("fr")]
        if rng.random() < 0.5:  # an off-call day, recorded the evening before
            who = rng.choice(field_ids)
            start, end = day + timedelta(hours=7), day + timedelta(hours=22)
            self.at(day - timedelta(hours=6), self._override(who, start, end, False, "training"))
        if rng.random() < 0.35:  # a sick day, recorded only after it began
            who = rng.choice(field_ids)
            start, end = day + timedelta(hours=12), day + timedelta(hours=23)
            self.at(start + timedelta(hours=2.5), self._override(who, start, end, False, "sick"))
        if rng.random() < 0.25:  # an extra on-call evening
            who = rng.choice(field_ids)
            start, end = day + timedelta(hours=20), day + timedelta(hours=28)
            self.at(day + timedelta(hours=10), self._override(who, start, end, True, "cover"))
        if rng.random() < 0.15:  # a swap
            a, b = rng.sample(field_ids, 2)
            start, end = day + timedelta(hours=13), day + timedelta(hours=19)
            self.at(day + timedelta(hours=9), self._swap(a, b, start, end))
        if rng.random() < 0.2:  # unavailable for a while
            who = rng.choice(field_ids)
            off = day + timedelta(hours=13 + rng.random() * 4)
            self.at(off, self._availability(who, False))
            self.at(off + timedelta(hours=2), self._availability(who, True))

    # -- roster changes ------------------------------------------------------------------------
    def _override(
        self, who: str, start: datetime, end: datetime, on_call: bool, reason: str
    ) -> Callable[[], None]:
        def act() -> None:
            self.app.add_override(who, start, end, on_call, reason, trace=self.trace("sup-ash"))
            self.count("override")

        return act

    def _swap(self, a: str, b: str, start: datetime, end: datetime) -> Callable[[], None]:
        def act() -> None:
            self.app.swap(a, b, start, end, "family matter", trace=self.trace("sup-elm"))
            self.count("swap")

        return act

    def _availability(self, who: str, available: bool) -> Callable[[], None]:
        def act() -> None:
            self.app.set_availability(who, available, "in a meeting", trace=self.trace("sup-ash"))
            self.count("availability")

        return act

    # -- incidents -------------------------------------------------------------------------------
    def _report(self, school: str | None = None) -> None:
        rng, now = self.rng, self.clock.now
        self.month.incidents += 1
        n = self.month.incidents
        incident_id = UUID(int=rng.getrandbits(128), version=4)
        risk = rng.choices(list(RiskLevel), weights=[30, 35, 28, 7])[0]
        categories = [rng.choice(list(Category))]
        event = IncidentReportedV1(
            incident_id=incident_id,
            school_id=school or rng.choice(SCHOOLS),
            student_ref=f"stu-syn-{n:05d}",
            categories=categories,
            risk=risk,
            reported_at=now - timedelta(seconds=rng.uniform(0.05, 2.0)),
            immediate_danger=rng.random() < 0.03,
            language="es" if rng.random() < 0.1 else "",
        )
        self._intake(event, self.trace("service:dispatch", f"corr-{n}"), "reported")
        later = rng.random()
        if later < 0.04:
            self.at(now + timedelta(minutes=rng.uniform(1, 40)), self._cancel(incident_id))
        elif later < 0.10:
            higher = RiskLevel.HIGH if risk is not RiskLevel.HIGH else RiskLevel.IMMINENT
            self.at(
                now + timedelta(minutes=rng.uniform(1, 20)),
                self._reclassify(incident_id, higher, risk),
            )
        if rng.random() < 0.3:
            self.at(now + timedelta(hours=rng.uniform(6, 30)), self._close(incident_id))

    def _cluster(self, school: str) -> Callable[[], None]:
        return lambda: self._report(school)

    def _cancel(self, incident_id: UUID) -> Callable[[], None]:
        def act() -> None:
            event = IncidentCancelledV1(
                incident_id=incident_id, reason="duplicate report", by="t", at=self.clock.now
            )
            self._intake(event, self.trace("t"), "cancelled")

        return act

    def _reclassify(
        self, incident_id: UUID, risk: RiskLevel, previous: RiskLevel
    ) -> Callable[[], None]:
        def act() -> None:
            event = RiskReclassifiedV1(
                incident_id=incident_id,
                risk=risk,
                previous_risk=previous,
                reason="new information",
                by="t",
                at=self.clock.now,
            )
            self._intake(event, self.trace("t"), "reclassified")

        return act

    def _close(self, incident_id: UUID) -> Callable[[], None]:
        def act() -> None:
            event = IncidentClosedV1(incident_id=incident_id, by="t", at=self.clock.now)
            self._intake(event, self.trace("t"), "closed")

        return act

    # -- intake's feed, decided in batches as dispatch's consumer decides them ---------------------
    def _intake(self, event: Any, trace: Trace, what: str) -> None:
        """Intake's news reaches dispatch's consumer, which decides what has come in as a batch."""
        self.inbox.append((event, trace, what))
        if len(self.inbox) == 1:
            self.at(self.clock.now + BATCH_WAIT, self._decide_batch)

    def _decide_batch(self) -> None:
        """One unit of work: each message decided in turn, then everything recorded at once.

        The records land aggregate by aggregate, so the notification log is not
        the order of the decisions: the replay must go by time.
        """
        batch, self.inbox = self.inbox, []
        with self.app.unit_of_work() as work:
            for n, (event, trace, what) in enumerate(batch):
                self.clock.now += timedelta(microseconds=300 * (n > 0))
                self.app.enlist(*self.app.on_intake_event(event, trace, at=self.clock.now))
                self.count(what)
            changed = [a for a in work.values() if a.pending_events]
        self.app.record(*changed)
        self.app.after_batch()
        if len(batch) > 1:
            self.count("batch_of_several")

    # -- reacting to what dispatch did -------------------------------------------------------------
    def _follow_new_events(self) -> None:
        while True:
            rows = self.app.domain_events_after(self.position, 1000)
            for position, event in rows:
                self.position = position
                self._react(event)
            if len(rows) < 1000:
                return

    def _react(self, event: Any) -> None:
        if isinstance(event, R.PagingHeld):
            self._tick_at(event.until)
            self.count("held")
        elif isinstance(event, R.ResponderAssigned):
            self._tick_at(event.ack_deadline)
            self._page(event.dispatch_id, event.responder_id, event.at, event.ack_deadline)
        elif isinstance(event, R.Escalated):
            self.count(f"escalated:{event.reason}")
            if event.to_responder_id is None:
                self.count("exhausted")
            elif event.dispatch_id is not None and event.ack_deadline is not None:
                self._tick_at(event.ack_deadline)
                self._page(event.dispatch_id, event.to_responder_id, event.at, event.ack_deadline)
        elif isinstance(event, R.Acknowledged):
            self.count("acknowledged")
            if event.on_scene_deadline is not None:
                self._tick_at(event.on_scene_deadline)
            self._field_work(event.dispatch_id, event.responder_id, event.at)
        elif isinstance(event, R.Declined):
            self.count("declined")

    def _tick_at(self, due: datetime) -> None:
        """The ticker comes round a little after a deadline (0-400 ms; sometimes right on it)."""
        late = 0.0 if self.rng.random() < 0.3 else self.rng.uniform(0.001, 0.4)
        self.at(due + timedelta(seconds=late), self._tick)

    def _tick(self) -> None:
        now = self.clock.now
        self.app.timers.catch_up()
        for key, due in self.app.timers.due(now):
            if not self.app.fire(key, due, now):
                self.app.timers.cancel(key)

    def _page(self, dispatch_id: UUID, responder_id: str, at: datetime, deadline: datetime) -> None:
        rng, habit = self.rng, self.habits[responder_id]
        window = (deadline - at).total_seconds()
        roll = rng.random()
        if roll < habit.decline:
            when = at + timedelta(seconds=rng.uniform(5, min(60, window * 0.8)))
            self.at(when, self._decline(dispatch_id, responder_id))
        elif roll < habit.decline + habit.ack:
            if rng.random() < habit.late:  # around and after the deadline; some a moment
                # after it, racing the ticker (which comes round up to 400 ms late)
                near = rng.random() < 0.2
                delay = window + (rng.uniform(0.0, 0.3) if near else rng.uniform(-1, 240))
            else:
                delay = min(rng.expovariate(1 / habit.ack_mean_s), window * 0.95)
            self.at(at + timedelta(seconds=max(1.0, delay)), self._ack(dispatch_id, responder_id))
        else:
            self.count("silent")

    def _ack(self, dispatch_id: UUID, responder_id: str) -> Callable[[], None]:
        def act() -> None:
            try:
                self.app.acknowledge(
                    dispatch_id, responder_id, at=self.clock.now, trace=self.trace(responder_id)
                )
            except Conflict:
                self.count("ack_refused")

        return act

    def _decline(self, dispatch_id: UUID, responder_id: str) -> Callable[[], None]:
        def act() -> None:
            try:
                self.app.decline(
                    dispatch_id,
                    responder_id,
                    "with another student",
                    at=self.clock.now,
                    trace=self.trace(responder_id),
                )
            except Conflict:
                self.count("decline_refused")

        return act

    def _field_work(self, dispatch_id: UUID, responder_id: str, at: datetime) -> None:
        rng = self.rng
        if rng.random() < 0.15:
            self.count("no_field_status")
            return
        en_route = at + timedelta(seconds=rng.uniform(20, 300))
        with_student = en_route + timedelta(seconds=rng.uniform(60, 600))
        self.at(en_route, self._status(dispatch_id, responder_id, "en_route"))
        if rng.random() < 0.1:
            return  # never reports being with the student: the on-scene deadline will tell
        self.at(with_student, self._status(dispatch_id, responder_id, "with_student"))
        end = with_student + timedelta(seconds=rng.uniform(900, 7200))
        final = "handed_off" if rng.random() < 0.12 else "resolved"
        self.at(end, self._status(dispatch_id, responder_id, final))

    def _status(self, dispatch_id: UUID, responder_id: str, status: str) -> Callable[[], None]:
        def act() -> None:
            try:
                self.app.report_status(
                    dispatch_id,
                    responder_id,
                    status,
                    handed_off_to="EMS" if status == "handed_off" else "",
                    note="",
                    at=self.clock.now,
                    trace=self.trace(responder_id),
                )
                self.count(f"status:{status}")
            except (Conflict, Invalid):
                self.count("status_refused")

        return act
