"""Integration events published by intake.

Minimum necessary: a pseudonymous student reference, never names or notes.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from events.vocabulary import Category, RiskLevel


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


IntakeEvent = IncidentReportedV1
