"""The response to one incident: which responders were dispatched, and what became of it."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from plumbing.domain import Trace, TracedCreated, TracedEvent
from services.dispatch.domain.assignment import Decision


def response_id_for(incident_id: UUID) -> UUID:
    """One response per incident: a second delivery of the report finds the same one."""
    return uuid5(NAMESPACE_URL, f"lantern:dispatch:response:{incident_id}")


def dispatch_id_for(incident_id: UUID, attempt: int) -> UUID:
    return uuid5(NAMESPACE_URL, f"lantern:dispatch:dispatch:{incident_id}:{attempt}")


class IncidentResponse(Aggregate):
    class Opened(TracedCreated):
        incident_id: UUID
        school_id: str
        risk: str
        categories: list[str]
        reported_at: datetime

    class ResponderAssigned(TracedEvent):
        dispatch_id: UUID
        responder_id: str
        candidates: list[dict[str, Any]]
        rule: str
        reason: str
        at: datetime

        def apply(self, aggregate: IncidentResponse) -> None:
            aggregate.dispatches.append(
                {
                    "dispatch_id": self.dispatch_id,
                    "responder_id": self.responder_id,
                    "state": "assigned",
                }
            )

    class NoResponderEligible(TracedEvent):
        rule: str
        reason: str
        at: datetime

        def apply(self, aggregate: IncidentResponse) -> None:
            aggregate.unassigned = True

    def __init__(
        self,
        incident_id: UUID,
        school_id: str,
        risk: str,
        categories: list[str],
        reported_at: datetime,
    ) -> None:
        self.incident_id = incident_id
        self.school_id = school_id
        self.risk = risk
        self.categories = list(categories)
        self.dispatches: list[dict[str, Any]] = []
        self.unassigned = False

    @classmethod
    def open(
        cls,
        *,
        incident_id: UUID,
        school_id: str,
        risk: str,
        categories: list[str],
        reported_at: datetime,
        trace: Trace,
    ) -> IncidentResponse:
        return cls._create(
            cls.Opened,
            id=response_id_for(incident_id),
            incident_id=incident_id,
            school_id=school_id,
            risk=risk,
            categories=list(categories),
            reported_at=reported_at,
            **trace.fields(),
        )

    def apply_decision(self, decision: Decision, *, at: datetime, trace: Trace) -> None:
        """Record the assignment decision (or that nobody was eligible)."""
        if decision.chosen is None:
            self.trigger_event(
                self.NoResponderEligible,
                rule=decision.rule,
                reason=decision.reason,
                at=at,
                **trace.fields(),
            )
            return
        self.trigger_event(
            self.ResponderAssigned,
            dispatch_id=dispatch_id_for(self.incident_id, len(self.dispatches) + 1),
            responder_id=decision.chosen,
            candidates=[
                {"responder_id": c.responder_id, "load": c.load} for c in decision.candidates
            ],
            rule=decision.rule,
            reason=decision.reason,
            at=at,
            **trace.fields(),
        )
