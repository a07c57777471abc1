"""The incident: one reported situation about one student.

The write model keeps only what decisions need.  Details for reading are
derived from the events elsewhere.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate

from plumbing.domain import Trace, TracedCreated


class Incident(Aggregate):
    class Reported(TracedCreated):
        school_id: str
        student_ref: str
        categories: list[str]
        risk: str
        reporter_id: str
        note: str
        reported_at: datetime

    def __init__(
        self,
        school_id: str,
        student_ref: str,
        categories: list[str],
        risk: str,
        reporter_id: str,
        note: str,
        reported_at: datetime,
    ) -> None:
        self.school_id = school_id
        self.student_ref = student_ref
        self.categories = list(categories)
        self.risk = risk
        self.reporter_id = reporter_id
        self.reported_at = reported_at
        self.state = "open"

    @classmethod
    def report(
        cls,
        *,
        incident_id: UUID,
        school_id: str,
        student_ref: str,
        categories: list[str],
        risk: str,
        reporter_id: str,
        note: str,
        at: datetime,
        trace: Trace,
    ) -> Incident:
        return cls._create(
            cls.Reported,
            id=incident_id,
            school_id=school_id,
            student_ref=student_ref,
            categories=sorted(set(categories), key=categories.index),
            risk=risk,
            reporter_id=reporter_id,
            note=note,
            reported_at=at,
            **trace.fields(),
        )

    def same_report(self, *, school_id: str, student_ref: str) -> bool:
        """Whether a retried submission describes this incident (idempotency check)."""
        return self.school_id == school_id and self.student_ref == student_ref
