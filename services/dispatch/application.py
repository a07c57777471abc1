"""Dispatch's application service: load -> decide -> record.

The roster and the board (read model) feed pure decisions; the incident's
response aggregate records them.  Commands that race (two acknowledgements, an
acknowledgement and a timer) are retried after an optimistic-concurrency
failure, so the loser sees the winner's events and gets a clear conflict.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterator, Mapping
from datetime import datetime
from typing import Any, TypeVar, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Transcoding
from tenacity import RetryError, Retrying, retry_if_exception_type, stop_after_attempt

from events.dispatch import AddResponderV1
from events.intake import (
    IncidentCancelledV1,
    IncidentCancelledV2,
    IncidentClosedV1,
    IncidentReportedV1,
    RiskReclassifiedV1,
    RiskReclassifiedV2,
)
from plumbing.domain import Conflict, NotFound, Trace, rfc3339
from plumbing.store.application import LanternApplication
from services.dispatch.domain import decisions
from services.dispatch.domain.policy import Policy
from services.dispatch.domain.response import IncidentResponse, response_id_for
from services.dispatch.domain.roster import ROSTER_ID, Responder, Roster, Shift
from services.dispatch.projections import ACTIVE_STATES, DispatchBoard, DispatchTimers

T = TypeVar("T")
#: A write that lost an optimistic-concurrency race is decided again on fresh state, 4 times.
_ON_CONCURRENT_WRITE = Retrying(
    retry=retry_if_exception_type(IntegrityError), stop=stop_after_attempt(4), reraise=False
)
TIMER_ACTOR = "service:dispatch-timer"
#: What dispatch records as a cancellation's reason: the reason itself stays at intake.
CANCELLED_AT_INTAKE = "cancelled at intake (the reason is in intake's record)"


def responder_from(command: AddResponderV1) -> Responder:
    return Responder(
        responder_id=command.responder_id,
        name=command.name,
        role=str(command.role),
        schools=tuple(command.schools),
        skills=tuple(command.skills),
        languages=tuple(command.languages),
        available=command.available,
        shifts=None
        if command.shifts is None
        else tuple(Shift(tuple(str(d) for d in s.days), s.start, s.end) for s in command.shifts),
        email=command.email,
        timezone=command.timezone,
    )


class ResponderAsRecord(Transcoding):
    type = Responder
    name = "lantern.responder"

    def encode(self, obj: Responder) -> dict[str, Any]:
        return obj.as_record()

    def decode(self, data: dict[str, Any]) -> Responder:
        return Responder.from_record(data)


class DispatchApplication(LanternApplication):
    name = "dispatch"
    #: the roster grows with every change: a snapshot every 50 events
    snapshotting_intervals = {**LanternApplication.snapshotting_intervals, Roster: 50}

    def extra_transcodings(self) -> list[Transcoding]:
        return [ResponderAsRecord()]

    def __init__(self, env: dict[str, str] | None = None, policy: Policy | None = None) -> None:
        super().__init__(env)
        self.escalation_policy = policy or Policy()
        self.board = DispatchBoard(self)
        self.timers = DispatchTimers(self)

    # -- roster ----------------------------------------------------------------------------
    def _roster_for_change(self, trace: Trace) -> Roster:
        if self.exists(ROSTER_ID):
            roster: Roster = self.repository.get(ROSTER_ID)
            return roster
        return Roster.open(trace)

    def enroll_responders(self, commands: list[AddResponderV1], *, trace: Trace) -> int:
        """Add or update responders, all or nothing (a CSV import is one change)."""
        roster = self._roster_for_change(trace)
        changed = sum(roster.enroll(responder_from(c), trace) for c in commands)
        self.record(roster)
        return changed

    def set_availability(
        self, responder_id: str, available: bool, reason: str, *, trace: Trace
    ) -> None:
        roster = self._roster_for_change(trace)
        roster.set_availability(responder_id, available, reason, trace)
        self.record(roster)

    def add_override(
        self,
        responder_id: str,
        start: datetime,
        end: datetime,
        on_call: bool,
        reason: str,
        *,
        trace: Trace,
    ) -> None:
        roster = self._roster_for_change(trace)
        roster.override(responder_id, start, end, on_call, reason, trace)
        self.record(roster)

    def swap(
        self, from_id: str, to_id: str, start: datetime, end: datetime, reason: str, *, trace: Trace
    ) -> None:
        roster = self._roster_for_change(trace)
        roster.get(to_id)
        roster.swap(from_id, to_id, start, end, reason, trace)
        self.record(roster)

    # -- reacting to intake ----------------------------------------------------------------
    def on_intake_event(self, event: Any, trace: Trace, *, at: datetime) -> list[Aggregate]:
        if isinstance(event, IncidentReportedV1):
            return self._open_response(event, trace, at)
        response = self._response_or_none(event.incident_id)
        if response is None:
            return []
        if isinstance(event, RiskReclassifiedV1 | RiskReclassifiedV2):
            response.change_risk(str(event.risk), at=at, trace=trace)
        elif isinstance(event, IncidentCancelledV1):  # an older stream's: the reason came along
            response.cancel(event.reason, at=at, trace=trace)
        elif isinstance(event, IncidentCancelledV2):  # the reason stays at intake
            response.cancel(CANCELLED_AT_INTAKE, at=at, trace=trace)
        elif isinstance(event, IncidentClosedV1):
            response.close(at=at, trace=trace)
        return [response]

    def _open_response(
        self, event: IncidentReportedV1, trace: Trace, at: datetime
    ) -> list[Aggregate]:
        if self.exists(response_id_for(event.incident_id)):
            return []
        staff = _BoardStaff(self)
        return [
            decisions.open_response(event, self.escalation_policy, at=at, staff=staff, trace=trace)
        ]

    def _loads(self, scratch: dict[str, Any]) -> Mapping[str, int]:
        """Open dispatches per responder: the board's, plus what this batch decided so far.

        Inside a consumer's unit of work, responses opened or changed earlier in the
        batch are not on the board yet; their dispatches count here, so two reports
        of one batch are balanced as if they had come one after the other.  The
        board's loads are read once per batch and each changed response's share is
        kept up to date as the batch goes (a running sum, not a recount): each choice
        looks only at the responses enlisted since the previous one (every decision's
        changes are enlisted before the next decision), not at the whole batch again.
        """
        if "base" not in scratch:
            scratch["base"], scratch["delta"], scratch["shares"] = self.board.loads(), Counter(), {}
            scratch["counted"] = 0
        delta: Counter[str] = scratch["delta"]
        shares: dict[UUID, tuple[int, Counter[str]]] = scratch["shares"]
        enlisted: list[Aggregate] = scratch.get("enlisted", [])
        fresh, scratch["counted"] = enlisted[scratch["counted"] :], len(enlisted)
        for aggregate in fresh:  # only what joined or changed since the last choice
            if not isinstance(aggregate, IncidentResponse) or not aggregate.pending_events:
                continue
            known = shares.get(aggregate.id)
            if known is not None and known[0] == aggregate.version:
                continue
            share = _active_share(aggregate)
            share.subtract(self.scratch().get("stored_shares", {}).get(aggregate.id, Counter()))
            if known is not None:
                delta.subtract(known[1])
            delta.update(share)
            shares[aggregate.id] = (aggregate.version, share)
        return _Loads(scratch["base"], delta)

    def loaded(self, aggregate: Aggregate) -> None:
        """Note a response's open dispatches as stored: the board already counts those."""
        if isinstance(aggregate, IncidentResponse):
            self.scratch().setdefault("stored_shares", {})[aggregate.id] = _active_share(aggregate)

    def after_batch(self) -> None:
        """A consumer batch was committed: bring the board up to date for the next one."""
        self.board.catch_up()

    # -- responders ------------------------------------------------------------------------
    def acknowledge(
        self, dispatch_id: UUID, responder_id: str, *, at: datetime, trace: Trace
    ) -> bool:
        def attempt() -> bool:
            response = self.response_of(dispatch_id)
            changed = response.acknowledge(dispatch_id, responder_id, at=at, trace=trace)
            self.record(response)
            return changed

        return self._retrying(attempt)

    def decline(
        self, dispatch_id: UUID, responder_id: str, reason: str, *, at: datetime, trace: Trace
    ) -> None:
        def attempt() -> None:
            response = self.response_of(dispatch_id)
            staff = _BoardStaff(self)
            decisions.decline(
                response, dispatch_id, responder_id, reason, at=at, staff=staff, trace=trace
            )
            self.record(response)

        self._retrying(attempt)

    def report_status(
        self,
        dispatch_id: UUID,
        responder_id: str,
        status: str,
        *,
        handed_off_to: str,
        note: str,
        at: datetime,
        trace: Trace,
    ) -> None:
        def attempt() -> None:
            response = self.response_of(dispatch_id)
            response.report_status(
                dispatch_id,
                responder_id,
                status,
                handed_off_to=handed_off_to,
                note=note,
                at=at,
                trace=trace,
            )
            self.record(response)

        self._retrying(attempt)

    def _retrying(self, attempt: Callable[[], T]) -> T:
        """Someone else wrote first (optimistic concurrency): reload and decide again."""
        try:
            result: T = _ON_CONCURRENT_WRITE.copy()(attempt)
        except RetryError:
            raise Conflict(
                "the dispatch changed concurrently too often; try again", "dispatch_id"
            ) from None
        return result

    # -- timers ----------------------------------------------------------------------------
    def fire(self, key: Hashable, due_at: datetime, now: datetime) -> bool:
        """A deadline came due: escalate if it still stands; a stale timer changes nothing."""
        response_id, dispatch_id, kind = cast(tuple[UUID, UUID, str], key)
        response: IncidentResponse = self.repository.get(response_id)
        trace = Trace(
            actor=TIMER_ACTOR,
            correlation_id=response.correlation_id,
            causation_id=f"timer:{kind}:{dispatch_id or response_id}:{due_at.isoformat()}",
        )
        staff = _BoardStaff(self)
        if not decisions.fire(
            response, dispatch_id, kind, due_at, now=now, staff=staff, trace=trace
        ):
            return False  # stale: acknowledged, moved on or cancelled meanwhile
        self.record(response)
        return True

    # -- queries ---------------------------------------------------------------------------
    def _response_or_none(self, incident_id: UUID) -> IncidentResponse | None:
        try:
            response: IncidentResponse = self.get(response_id_for(incident_id))
        except AggregateNotFoundError:
            return None
        return response

    def response_of(self, dispatch_id: UUID) -> IncidentResponse:
        self.board.catch_up()
        row = self.board.row(dispatch_id)
        if row is None:
            raise NotFound(f"no dispatch {dispatch_id}", "dispatch_id")
        response: IncidentResponse = self.repository.get(response_id_for(UUID(row["incident_id"])))
        return response

    def response_view(self, incident_id: UUID) -> dict[str, Any]:
        response = self._response_or_none(incident_id)
        if response is None:
            raise NotFound(f"dispatch has not seen incident {incident_id}", "incident_id")
        rows = {r["dispatch_id"]: r for r in self.board.of_incident(incident_id)}
        dispatches = [rows[str(d)] for d in response.order if str(d) in rows]
        current = next(
            (d for d in dispatches if d["dispatch_id"] == str(response.acknowledged)),
            dispatches[-1] if dispatches else None,
        )
        return {
            "incident_id": str(incident_id),
            "phase": response.phase,
            "unassigned": not response.order,
            "held_until": rfc3339(response.held_until) if response.held_until else None,
            "policy_version": response.policy.version,
            "current": current,
            "dispatches": dispatches,
            "escalations": list(response.escalations),
        }

    def dispatches(self, *, responder: str | None = None, state: str | None = None) -> list[Any]:
        return self.board.select(responder, state)

    def responders(self) -> list[dict[str, Any]]:
        return [
            r.as_record() for r in sorted(self.board.responders(), key=lambda r: r.responder_id)
        ]


class _Loads(Mapping[str, int]):
    """The board's loads plus the batch's changes, read through (nothing copied per pick)."""

    def __init__(self, base: Counter[str], delta: Counter[str]) -> None:
        self.base, self.delta = base, delta

    def __getitem__(self, responder_id: str) -> int:
        return self.base.get(responder_id, 0) + self.delta.get(responder_id, 0)

    def __iter__(self) -> Iterator[str]:
        return iter(set(self.base) | set(self.delta))

    def __len__(self) -> int:
        return len(set(self.base) | set(self.delta))


class _BoardStaff:
    """The application's roster and loads for a decision: read once per batch, plus what
    the batch decided so far (see ``DispatchApplication._loads``)."""

    def __init__(self, app: DispatchApplication) -> None:
        self.app = app

    def responders(self) -> list[Responder]:
        scratch = self.app.scratch()
        if "responders" not in scratch:  # once per batch: the roster does not change inside one
            scratch["responders"] = self.app.board.responders()
        responders: list[Responder] = scratch["responders"]
        return responders

    def loads(self) -> Mapping[str, int]:
        return self.app._loads(self.app.scratch())


def _active_share(response: IncidentResponse) -> Counter[str]:
    """Open dispatches per responder within one response."""
    share: Counter[str] = Counter()
    for d in response.dispatches.values():
        if d.state in ACTIVE_STATES:
            share[d.responder_id] += 1
    return share
