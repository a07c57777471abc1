"""Intake's application service: load -> decide -> record.

A report is durable once :meth:`report_incident` returns; the caller may tell
the reporter so.  Publishing to other services happens later, from the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.application import AggregateNotFoundError

from events.intake import AddSchoolV1, ReportIncidentV1
from plumbing.application import LanternApplication
from plumbing.domain import Conflict, Invalid, NotFound, Trace
from services.intake.domain.incident import Incident
from services.intake.domain.schools import DIRECTORY_ID, SchoolDirectory


@dataclass(frozen=True)
class Accepted:
    incident_id: UUID
    duplicate: bool


def incident_id_for(idempotency_key: str) -> UUID:
    """A retried submission with the same key maps to the same incident."""
    if idempotency_key:
        return uuid5(NAMESPACE_URL, f"lantern:intake:report:{idempotency_key}")
    return uuid4()


class IntakeApplication(LanternApplication):
    name = "intake"

    def report_incident(self, command: ReportIncidentV1, *, at: datetime, trace: Trace) -> Accepted:
        incident_id = incident_id_for(command.idempotency_key)
        if command.idempotency_key and self.exists(incident_id):
            existing = self.incident(incident_id)
            if not existing.same_report(
                school_id=command.school_id, student_ref=command.student_ref
            ):
                raise Conflict(
                    "idempotency key was already used for a different report",
                    field="idempotency_key",
                )
            return Accepted(incident_id, duplicate=True)
        if not self.directory().knows(command.school_id):
            raise Invalid(f"unknown school {command.school_id!r}", field="school_id")
        incident = Incident.report(
            incident_id=incident_id,
            school_id=command.school_id,
            student_ref=command.student_ref,
            categories=[str(c) for c in command.categories],
            risk=str(command.risk),
            reporter_id=command.reporter_id,
            note=command.note,
            at=at,
            trace=trace,
        )
        self.record(incident)
        return Accepted(incident_id, duplicate=False)

    def add_school(self, command: AddSchoolV1, *, trace: Trace) -> None:
        directory = self.directory() if self.exists(DIRECTORY_ID) else SchoolDirectory.open(trace)
        directory.add_school(command.school_id, command.name, trace)
        self.record(directory)

    # -- queries -------------------------------------------------------------------------
    def directory(self) -> SchoolDirectory:
        try:
            directory: SchoolDirectory = self.repository.get(DIRECTORY_ID)
        except AggregateNotFoundError:
            return SchoolDirectory()
        return directory

    def schools(self) -> list[dict[str, str]]:
        return [{"id": k, "name": v} for k, v in sorted(self.directory().schools.items())]

    def incident(self, incident_id: UUID) -> Incident:
        try:
            incident: Incident = self.repository.get(incident_id)
        except AggregateNotFoundError:
            raise NotFound(f"no incident {incident_id}", field="incident_id") from None
        return incident

    def incident_view(self, incident_id: UUID) -> dict[str, Any]:
        incident = self.incident(incident_id)
        return {
            "incident_id": str(incident.id),
            "school_id": incident.school_id,
            "student_ref": incident.student_ref,
            "categories": incident.categories,
            "risk": incident.risk,
            "state": incident.state,
            "reporter_id": incident.reporter_id,
            "reported_at": incident.reported_at.isoformat(),
        }
