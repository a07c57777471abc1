"""Intake's domain events -> public integration events (a deliberate, minimal translation)."""

from __future__ import annotations

from typing import Any

from events.intake import IncidentReportedV1
from events.subjects import Subjects
from events.vocabulary import Category, RiskLevel
from plumbing.relay import Outgoing
from services.intake.domain.incident import Incident


def translator(subjects: Subjects) -> Any:
    def translate(event: Any) -> Outgoing | None:
        if isinstance(event, Incident.Reported):
            return Outgoing(
                subject=subjects.incident_reported,
                incident_id=str(event.originator_id),
                message=IncidentReportedV1(
                    incident_id=event.originator_id,
                    school_id=event.school_id,
                    student_ref=event.student_ref,
                    categories=[Category(c) for c in event.categories],
                    risk=RiskLevel(event.risk),
                    reported_at=event.reported_at,
                ),
            )
        return None

    return translate
