"""Intake's part of the contract: its integration events, and the commands it accepts.

Minimum necessary on the wire: a pseudonymous student reference, never names or notes.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated
from uuid import UUID

import msgspec

from events.common import NonEmpty, Note, Reason, Ref, Time
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
    reported_at: Time
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
    at: Time


class RiskReclassifiedV1(
    msgspec.Struct, frozen=True, kw_only=True, tag="intake.risk_reclassified.v1"
):
    """A person changed the incident's risk level, with a reason."""

    incident_id: UUID
    risk: RiskLevel
    previous_risk: RiskLevel
    reason: str
    by: str
    at: Time


class IncidentCorrectedV1(
    msgspec.Struct, frozen=True, kw_only=True, tag="intake.incident_corrected.v1"
):
    """An earlier fact was corrected.  ``value`` is omitted for sensitive fields."""

    incident_id: UUID
    field: str
    value: str | None
    reason: str
    by: str
    at: Time
    effective_at: Time


class IncidentNotedV1(msgspec.Struct, frozen=True, kw_only=True, tag="intake.incident_noted.v1"):
    """A note or observation was added (the text stays at intake)."""

    incident_id: UUID
    by: str
    at: Time


class IncidentCancelledV1(
    msgspec.Struct, frozen=True, kw_only=True, tag="intake.incident_cancelled.v1"
):
    """The incident was cancelled (a false alarm, say): stop every pending step."""

    incident_id: UUID
    reason: str
    by: str
    at: Time


# -- version 2: no free text on the wire ----------------------------------------------------
# A reason is free text that may name anyone; it stays at intake, in the incident's record,
# and is read there through the audited ``show_incident`` (``GET /incidents/{id}``: its
# ``reclassifications``, ``corrections`` and ``cancelled``).  The incident id and the
# time are the reference.  The v1 events stay readable: old streams hold them.


class RiskReclassifiedV2(
    msgspec.Struct, frozen=True, kw_only=True, tag="intake.risk_reclassified.v2"
):
    """A person changed the incident's risk level; the reason stays at intake."""

    incident_id: UUID
    risk: RiskLevel
    previous_risk: RiskLevel
    by: str
    at: Time


class IncidentCorrectedV2(
    msgspec.Struct, frozen=True, kw_only=True, tag="intake.incident_corrected.v2"
):
    """An earlier fact was corrected.  ``value`` is None for sensitive fields; the reason
    stays at intake."""

    incident_id: UUID
    field: str
    value: str | None
    by: str
    at: Time
    effective_at: Time


class IncidentCancelledV2(
    msgspec.Struct, frozen=True, kw_only=True, tag="intake.incident_cancelled.v2"
):
    """The incident was cancelled: stop every pending step.  The reason stays at intake."""

    incident_id: UUID
    by: str
    at: Time


class IncidentClosedV1(msgspec.Struct, frozen=True, kw_only=True, tag="intake.incident_closed.v1"):
    incident_id: UUID
    by: str
    at: Time


IntakeEvent = (
    IncidentReportedV1
    | ReportLinkedV1
    | RiskReclassifiedV1
    | RiskReclassifiedV2
    | IncidentCorrectedV1
    | IncidentCorrectedV2
    | IncidentNotedV1
    | IncidentCancelledV1
    | IncidentCancelledV2
    | IncidentClosedV1
)

# -- commands and replies --------------------------------------------------------------------


class DangerKind(StrEnum):
    """Immediate danger: the reporter calls 911 first; the risk becomes imminent."""

    WEAPON = "weapon"
    MEDICAL_EMERGENCY = "medical_emergency"
    ATTEMPT_IN_PROGRESS = "attempt_in_progress"


Text200 = Annotated[str, msgspec.Meta(max_length=200)]
WarningSign = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
WarningSigns = Annotated[list[WarningSign], msgspec.Meta(max_length=32)]
ReporterRole = Annotated[str, msgspec.Meta(max_length=64, pattern=r"^[A-Za-z0-9_.:-]*$")]
Language = Annotated[
    str, msgspec.Meta(max_length=35, pattern=r"^([A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*)?$")
]
AwareTime = Time


class ScreenerV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """C-SSRS screener answers (yes = true).  q3-q5 are left out when q2 is no.

    q1 wished to be dead; q2 thoughts of killing oneself; q3 thought about how;
    q4 some intent to act; q5 a specific plan with intent; q6 did or prepared
    anything to end one's life, and q6_past_3_months whether that was recent.
    """

    q1: bool
    q2: bool
    q3: bool | None = None
    q4: bool | None = None
    q5: bool | None = None
    q6: bool
    q6_past_3_months: bool | None = None


class StudentDetailsV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Identifying details: sensitive, kept only in intake's store, never published."""

    name: Text200 = ""
    date_of_birth: date | None = None
    grade: Annotated[str, msgspec.Meta(max_length=16)] = ""

    def __repr__(self) -> str:  # never let a log line or traceback show them
        return "StudentDetailsV1(<redacted>)"


class ReportIncidentV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A staff member reports a student in distress.

    ``risk`` may be left out only when a ``screener`` is given (it then defaults
    to the screener's suggestion); choosing another level than the suggestion
    needs ``risk_override_reason``.
    """

    school_id: Ref
    student_ref: Ref
    categories: Annotated[list[Category], msgspec.Meta(min_length=1, max_length=8)]
    risk: RiskLevel | None = None
    reporter_id: Ref
    note: Note = ""
    idempotency_key: Annotated[str, msgspec.Meta(max_length=128)] = ""
    reporter_role: ReporterRole = ""
    location: Text200 = ""
    warning_signs: WarningSigns = []
    immediate_danger: DangerKind | None = None
    language: Language = ""
    screener: ScreenerV1 | None = None
    risk_override_reason: Annotated[str, msgspec.Meta(max_length=2_000)] = ""
    student_details: StudentDetailsV1 | None = None
    linked_incident_id: UUID | None = None


class IncidentAcceptedV1(msgspec.Struct, frozen=True, kw_only=True):
    """Reply to a report: the incident is stored durably under this id.

    ``linked`` is true when the student already had an open incident: the report
    was added to it (``incident_id`` is that incident) and nobody is dispatched twice.
    """

    incident_id: UUID
    duplicate: bool = False
    linked: bool = False
    report_id: UUID | None = None
    risk: RiskLevel | None = None
    suggested_risk: RiskLevel | None = None
    emergency_instruction: str = ""


class AddNoteV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A note or observed warning signs, added to an open incident."""

    incident_id: UUID
    by: Ref
    text: Note = ""
    warning_signs: WarningSigns = []


class ReclassifyRiskV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    incident_id: UUID
    by: Ref
    risk: RiskLevel
    reason: Reason


class CorrectIncidentV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Correct an earlier fact.  ``effective_at``: since when the new value was true."""

    incident_id: UUID
    by: Ref
    field: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    value: Annotated[str, msgspec.Meta(max_length=2_000)]
    reason: Reason
    effective_at: AwareTime | None = None


class CancelIncidentV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    incident_id: UUID
    by: Ref
    reason: Reason


class CloseIncidentV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    incident_id: UUID
    by: Ref


class IncidentChangedV1(msgspec.Struct, frozen=True, kw_only=True):
    """Reply to a later change: the incident as it now stands."""

    incident_id: UUID
    state: str
    risk: RiskLevel


class AddSchoolV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    school_id: Ref
    name: NonEmpty


MESSAGES: dict[str, type[msgspec.Struct]] = {
    "intake.incident_reported.v1": IncidentReportedV1,
    "intake.report_linked.v1": ReportLinkedV1,
    "intake.risk_reclassified.v1": RiskReclassifiedV1,
    "intake.risk_reclassified.v2": RiskReclassifiedV2,
    "intake.incident_corrected.v1": IncidentCorrectedV1,
    "intake.incident_corrected.v2": IncidentCorrectedV2,
    "intake.incident_noted.v1": IncidentNotedV1,
    "intake.incident_cancelled.v1": IncidentCancelledV1,
    "intake.incident_cancelled.v2": IncidentCancelledV2,
    "intake.incident_closed.v1": IncidentClosedV1,
    "command.report_incident.v1": ReportIncidentV1,
    "reply.incident_accepted.v1": IncidentAcceptedV1,
    "command.add_school.v1": AddSchoolV1,
    "command.add_note.v1": AddNoteV1,
    "command.reclassify_risk.v1": ReclassifyRiskV1,
    "command.correct_incident.v1": CorrectIncidentV1,
    "command.cancel_incident.v1": CancelIncidentV1,
    "command.close_incident.v1": CloseIncidentV1,
    "reply.incident_changed.v1": IncidentChangedV1,
}


# -- queries -----------------------------------------------------------------------------------


class ShowIncidentV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    incident_id: UUID


class ListSchoolsV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


MESSAGES.update({"query.show_incident.v1": ShowIncidentV1, "query.list_schools.v1": ListSchoolsV1})
