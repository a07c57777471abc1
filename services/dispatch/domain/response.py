"""The response to one incident: who was asked, who has it, and every escalation step.

One aggregate per incident, so an acknowledgement racing an escalation, or two
acknowledgements racing each other, are settled by optimistic concurrency on a
single event stream: exactly one wins, the loser reloads and gets a clear conflict.

Rules:
* A dispatch asks one responder; it must be acknowledged before its deadline.
  A late acknowledgement of a dispatch that was already escalated still counts
  while nobody else has acknowledged (the page reached someone who can act).
* The first acknowledgement stops every pending step at once: other open
  dispatches are stood down, and no deadline of theirs can fire.
* A decline moves the incident to the next chain step at once.
* "Acknowledged" is not "with the student": if the responder has not reported
  being with the student by the on-scene deadline, the chain moves on again.
* Field statuses only move forward; "handed off" needs to whom.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from plumbing.domain import Conflict, Invalid, NotFound, Trace, TracedCreated, TracedEvent, rfc3339
from services.dispatch.domain.assignment import Decision
from services.dispatch.domain.escalation import Position, Step
from services.dispatch.domain.policy import Policy

FIELD_STATUSES = ("en_route", "with_student", "stabilized", "handed_off", "resolved")
_ORDER = {"acknowledged": 0, **{s: i + 1 for i, s in enumerate(FIELD_STATUSES)}}
ACKABLE = frozenset({"assigned", "escalated"})


@lru_cache(maxsize=8192)  # asked several times per report (exists, open, the board): a hash each
def response_id_for(incident_id: UUID) -> UUID:
    """One response per incident: a second delivery of the report finds the same one."""
    return uuid5(NAMESPACE_URL, f"lantern:dispatch:response:{incident_id}")


def dispatch_id_for(incident_id: UUID, attempt: int) -> UUID:
    return uuid5(NAMESPACE_URL, f"lantern:dispatch:dispatch:{incident_id}:{attempt}")


@dataclass(frozen=True)
class Dispatch:
    dispatch_id: UUID
    responder_id: str
    step: str
    state: str
    assigned_at: datetime
    ack_deadline: datetime
    acknowledged_at: datetime | None = None
    on_scene_deadline: datetime | None = None
    history: tuple[tuple[str, datetime], ...] = field(default=())


#: rebuilt policies by the identity of the data they came from (the data kept alive with them)
_PINNED: dict[int, tuple[dict[str, Any], Policy]] = {}
_PINNING = threading.Lock()


class IncidentResponse(Aggregate):
    # -- events ----------------------------------------------------------------------------
    class Opened(TracedCreated):
        incident_id: UUID
        school_id: str
        student_ref: str
        risk: str
        categories: list[str]
        language: str
        immediate_danger: bool
        reported_at: datetime
        policy: dict[str, Any]

    class PagingHeld(TracedEvent):
        until: datetime
        reason: str
        at: datetime

        def apply(self, aggregate: IncidentResponse) -> None:
            aggregate.phase = "held"
            aggregate.held_until = self.until

    class ResponderAssigned(TracedEvent):
        dispatch_id: UUID
        responder_id: str
        candidates: list[dict[str, Any]]
        rule: str
        reason: str
        at: datetime
        ack_deadline: datetime

        def apply(self, aggregate: IncidentResponse) -> None:
            aggregate._add_dispatch(
                self.dispatch_id, self.responder_id, "initial", self.at, self.ack_deadline
            )
            aggregate.phase = "paging"
            aggregate.held_until = None

    class Escalated(TracedEvent):
        """One chain step: why, which step, to whom (None when the chain is exhausted)."""

        from_dispatch_id: UUID | None
        reason: str
        step: str
        round: int
        index: int
        skipped: list[str]
        to_responder_id: str | None
        dispatch_id: UUID | None
        candidates: list[dict[str, Any]]
        rule: str
        detail: str
        at: datetime
        ack_deadline: datetime | None

        def apply(self, aggregate: IncidentResponse) -> None:
            previous = (
                aggregate.dispatches.get(self.from_dispatch_id) if self.from_dispatch_id else None
            )
            if previous is not None and previous.state in ("assigned", "acknowledged"):
                aggregate._set(previous.dispatch_id, "escalated", self.at)
            if previous is not None and aggregate.acknowledged == previous.dispatch_id:
                aggregate.acknowledged = None
            aggregate.position = Position(self.round, self.index)
            aggregate.escalations.append(
                {
                    "reason": self.reason,
                    "step": self.step,
                    "to": self.to_responder_id,
                    "at": rfc3339(self.at),
                    "skipped": list(self.skipped),
                    "from_dispatch_id": str(self.from_dispatch_id)
                    if self.from_dispatch_id
                    else None,
                    "dispatch_id": str(self.dispatch_id) if self.dispatch_id else None,
                }
            )
            if self.dispatch_id is None or self.to_responder_id is None or not self.ack_deadline:
                aggregate.phase = "exhausted"
                return
            aggregate._add_dispatch(
                self.dispatch_id, self.to_responder_id, self.step, self.at, self.ack_deadline
            )
            aggregate.phase = "paging"
            aggregate.held_until = None

    class Acknowledged(TracedEvent):
        dispatch_id: UUID
        responder_id: str
        at: datetime
        on_scene_deadline: datetime | None
        stood_down: list[UUID]

        def apply(self, aggregate: IncidentResponse) -> None:
            aggregate._set(self.dispatch_id, "acknowledged", self.at)
            current = aggregate.dispatches[self.dispatch_id]
            aggregate.dispatches[self.dispatch_id] = replace(
                current, acknowledged_at=self.at, on_scene_deadline=self.on_scene_deadline
            )
            for other in self.stood_down:
                aggregate._set(other, "stood_down", self.at)
            aggregate.acknowledged = self.dispatch_id
            aggregate.phase = "acknowledged"

    class Declined(TracedEvent):
        dispatch_id: UUID
        responder_id: str
        reason: str
        at: datetime

        def apply(self, aggregate: IncidentResponse) -> None:
            aggregate._set(self.dispatch_id, "declined", self.at)
            aggregate.declined.add(self.responder_id)

    class StatusReported(TracedEvent):
        dispatch_id: UUID
        responder_id: str
        status: str
        handed_off_to: str
        note: str
        at: datetime

        def apply(self, aggregate: IncidentResponse) -> None:
            aggregate._set(self.dispatch_id, self.status, self.at)
            if self.status == "resolved":
                aggregate.phase = "resolved"

    class ResponderPaged(TracedEvent):
        """A message to a responder's inbox (and outside channels): page, escalation, stand-down."""

        dispatch_id: UUID
        responder_id: str
        kind: str
        at: datetime
        ack_deadline: datetime | None

    class RiskChanged(TracedEvent):
        risk: str
        at: datetime

        def apply(self, aggregate: IncidentResponse) -> None:
            aggregate.risk = self.risk

    class Cancelled(TracedEvent):
        reason: str
        at: datetime
        stood_down: list[UUID]

        def apply(self, aggregate: IncidentResponse) -> None:
            for dispatch_id in self.stood_down:
                aggregate._set(dispatch_id, "cancelled", self.at)
            aggregate.phase = "cancelled"

    class Closed(TracedEvent):
        at: datetime

        def apply(self, aggregate: IncidentResponse) -> None:
            aggregate.phase = "closed"

    # -- state -----------------------------------------------------------------------------
    def __init__(
        self,
        incident_id: UUID,
        school_id: str,
        student_ref: str,
        risk: str,
        categories: list[str],
        language: str,
        immediate_danger: bool,
        reported_at: datetime,
        policy: dict[str, Any],
        correlation_id: str,
    ) -> None:
        self.correlation_id = correlation_id  # timer-caused steps stay in the report's conversation
        self.incident_id = incident_id
        self.school_id = school_id
        self.student_ref = student_ref
        self.risk = risk
        self.categories = list(categories)
        self.language = language
        self.immediate_danger = immediate_danger
        self.reported_at = reported_at
        self.policy_snapshot = dict(policy)
        self.dispatches: dict[UUID, Dispatch] = {}
        self.order: list[UUID] = []
        self.acknowledged: UUID | None = None
        self.declined: set[str] = set()
        self.position = Position()
        self.escalations: list[dict[str, Any]] = []
        self.phase = "new"
        self.held_until: datetime | None = None

    @property
    def policy(self) -> Policy:
        """The policy pinned at the report (rebuilt from its data once per loaded copy)."""
        pinned = _PINNED.get(id(self.policy_snapshot))
        if pinned is None or pinned[0] is not self.policy_snapshot:
            pinned = (self.policy_snapshot, Policy.from_snapshot(self.policy_snapshot))
            with _PINNING:
                _PINNED[id(self.policy_snapshot)] = pinned
                while len(_PINNED) > 4096:
                    del _PINNED[next(iter(_PINNED))]
        return pinned[1]

    @property
    def asked(self) -> set[str]:
        return {d.responder_id for d in self.dispatches.values()}

    @property
    def current(self) -> Dispatch | None:
        return self.dispatches[self.order[-1]] if self.order else None

    @property
    def finished(self) -> bool:
        return self.phase in ("resolved", "cancelled", "closed")

    def _add_dispatch(
        self, dispatch_id: UUID, responder_id: str, step: str, at: datetime, ack_deadline: datetime
    ) -> None:
        self.dispatches[dispatch_id] = Dispatch(
            dispatch_id,
            responder_id,
            step,
            "assigned",
            at,
            ack_deadline,
            history=(("assigned", at),),
        )
        self.order.append(dispatch_id)

    def _set(self, dispatch_id: UUID, state: str, at: datetime) -> None:
        current = self.dispatches[dispatch_id]
        self.dispatches[dispatch_id] = replace(
            current, state=state, history=(*current.history, (state, at))
        )

    def dispatch(self, dispatch_id: UUID) -> Dispatch:
        try:
            return self.dispatches[dispatch_id]
        except KeyError:
            raise NotFound(f"no dispatch {dispatch_id}", "dispatch_id") from None

    # -- starting --------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        *,
        incident_id: UUID,
        school_id: str,
        student_ref: str,
        risk: str,
        categories: list[str],
        language: str,
        immediate_danger: bool,
        reported_at: datetime,
        policy: Policy,
        trace: Trace,
    ) -> IncidentResponse:
        """Pin the policy in force: later policy edits never change this response."""
        return cls._create(
            cls.Opened,
            id=response_id_for(incident_id),
            incident_id=incident_id,
            school_id=school_id,
            student_ref=student_ref,
            risk=risk,
            categories=list(categories),
            language=language,
            immediate_danger=immediate_danger,
            reported_at=reported_at,
            policy=policy.snapshot(),
            **trace.fields(),
        )

    def hold(self, until: datetime, *, at: datetime, trace: Trace) -> None:
        self.trigger_event(
            self.PagingHeld,
            until=until,
            at=at,
            reason="low risk outside school hours (policy)",
            **trace.fields(),
        )

    def assign(self, decision: Decision, *, at: datetime, trace: Trace) -> None:
        """The first page, to the responder the assignment rules chose."""
        assert decision.chosen is not None
        dispatch_id = dispatch_id_for(self.incident_id, len(self.order) + 1)
        deadline = self.policy.ack_deadline(self.risk, at)
        self.trigger_event(
            self.ResponderAssigned,
            dispatch_id=dispatch_id,
            responder_id=decision.chosen,
            candidates=decision.candidate_records(),
            rule=decision.rule,
            reason=decision.reason,
            at=at,
            ack_deadline=deadline,
            **trace.fields(),
        )
        self._page(dispatch_id, decision.chosen, "page", at, deadline, trace)

    def escalate(
        self,
        step: Step | None,
        *,
        reason: str,
        from_dispatch: UUID | None,
        skipped: tuple[str, ...],
        at: datetime,
        trace: Trace,
    ) -> None:
        """Take the next chain step (``None``: nobody left, the chain is exhausted)."""
        if step is None:
            self.trigger_event(
                self.Escalated,
                from_dispatch_id=from_dispatch,
                reason=reason,
                step="exhausted",
                round=self.position.round,
                index=self.position.index,
                skipped=list(skipped),
                to_responder_id=None,
                dispatch_id=None,
                candidates=[],
                rule="chain_exhausted",
                detail="no one left to page in the pinned chain (repeat limit reached)",
                at=at,
                ack_deadline=None,
                **trace.fields(),
            )
            return
        assert step.decision.chosen is not None
        dispatch_id = dispatch_id_for(self.incident_id, len(self.order) + 1)
        deadline = self.policy.ack_deadline(self.risk, at)
        self.trigger_event(
            self.Escalated,
            from_dispatch_id=from_dispatch,
            reason=reason,
            step=step.name,
            round=step.position.round,
            index=step.position.index,
            skipped=list(skipped),
            to_responder_id=step.decision.chosen,
            dispatch_id=dispatch_id,
            candidates=step.decision.candidate_records(),
            rule=step.decision.rule,
            detail=step.decision.reason,
            at=at,
            ack_deadline=deadline,
            **trace.fields(),
        )
        self._page(dispatch_id, step.decision.chosen, "escalation", at, deadline, trace)

    def _page(
        self,
        dispatch_id: UUID,
        responder_id: str,
        kind: str,
        at: datetime,
        deadline: datetime | None,
        trace: Trace,
    ) -> None:
        self.trigger_event(
            self.ResponderPaged,
            dispatch_id=dispatch_id,
            responder_id=responder_id,
            kind=kind,
            at=at,
            ack_deadline=deadline,
            **trace.fields(),
        )

    # -- responders ------------------------------------------------------------------------
    def acknowledge(
        self, dispatch_id: UUID, responder_id: str, *, at: datetime, trace: Trace
    ) -> bool:
        """Returns False when this responder had already acknowledged (a repeated tap)."""
        dispatch = self._own(dispatch_id, responder_id)
        if self.acknowledged == dispatch_id:
            return False
        self._refuse_if_finished()
        if self.acknowledged is not None:
            winner = self.dispatches[self.acknowledged]
            raise Conflict(
                f"incident already acknowledged by {winner.responder_id} at "
                f"{winner.acknowledged_at.isoformat() if winner.acknowledged_at else '?'}",
                "dispatch_id",
            )
        if dispatch.state not in ACKABLE:
            raise Conflict(f"dispatch has moved on (it is {dispatch.state})", "dispatch_id")
        others = [
            d.dispatch_id
            for d in self.dispatches.values()
            if d.dispatch_id != dispatch_id and d.state == "assigned"
        ]
        self.trigger_event(
            self.Acknowledged,
            dispatch_id=dispatch_id,
            responder_id=responder_id,
            at=at,
            on_scene_deadline=self.policy.on_scene_deadline(self.risk, at),
            stood_down=others,
            **trace.fields(),
        )
        for other in others:
            self._page(other, self.dispatches[other].responder_id, "stand_down", at, None, trace)
        return True

    def decline(
        self, dispatch_id: UUID, responder_id: str, reason: str, *, at: datetime, trace: Trace
    ) -> None:
        dispatch = self._own(dispatch_id, responder_id)
        self._refuse_if_finished()
        if dispatch.state != "assigned" or self.acknowledged is not None:
            raise Conflict(
                f"dispatch can no longer be declined (it is {dispatch.state})", "dispatch_id"
            )
        self.trigger_event(
            self.Declined,
            dispatch_id=dispatch_id,
            responder_id=responder_id,
            reason=reason,
            at=at,
            **trace.fields(),
        )

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
        dispatch = self._own(dispatch_id, responder_id)
        self._refuse_if_finished()
        if self.acknowledged != dispatch_id:
            raise Conflict(
                "only the acknowledged dispatch reports field statuses; "
                f"this one is {dispatch.state}",
                "dispatch_id",
            )
        if status not in FIELD_STATUSES:
            raise Invalid(f"unknown status {status!r}", "state")
        if _ORDER[status] <= _ORDER[dispatch.state]:
            raise Conflict(f"status cannot go from {dispatch.state} to {status}", "state")
        if status == "handed_off" and not handed_off_to.strip():
            raise Invalid("a hand-off needs to whom (EMS, mobile crisis, guardian...)", "to")
        self.trigger_event(
            self.StatusReported,
            dispatch_id=dispatch_id,
            responder_id=responder_id,
            status=status,
            handed_off_to=handed_off_to,
            note=note,
            at=at,
            **trace.fields(),
        )

    def _own(self, dispatch_id: UUID, responder_id: str) -> Dispatch:
        dispatch = self.dispatch(dispatch_id)
        if dispatch.responder_id != responder_id:
            raise Conflict(
                f"dispatch {dispatch_id} is for {dispatch.responder_id}, not {responder_id}", "as"
            )
        return dispatch

    def _refuse_if_finished(self) -> None:
        if self.finished:
            raise Conflict(f"incident response is {self.phase}", "dispatch_id")

    # -- timers ----------------------------------------------------------------------------
    def pending_deadline(self, dispatch_id: UUID, kind: str) -> datetime | None:
        """The deadline still in force for (dispatch, kind), if any; anything else is stale."""
        if self.finished or self.phase == "exhausted":
            return None
        dispatch = self.dispatches.get(dispatch_id)
        if dispatch is None or (dispatch_id != self.order[-1] and kind == "ack"):
            return None
        if kind == "ack" and dispatch.state == "assigned" and self.acknowledged is None:
            return dispatch.ack_deadline
        if (
            kind == "on_scene"
            and self.acknowledged == dispatch_id
            and _ORDER.get(dispatch.state, 99) < _ORDER["with_student"]
        ):
            return dispatch.on_scene_deadline
        return None

    # -- from intake -----------------------------------------------------------------------
    def change_risk(self, risk: str, *, at: datetime, trace: Trace) -> None:
        """Recorded for the record; running deadlines stay as pinned when they were set."""
        if risk != self.risk:
            self.trigger_event(self.RiskChanged, risk=risk, at=at, **trace.fields())

    def cancel(self, reason: str, *, at: datetime, trace: Trace) -> None:
        if self.finished:
            return
        open_ = [
            d.dispatch_id
            for d in self.dispatches.values()
            if d.state not in ("declined", "escalated", "stood_down", "resolved")
        ]
        self.trigger_event(self.Cancelled, reason=reason, at=at, stood_down=open_, **trace.fields())
        for dispatch_id in open_:
            self._page(
                dispatch_id,
                self.dispatches[dispatch_id].responder_id,
                "stand_down",
                at,
                None,
                trace,
            )

    def close(self, *, at: datetime, trace: Trace) -> None:
        if self.phase not in ("cancelled", "closed"):
            self.trigger_event(self.Closed, at=at, **trace.fields())
