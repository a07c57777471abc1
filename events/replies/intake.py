"""Intake's replies: an incident as it stands, schools, a student's file, shredding."""

from __future__ import annotations

import msgspec

from events.common import Time


class SchoolV1(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str


class ScreenerViewV1(msgspec.Struct, frozen=True, kw_only=True):
    answers: dict[str, bool | None]
    suggested: str | None
    chosen: str


class LinkedReportV1(msgspec.Struct, frozen=True, kw_only=True):
    report_id: str
    school_id: str
    reporter_id: str
    reporter_role: str
    location: str
    language: str
    categories: list[str]
    risk: str
    immediate_danger: str | None
    screener: ScreenerViewV1 | None
    at: Time


class ReclassificationV1(msgspec.Struct, frozen=True, kw_only=True, rename={"from_": "from"}):
    from_: str
    to: str
    reason: str
    by: str
    at: Time


class CorrectionV1(msgspec.Struct, frozen=True, kw_only=True):
    field: str
    value: str | None
    reason: str
    by: str
    at: Time
    effective_at: Time


class ScreenerOverrideV1(msgspec.Struct, frozen=True, kw_only=True):
    report_id: str
    suggested: str | None
    chosen: str
    reason: str
    by: str


class CancelledV1(msgspec.Struct, frozen=True, kw_only=True):
    reason: str
    by: str
    at: Time


class ClosedV1(msgspec.Struct, frozen=True, kw_only=True):
    by: str
    at: Time


class IncidentViewV1(msgspec.Struct, frozen=True, kw_only=True):
    """An incident as it stands (``show_incident``): note texts and student details stay inside.

    ``notes`` counts the notes; ``student_details_on_file`` says whether any
    identifying details are held (``show_student`` opens them, audited).
    """

    incident_id: str
    school_id: str
    student_ref: str
    categories: list[str]
    risk: str
    state: str  # open | cancelled | closed
    reporter_id: str
    reporter_role: str
    reported_at: Time
    location: str
    warning_signs: list[str]
    immediate_danger: str | None
    language: str
    screener: ScreenerViewV1 | None
    linked_incident_id: str | None
    linked_reports: list[LinkedReportV1]
    notes: int
    reclassifications: list[ReclassificationV1]
    corrections: list[CorrectionV1]
    overrides: list[ScreenerOverrideV1]
    cancelled: CancelledV1 | None
    closed: ClosedV1 | None
    student_details_on_file: bool


class StudentNoteV1(msgspec.Struct, frozen=True, kw_only=True):
    incident_id: str
    text: str


class StudentViewV1(msgspec.Struct, frozen=True, kw_only=True):
    """A student's identifying details and note texts (``[shredded]`` once shredded)."""

    student_ref: str
    details: dict[str, str]
    notes: list[StudentNoteV1]


class StudentShreddedV1(msgspec.Struct, frozen=True, kw_only=True):
    student_ref: str
    shredded: bool
    key_deleted: bool


MESSAGES: dict[str, type[msgspec.Struct]] = {
    "reply.school.v1": SchoolV1,
    "reply.incident.v1": IncidentViewV1,
    "reply.student.v1": StudentViewV1,
    "reply.student_shredded.v1": StudentShreddedV1,
}
