"""Dispatch's domain events -> public integration events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from events.dispatch import NoResponderEligibleV1, ResponderAssignedV1
from events.subjects import Subjects
from events.vocabulary import RiskLevel
from plumbing.relay import Outgoing
from services.dispatch.domain.response import IncidentResponse


class Translator:
    """Adds each response's incident facts, which live on the response, to its events."""

    def __init__(self, subjects: Subjects, load: Callable[[UUID, int], IncidentResponse]) -> None:
        self.subjects = subjects
        self.load = load

    def __call__(self, event: Any) -> Outgoing | None:
        if isinstance(event, IncidentResponse.Opened) or not isinstance(
            event, IncidentResponse.ResponderAssigned | IncidentResponse.NoResponderEligible
        ):
            return None
        opened = self.load(event.originator_id, event.originator_version)
        if isinstance(event, IncidentResponse.ResponderAssigned):
            return Outgoing(
                subject=self.subjects.responder_assigned,
                incident_id=str(opened.incident_id),
                message=ResponderAssignedV1(
                    incident_id=opened.incident_id,
                    dispatch_id=event.dispatch_id,
                    responder_id=event.responder_id,
                    school_id=opened.school_id,
                    risk=RiskLevel(opened.risk),
                    assigned_at=event.at,
                    rule=event.rule,
                ),
            )
        return Outgoing(
            subject=self.subjects.no_responder_eligible,
            incident_id=str(opened.incident_id),
            message=NoResponderEligibleV1(
                incident_id=opened.incident_id,
                school_id=opened.school_id,
                at=event.at,
                reason=event.reason,
            ),
        )
