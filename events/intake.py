"""Intake's part of the contract: its integration events, and the commands it accepts.

Minimum necessary on the wire: a pseudonymous student reference, never names or notes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from events.common import NonEmpty, Note, Ref
from events.vocabulary import Category, RiskLevel

# -- integration events ------------------------------------------------------------------


class IncidentReportedV1(
    msgspec.Struct, frozen=True, kw_only=True, tag="intake.incident_reported.v1"
):
    """A report was accepted and is durable at intake; dispatch should act on it."""

    incident_id: UUID
    school_id: str
    student_ref: str
    categories: list[Category]
    risk: RiskLevel
    reported_at: datetime
    # Added compatibly (optional, with defaults): older readers ignore them.
    location: str = ""
    immediate_danger: bool = False
    language: str = ""  # a responder language asked for ("" = any)
    linked_incident_id: UUID | None = None  # e.g. renewed risk found at a follow-up check-in


class ReportLinkedV1(msgspec.Struct, frozen=True, kw_only=True, tag="intake.report_linked.v1"):
    """Another report about a student with an open incident was added to it (not dispatched)."""

    incident_id: UUID
    report_id: UUID
    school_id: str
    risk: RiskLevel
    at: datetime


class RiskReclassifiedV1(
    msgspec.Struct, frozen=True, kw_only=True, tag="intake.risk_reclassified.v1"
):
    """A person changed the incident's risk level, with a reason."""

    incident_id: UUID
    risk: RiskLevel
    previous_risk: RiskLevel
    reason: str
    by: str
    at: datetime


class IncidentCorrectedV1(
    msgspec.Struct, frozen=True, kw_only=True, tag="intake.incident_corrected.v1"
):
    """An earlier fact was corrected.  ``value`` is omitted for sensitive fields."""

    incident_id: UUID
    field: str
    value: str | None
    reason: str
    by: str
    at: datetime
    effective_at: datetime


class IncidentNotedV1(msgspec.Struct, frozen=True, kw_only=True, tag="intake.incident_noted.v1"):
    """A note or observation was added (the text stays at intake)."""

    incident_id: UUID
    by: str
    at: datetime


class IncidentCancelledV1(
    msgspec.Struct, frozen=True, kw_only=True, tag="intake.incident_cancelled.v1"
):
    """The incident was cancelled (a false alarm, say): stop every pending step."""

    incident_id: UUID
    reason: str
    by: str
    at: datetime


class IncidentClosedV1(msgspec.Struct, frozen=True, kw_only=True, tag="intake.incident_closed.v1"):
    incident_id: UUID
    by: str
    at: datetime


IntakeEvent = (
    IncidentReportedV1
    | ReportLinkedV1
    | RiskReclassifiedV1
    | IncidentCorrectedV1
    | IncidentNotedV1
    | IncidentCancelledV1
    | IncidentClosedV1
)

# -- commands and replies --------------------------------------------------------------------


class ReportIncidentV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A staff member reports a student in distress."""

    school_id: Ref
    student_ref: Ref
    categories: Annotated[list[Category], msgspec.Meta(min_length=1, max_length=8)]
    risk: RiskLevel
    reporter_id: Ref
    note: Note = ""
    idempotency_key: Annotated[str, msgspec.Meta(max_length=128)] = ""


class IncidentAcceptedV1(msgspec.Struct, frozen=True, kw_only=True):
    """Reply to a report: the incident is stored durably under this id."""

    incident_id: UUID
    duplicate: bool = False


class AddSchoolV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    school_id: Ref
    name: NonEmpty


MESSAGES: dict[str, type[msgspec.Struct]] = {
    "intake.incident_reported.v1": IncidentReportedV1,
    "intake.report_linked.v1": ReportLinkedV1,
    "intake.risk_reclassified.v1": RiskReclassifiedV1,
    "intake.incident_corrected.v1": IncidentCorrectedV1,
    "intake.incident_noted.v1": IncidentNotedV1,
    "intake.incident_cancelled.v1": IncidentCancelledV1,
    "intake.incident_closed.v1": IncidentClosedV1,
    "command.report_incident.v1": ReportIncidentV1,
    "reply.incident_accepted.v1": IncidentAcceptedV1,
    "command.add_school.v1": AddSchoolV1,
}


# -- queries -----------------------------------------------------------------------------------


class ShowIncidentV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    incident_id: UUID


class ListSchoolsV1(msgspec.Struct, frozen=True, kw_only=True):
    pass


MESSAGES.update({"query.show_incident.v1": ShowIncidentV1, "query.list_schools.v1": ListSchoolsV1})
