"""The recorded history a what-if replays, folded from dispatch's own domain events.

Everything comes from dispatch's store, in notification order:

* each response's ``Opened`` event: the incident's facts and its pinned policy;
* every later event of the response: assignments, escalations, acknowledgements,
  declines, field statuses, and what intake told dispatch (risk changes,
  cancellation, closure);
* the roster's events, each with the time it was *recorded* (the event's
  timestamp), so a replay can use the roster as it was known at each decision.

The replay orders what it takes from the record by time, then by notification
id.  Time, not the notification log, because the log is commit order, and a
consumer deciding a batch commits it aggregate by aggregate: a cancellation
decided after another incident's assignment can sit before it in the log.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from services.dispatch.domain.response import ACKABLE, IncidentResponse
from services.dispatch.domain.roster import Roster

R = IncidentResponse
ROSTER_CHANGES = (Roster.ResponderEnrolled, Roster.AvailabilityChanged, Roster.OverrideAdded)
TIMED_RESPONSE_EVENTS = (  # each carries ``at``: when it happened
    R.PagingHeld,
    R.ResponderAssigned,
    R.Escalated,
    R.Acknowledged,
    R.Declined,
    R.StatusReported,
    R.ResponderPaged,
    R.RiskChanged,
    R.Cancelled,
    R.Closed,
)
RESPONSE_EVENTS = (R.Opened, *TIMED_RESPONSE_EVENTS)


def topic(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


#: The stored topics a what-if reads; everything else (audit, deliveries) is skipped unread.
TOPICS: tuple[str, ...] = tuple(topic(cls) for cls in (*RESPONSE_EVENTS, *ROSTER_CHANGES))
#: The same without the pages sent to responders (a message each, no state): a quarter less.
DECISION_TOPICS = tuple(t for t in TOPICS if t != topic(R.ResponderPaged))


@dataclass(frozen=True)
class Place:
    """Where something sits in the record: when it happened, and its notification id."""

    at: datetime
    position: int


#: A deadline: (dispatch id, or None for a hold; "ack" | "on_scene" | "hold"; when due)
Deadline = tuple[UUID | None, str, datetime]


@dataclass(frozen=True)
class Reaction:
    """A responder's recorded answer to one page."""

    kind: str  # "ack" | "decline"
    place: Place
    reason: str = ""


@dataclass(frozen=True)
class StatusReport:
    status: str
    handed_off_to: str
    note: str
    place: Place


@dataclass
class DispatchRecord:
    """One page as recorded: to whom, when, and how (or whether) they answered."""

    dispatch_id: UUID
    ordinal: int  # 1 for the first page of the incident, 2 for the next...
    responder_id: str
    paged_at: datetime
    ack_deadline: datetime
    reaction: Reaction | None = None
    #: for a page never answered: when the record stopped letting them answer (someone else
    #: acknowledged, the incident was cancelled...); None: they could still answer when the
    #: record ends, so their silence is complete as far as anyone knows.
    answerable_until: Place | None = None
    statuses: list[StatusReport] = field(default_factory=list)


@dataclass
class IncidentRecord:
    opened: Any  # IncidentResponse.Opened
    #: every event of the response, in order, with its place (Opened included)
    events: list[tuple[Place, Any]] = field(default_factory=list)
    dispatches: dict[UUID, DispatchRecord] = field(default_factory=dict)
    #: deadlines the live ticker fired: (dispatch id or None for a hold, kind, due) -> when
    fired: dict[Deadline, Place] = field(default_factory=dict)
    #: deadlines already due that something else made stale before the ticker came round to
    #: them (an acknowledgement a moment after the deadline): what overtook them
    overtaken: dict[Deadline, Place] = field(default_factory=dict)
    #: what intake told dispatch later: risk changes, cancellation, closure
    intake: list[tuple[Place, Any]] = field(default_factory=list)
    #: how each event changed responders' open dispatches (their load), for incidents that
    #: are not replayed but still weigh on who is least loaded
    load_changes: list[tuple[Place, tuple[tuple[str, int], ...]]] = field(default_factory=list)

    @property
    def incident_id(self) -> UUID:
        incident_id: UUID = self.opened.incident_id
        return incident_id

    @property
    def school_id(self) -> str:
        return str(self.opened.school_id)

    @property
    def reported_at(self) -> datetime:
        reported: datetime = self.opened.reported_at
        return reported

    @property
    def received(self) -> Place:
        """When dispatch took the report up: its first decision (held, assigned or escalated)."""
        return self.events[1][0]

    @property
    def opened_place(self) -> Place:
        return self.events[0][0]

    @property
    def recorded_events(self) -> list[Any]:
        return [event for _, event in self.events]


@dataclass
class History:
    incidents: dict[UUID, IncidentRecord] = field(default_factory=dict)  # by incident id
    roster: list[tuple[Place, Any]] = field(default_factory=list)
    end: datetime | None = None  # the latest time in the record


def fold(rows: Iterable[tuple[int, Any]]) -> History:
    """Build the history from (notification id, domain event) pairs, oldest first.

    The responders' pages (``ResponderPaged``) may be left out: nothing but the
    fidelity check needs them.
    """
    history = History()
    by_response: dict[UUID, _Folding] = {}
    for position, event in rows:
        if isinstance(event, ROSTER_CHANGES):
            at: datetime = event.timestamp
        elif isinstance(event, R.Opened):
            at = event.reported_at
        elif isinstance(event, TIMED_RESPONSE_EVENTS):
            at = event.at
        else:
            continue
        place = Place(at, position)
        if history.end is None or at > history.end:
            history.end = at
        if isinstance(event, ROSTER_CHANGES):
            history.roster.append((place, event))
        elif isinstance(event, R.Opened):
            folding = _Folding(IncidentRecord(opened=event))
            by_response[event.originator_id] = folding
            history.incidents[event.incident_id] = folding.record
            folding.add(place, event)
        elif event.originator_id in by_response:
            by_response[event.originator_id].add(place, event)
    return history


class _Folding:
    """One response's events folded through the real aggregate, noting what the replay needs."""

    def __init__(self, record: IncidentRecord) -> None:
        self.record = record
        self.response: Any = None
        self.active: Counter[str] = Counter()
        self.pending: set[Deadline] = set()

    def add(self, place: Place, event: Any) -> None:
        before = self.response
        self.record.events.append((place, event))
        if before is None:
            self.response = event.mutate(None)
            return
        if isinstance(event, R.ResponderPaged):  # a message: it changes no state
            before.version = event.originator_version
            return
        self._note(place, event, before, before.phase)
        # The domain's own state transition; the record is known to be in sequence, and
        # pages may have been left out of the reading (``pages=False``).
        event.apply(before)
        before.version = event.originator_version
        self._close_windows(place)
        still = pending(self.response)
        for deadline in self.pending - still:
            if self.record.fired.get(deadline) is not place and place.at > deadline[2]:
                self.record.overtaken[deadline] = place
        self.pending = still
        active = open_dispatches(self.response)
        changes = load_changes(self.active, active)
        if changes:
            self.record.load_changes.append((place, changes))
        self.active = active

    def _note(self, place: Place, event: Any, response: Any, phase: str) -> None:
        record = self.record
        if isinstance(event, R.ResponderAssigned | R.Escalated):
            if phase == "held":
                record.fired[(None, "hold", response.held_until)] = place
            if isinstance(event, R.Escalated) and event.from_dispatch_id is not None:
                previous = response.dispatches[event.from_dispatch_id]
                if event.reason == "ack_timeout":
                    record.fired[(previous.dispatch_id, "ack", previous.ack_deadline)] = place
                elif event.reason == "not_with_student" and previous.on_scene_deadline:
                    due = previous.on_scene_deadline
                    record.fired[(previous.dispatch_id, "on_scene", due)] = place
            to = event.responder_id if isinstance(event, R.ResponderAssigned) else None
            to = to or getattr(event, "to_responder_id", None)
            if event.dispatch_id is not None and to is not None:
                assert event.ack_deadline is not None  # a page always has one
                record.dispatches[event.dispatch_id] = DispatchRecord(
                    dispatch_id=event.dispatch_id,
                    ordinal=len(record.dispatches) + 1,
                    responder_id=to,
                    paged_at=event.at,
                    ack_deadline=event.ack_deadline,
                )
        elif isinstance(event, R.Acknowledged | R.Declined):
            dispatch = record.dispatches[event.dispatch_id]
            if dispatch.reaction is None:
                kind = "ack" if isinstance(event, R.Acknowledged) else "decline"
                dispatch.reaction = Reaction(kind, place, getattr(event, "reason", ""))
        elif isinstance(event, R.StatusReported):
            record.dispatches[event.dispatch_id].statuses.append(
                StatusReport(event.status, event.handed_off_to, event.note, place)
            )
        elif isinstance(event, R.RiskChanged | R.Cancelled | R.Closed):
            record.intake.append((place, event))

    def _close_windows(self, place: Place) -> None:
        """A page nobody answered stops being answerable the moment the record says so."""
        response = self.response
        for dispatch in self.record.dispatches.values():
            if dispatch.reaction is not None or dispatch.answerable_until is not None:
                continue
            if not answerable(response, dispatch.dispatch_id):
                dispatch.answerable_until = place


#: The dispatch states that count towards a responder's load (as dispatch's board counts them).
ACTIVE_STATES = frozenset({"assigned", "acknowledged", "en_route", "with_student", "stabilized"})


def open_dispatches(response: Any) -> Counter[str]:
    """Each responder's open dispatches in this response: their share of the load."""
    return Counter(d.responder_id for d in response.dispatches.values() if d.state in ACTIVE_STATES)


def load_changes(before: Counter[str], after: Counter[str]) -> tuple[tuple[str, int], ...]:
    return tuple(
        (responder, after[responder] - before[responder])
        for responder in sorted(before.keys() | after.keys())
        if after[responder] != before[responder]
    )


def pending(response: Any) -> set[Deadline]:
    """The deadlines still in force (``IncidentResponse.pending_deadline`` and the hold)."""
    deadlines: set[Deadline] = set()
    if response.phase == "held" and response.held_until is not None:
        deadlines.add((None, "hold", response.held_until))
    if response.order:
        last = response.order[-1]
        due = response.pending_deadline(last, "ack")
        if due is not None:
            deadlines.add((last, "ack", due))
    if response.acknowledged is not None:
        due = response.pending_deadline(response.acknowledged, "on_scene")
        if due is not None:
            deadlines.add((response.acknowledged, "on_scene", due))
    return deadlines


def answerable(response: Any, dispatch_id: UUID) -> bool:
    """Whether the paged responder could still acknowledge (``IncidentResponse.acknowledge``)."""
    dispatch = response.dispatches.get(dispatch_id)
    return (
        dispatch is not None
        and not response.finished
        and response.acknowledged is None
        and dispatch.state in ACKABLE
    )
