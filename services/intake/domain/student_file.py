"""The student file: which incident is open for a student, and their identifying details.

Why an aggregate per student: "one open incident per student" is a rule across
incidents, and only an aggregate can guard it without a race.  Every new
incident and every linked report is recorded together with the file, in one
transaction; two reports racing for one student write the same file version,
the store refuses the second, and the loser (retried) links instead.

The identifying details (name, date of birth, grade) live here, apart from the
incident, so they stay in intake's store: they are never translated to the
wire, never logged, and can be protected or erased as one record.
"""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from plumbing.domain import Conflict, Trace, TracedCreated, TracedEvent

DETAIL_FIELDS = ("name", "date_of_birth", "grade")


def student_file_id(student_ref: str) -> UUID:
    """Deterministic, so every report about a student finds (or races for) the same file."""
    return uuid5(NAMESPACE_URL, f"lantern:intake:student:{student_ref}")


class StudentFile(Aggregate):
    class Opened(TracedCreated):
        pass

    class IncidentOpened(TracedEvent):
        incident_id: UUID

        def apply(self, aggregate: StudentFile) -> None:
            aggregate.open_incident_id = self.incident_id

    class ReportFiled(TracedEvent):
        """A report was linked to the open incident (kept so a retry finds it again)."""

        report_id: UUID
        incident_id: UUID

        def apply(self, aggregate: StudentFile) -> None:
            aggregate.reports[self.report_id] = self.incident_id

    class IncidentEnded(TracedEvent):
        incident_id: UUID

        def apply(self, aggregate: StudentFile) -> None:
            if aggregate.open_incident_id == self.incident_id:
                aggregate.open_incident_id = None

    class DetailsRecorded(TracedEvent):
        """Sensitive: identifying details as reported or corrected."""

        details: dict[str, str]
        incident_id: UUID

        def apply(self, aggregate: StudentFile) -> None:
            aggregate.details.update(self.details)

    def __init__(self) -> None:
        self.open_incident_id: UUID | None = None
        self.reports: dict[UUID, UUID] = {}
        self.details: dict[str, str] = {}

    @classmethod
    def open(cls, student_ref: str, trace: Trace) -> StudentFile:
        return cls._create(cls.Opened, id=student_file_id(student_ref), **trace.fields())

    def incident_opened(
        self, incident_id: UUID, trace: Trace, *, follows: UUID | None = None
    ) -> None:
        """Only when no incident is open (the caller links otherwise), or when the new one
        explicitly follows the open one: renewed risk found at a follow-up check-in is a new
        episode that must be dispatched, not folded into the old record."""
        if self.open_incident_id is not None and self.open_incident_id != follows:
            raise Conflict(f"incident {self.open_incident_id} is open for this student")
        if self.open_incident_id is not None:
            self.trigger_event(
                self.IncidentEnded, incident_id=self.open_incident_id, **trace.fields()
            )
        self.trigger_event(self.IncidentOpened, incident_id=incident_id, **trace.fields())

    def report_filed(self, report_id: UUID, incident_id: UUID, trace: Trace) -> None:
        self.trigger_event(
            self.ReportFiled, report_id=report_id, incident_id=incident_id, **trace.fields()
        )

    def incident_ended(self, incident_id: UUID, trace: Trace) -> None:
        """The incident was cancelled or closed: a later report opens a new one."""
        if self.open_incident_id == incident_id:
            self.trigger_event(self.IncidentEnded, incident_id=incident_id, **trace.fields())

    def record_details(self, details: dict[str, Any], incident_id: UUID, trace: Trace) -> None:
        """Keep what is new or different; repeating the same details changes nothing."""
        changed = {
            k: str(v) for k, v in details.items() if v not in (None, "") and k in DETAIL_FIELDS
        }
        changed = {k: v for k, v in changed.items() if self.details.get(k) != v}
        if changed:
            self.trigger_event(
                self.DetailsRecorded, details=changed, incident_id=incident_id, **trace.fields()
            )
