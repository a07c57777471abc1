"""Dispatch's read models: the dispatch board (lists, loads, lookups by incident)."""

from __future__ import annotations

from collections import Counter
from typing import Any
from uuid import UUID

from plumbing.local_view import LocalView
from services.dispatch.domain.response import IncidentResponse

ACTIVE_STATES = frozenset({"assigned", "acknowledged", "en_route", "with_student"})


class DispatchBoard(LocalView):
    """Every dispatch with its current state; answers "who is busy?" and "what is open?"."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.dispatches: dict[str, dict[str, Any]] = {}
        self.by_incident: dict[str, list[str]] = {}
        self.incidents: dict[str, dict[str, Any]] = {}
        self.response_incident: dict[UUID, str] = {}

    def apply(self, event: Any) -> None:
        if isinstance(event, IncidentResponse.Opened):
            self.incidents[str(event.incident_id)] = {
                "incident_id": str(event.incident_id),
                "school_id": event.school_id,
                "risk": event.risk,
                "unassigned": False,
            }
            self.by_incident.setdefault(str(event.incident_id), [])
            self.response_incident[event.originator_id] = str(event.incident_id)
        elif isinstance(event, IncidentResponse.ResponderAssigned):
            incident_id = self._incident_of(event)
            dispatch_id = str(event.dispatch_id)
            self.dispatches[dispatch_id] = {
                "dispatch_id": dispatch_id,
                "incident_id": incident_id,
                "responder_id": event.responder_id,
                "state": "assigned",
                "assigned_at": event.at.isoformat(),
                "rule": event.rule,
                "reason": event.reason,
                "candidates": event.candidates,
            }
            self.by_incident.setdefault(incident_id, []).append(dispatch_id)
        elif isinstance(event, IncidentResponse.NoResponderEligible):
            self.incidents[self._incident_of(event)]["unassigned"] = True

    def _incident_of(self, event: Any) -> str:
        return self.response_incident[event.originator_id]

    def loads(self) -> Counter[str]:
        with self.lock:
            return Counter(
                d["responder_id"] for d in self.dispatches.values() if d["state"] in ACTIVE_STATES
            )
