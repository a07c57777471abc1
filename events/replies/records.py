"""Records' replies besides the timeline and the record of disclosures (``events.records``)."""

from __future__ import annotations

import msgspec

from events.common import Time


class IncidentMeasuresV1(msgspec.Struct, frozen=True, kw_only=True):
    """Seconds from the report to each step of one incident's response (null: not reached)."""

    incident_id: str
    school_id: str | None
    responder_id: str | None
    period: str | None
    reported_at: Time | None
    to_assign_s: float | None
    to_acknowledge_s: float | None
    to_with_student_s: float | None
    to_notify_guardian_s: float | None
    to_first_followup_s: float | None
    escalations: int
    declines: int


class DurationStatsV1(msgspec.Struct, frozen=True, kw_only=True):
    count: int
    median: float | None
    p90: float | None
    max: float | None


class MeasuresSummaryV1(msgspec.Struct, frozen=True, kw_only=True):
    incidents: int
    escalations: int
    declines: int
    escalated_incidents: int
    to_assign_s: DurationStatsV1
    to_acknowledge_s: DurationStatsV1
    to_with_student_s: DurationStatsV1
    to_notify_guardian_s: DurationStatsV1
    to_first_followup_s: DurationStatsV1


class MeasuresGroupsV1(msgspec.Struct, frozen=True, kw_only=True):
    overall: MeasuresSummaryV1
    by_school: dict[str, MeasuresSummaryV1]
    by_responder: dict[str, MeasuresSummaryV1]
    by_period: dict[str, MeasuresSummaryV1]


class ResponseMeasuresV1(msgspec.Struct, frozen=True, kw_only=True):
    incidents: list[IncidentMeasuresV1]
    summary: MeasuresGroupsV1


class AuditRowV1(msgspec.Struct, frozen=True, kw_only=True):
    """One audit entry as the history and its exports show it (``list_audit``).

    ``count`` above 1: this entry stands for that many identical reads by the
    same identity, the first at ``at`` and the last at ``last_at``.
    """

    audit_id: str
    service: str
    actor: str
    role: str
    action: str
    kind: str  # command | read
    interface: str
    outcome: str
    status: int
    purpose: str = ""
    incident_id: str | None = None
    student_ref: str | None = None
    school_id: str | None = None
    break_glass: bool = False
    break_glass_reason: str = ""
    at: Time
    count: int = 1
    last_at: Time | None = None
    type: str = "audit.recorded.v1"
    event_id: str
    recorded_at: Time | None
    causation_id: str
    correlation_id: str


MESSAGES: dict[str, type[msgspec.Struct]] = {
    "reply.response_measures.v1": ResponseMeasuresV1,
    "reply.audit_row.v1": AuditRowV1,
}
