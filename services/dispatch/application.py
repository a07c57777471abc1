"""Dispatch's application service: load -> decide -> record."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from events.dispatch import AddResponderV1
from events.intake import IncidentReportedV1
from plumbing.application import LanternApplication
from plumbing.domain import NotFound, Trace
from services.dispatch.domain.assignment import choose_responder
from services.dispatch.domain.response import IncidentResponse, response_id_for
from services.dispatch.domain.roster import ROSTER_ID, Responder, Roster
from services.dispatch.projections import DispatchBoard


class DispatchApplication(LanternApplication):
    name = "dispatch"

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        self.board = DispatchBoard(self)

    # -- roster ----------------------------------------------------------------------------
    def roster(self) -> Roster:
        try:
            roster: Roster = self.repository.get(ROSTER_ID)
        except AggregateNotFoundError:
            return Roster()
        return roster

    def enroll_responder(self, command: AddResponderV1, *, trace: Trace) -> None:
        roster = self.roster() if self.exists(ROSTER_ID) else Roster.open(trace)
        roster.enroll(
            Responder(
                responder_id=command.responder_id,
                name=command.name,
                role=str(command.role),
                schools=tuple(command.schools),
                skills=tuple(command.skills),
                available=command.available,
            ),
            trace,
        )
        self.record(roster)

    # -- reacting to intake ---------------------------------------------------------------------
    def on_incident_reported(
        self, event: IncidentReportedV1, trace: Trace, *, at: datetime
    ) -> list[Aggregate]:
        """Open the incident's response and assign a responder (or record that none is eligible)."""
        if self.exists(response_id_for(event.incident_id)):
            return []
        response = IncidentResponse.open(
            incident_id=event.incident_id,
            school_id=event.school_id,
            risk=str(event.risk),
            categories=[str(c) for c in event.categories],
            reported_at=event.reported_at,
            trace=trace,
        )
        self.board.catch_up()
        decision = choose_responder(
            self.roster().responders.values(), school_id=event.school_id, loads=self.board.loads()
        )
        response.apply_decision(decision, at=at, trace=trace)
        return [response]

    # -- queries ---------------------------------------------------------------------------
    def response_view(self, incident_id: UUID) -> dict[str, Any]:
        self.board.catch_up()
        with self.board.lock:
            info = self.board.incidents.get(str(incident_id))
            if info is None:
                raise NotFound(f"dispatch has not seen incident {incident_id}", "incident_id")
            dispatches = [
                self.board.dispatches[d] for d in self.board.by_incident[str(incident_id)]
            ]
        current = dict(dispatches[-1]) if dispatches else None
        return {
            "incident_id": str(incident_id),
            "unassigned": info["unassigned"],
            "current": current,
            "dispatches": dispatches,
        }

    def dispatches(self, *, responder: str | None = None, state: str | None = None) -> list[Any]:
        self.board.catch_up()
        with self.board.lock:
            rows = list(self.board.dispatches.values())
        return [
            dict(d)
            for d in rows
            if (responder is None or d["responder_id"] == responder)
            and (state is None or d["state"] == state)
        ]

    def responders(self) -> list[dict[str, Any]]:
        return [
            r.as_record()
            for r in sorted(self.roster().responders.values(), key=lambda r: r.responder_id)
        ]
