"""Intake's domain events -> public integration events (a deliberate, minimal translation).

Minimum necessary: a pseudonymous student reference, never names, notes or
warning signs; a correction of a sensitive field goes out without its value;
no free text: a reclassification's, correction's or cancellation's reason stays
in the incident's record (the v2 events).
Events that concern only intake (the student file, a screener override whose
outcome the report already carries) are not published.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from events.intake import (
    IncidentCancelledV2,
    IncidentClosedV1,
    IncidentCorrectedV2,
    IncidentNotedV1,
    IncidentReportedV1,
    ReportLinkedV1,
    RiskReclassifiedV2,
)
from events.subjects import Subjects
from events.vocabulary import Category, RiskLevel
from plumbing.envelope import Outgoing, Translator
from services.intake.domain.incident import Incident


def translator(subjects: Subjects) -> Translator:
    def reported(e: Incident.Reported) -> Outgoing:
        return Outgoing(
            subjects.incident_reported,
            IncidentReportedV1(
                incident_id=e.originator_id,
                school_id=e.school_id,
                student_ref=e.student_ref,
                categories=[Category(c) for c in e.categories],
                risk=RiskLevel(e.risk),
                reported_at=e.reported_at,
                location=e.location,
                immediate_danger=e.immediate_danger is not None,
                language=e.language,
                linked_incident_id=e.linked_incident_id,
            ),
        )

    def linked(e: Incident.ReportLinked) -> Outgoing:
        return Outgoing(
            subjects.report_linked,
            ReportLinkedV1(
                incident_id=e.originator_id,
                report_id=e.report_id,
                school_id=e.school_id,
                risk=RiskLevel(e.risk),
                at=e.at,
            ),
        )

    def reclassified(e: Incident.Reclassified) -> Outgoing:
        return Outgoing(
            subjects.risk_reclassified,
            RiskReclassifiedV2(
                incident_id=e.originator_id,
                risk=RiskLevel(e.risk),
                previous_risk=RiskLevel(e.previous_risk),
                by=e.by,
                at=e.at,
            ),
        )

    def corrected(e: Incident.Corrected) -> Outgoing:
        return Outgoing(
            subjects.incident_corrected,
            IncidentCorrectedV2(
                incident_id=e.originator_id,
                field=e.field,
                value=None if e.sensitive else e.value,
                by=e.by,
                at=e.at,
                effective_at=e.effective_at,
            ),
        )

    def noted(e: Incident.Noted) -> Outgoing:
        return Outgoing(
            subjects.incident_noted, IncidentNotedV1(incident_id=e.originator_id, by=e.by, at=e.at)
        )

    def cancelled(e: Incident.Cancelled) -> Outgoing:
        return Outgoing(
            subjects.incident_cancelled,
            IncidentCancelledV2(incident_id=e.originator_id, by=e.by, at=e.at),
        )

    def closed(e: Incident.Closed) -> Outgoing:
        return Outgoing(
            subjects.incident_closed,
            IncidentClosedV1(incident_id=e.originator_id, by=e.by, at=e.at),
        )

    table: dict[type[Any], Callable[[Any], Outgoing]] = {
        Incident.Reported: reported,
        Incident.ReportLinked: linked,
        Incident.Reclassified: reclassified,
        Incident.Corrected: corrected,
        Incident.Noted: noted,
        Incident.Cancelled: cancelled,
        Incident.Closed: closed,
    }

    def translate(event: Any) -> Outgoing | None:
        build = table.get(type(event))
        if build is None:
            return None
        outgoing = build(event)
        return Outgoing(outgoing.subject, outgoing.message, incident_id=str(event.originator_id))

    return translate
