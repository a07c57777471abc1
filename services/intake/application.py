"""Intake's application service: load -> decide -> record.

A report is durable once :meth:`report_incident` returns; the caller may tell
the reporter so.  Publishing to other services happens later, from the store.

"One open incident per student" is kept by the student file, recorded in the
same transaction as the incident.  When two writers race, the store refuses
the second write (``IntegrityError``); the command is then decided once more on
the fresh state, so the loser of a race between two reports links to the
winner's incident instead of opening a second one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from events.intake import (
    AddNoteV1,
    AddSchoolV1,
    CancelIncidentV1,
    CloseIncidentV1,
    CorrectIncidentV1,
    ReclassifyRiskV1,
    ReportIncidentV1,
)
from plumbing.domain import Conflict, Invalid, NotFound, Trace
from plumbing.privacy import Sealer
from plumbing.store.application import LanternApplication
from services.intake.domain.facts import CORRECTABLE, ReportFacts
from services.intake.domain.incident import Incident
from services.intake.domain.schools import DIRECTORY_ID, SchoolDirectory
from services.intake.domain.student_file import StudentFile, student_file_id
from services.intake.domain.triage import ScreenerAnswers, Triage, triage
from services.intake.projections import incident_view

T = TypeVar("T")


@dataclass(frozen=True)
class Accepted:
    incident_id: UUID
    duplicate: bool
    linked: bool = False
    report_id: UUID | None = None
    triage: Triage | None = None


def incident_id_for(idempotency_key: str) -> UUID:
    """A retried submission with the same key maps to the same report (and incident)."""
    if idempotency_key:
        return uuid5(NAMESPACE_URL, f"lantern:intake:report:{idempotency_key}")
    return uuid4()


def facts_of(command: ReportIncidentV1) -> ReportFacts:
    return ReportFacts(
        school_id=command.school_id,
        student_ref=command.student_ref,
        categories=[str(c) for c in command.categories],
        reporter_id=command.reporter_id,
        reporter_role=command.reporter_role,
        location=command.location,
        warning_signs=list(command.warning_signs),
        note=command.note,
        language=command.language,
    )


def triage_of(command: ReportIncidentV1) -> Triage:
    s = command.screener
    answers = (
        None
        if s is None
        else ScreenerAnswers(s.q1, s.q2, s.q3, s.q4, s.q5, s.q6, s.q6_past_3_months)
    )
    return triage(
        risk=str(command.risk) if command.risk else None,
        screener=answers,
        override_reason=command.risk_override_reason,
        immediate_danger=str(command.immediate_danger) if command.immediate_danger else None,
    )


class IntakeApplication(LanternApplication):
    name = "intake"
    snapshotting_intervals = {**LanternApplication.snapshotting_intervals, SchoolDirectory: 50}

    def __init__(self, env: dict[str, str] | None = None, sealer: Sealer | None = None) -> None:
        super().__init__(env)
        #: seals student details and note texts with the student's own key (crypto-shredding)
        self.sealer = sealer
        self._known_schools: frozenset[str] = frozenset()  # see knows_school

    def _seal(self, student_ref: str, text: str) -> str:
        return self.sealer.seal(student_ref, text) if self.sealer else text

    # -- reports -------------------------------------------------------------------------
    def report_incident(self, command: ReportIncidentV1, *, at: datetime, trace: Trace) -> Accepted:
        return self._once_more_on_conflict(lambda: self._report(command, at, trace))

    def _report(self, command: ReportIncidentV1, at: datetime, trace: Trace) -> Accepted:
        report_id = incident_id_for(command.idempotency_key)
        facts, decided = facts_of(command), triage_of(command)
        facts = replace(facts, note=self._seal(command.student_ref, facts.note))
        repeated = self._repeated(command, report_id)
        if repeated is not None:  # told again, so a lost reply loses no call-911 instruction
            return replace(repeated, triage=decided)
        if not self.knows_school(command.school_id):
            raise Invalid(f"unknown school {command.school_id!r}", field="school_id")
        if command.linked_incident_id is not None:
            self.incident(command.linked_incident_id, field="linked_incident_id")
        file = self._student_file(command.student_ref, trace)
        details = {k: self._seal(command.student_ref, v) for k, v in details_of(command).items()}
        follows_open = file.open_incident_id == command.linked_incident_id
        if file.open_incident_id is not None and not follows_open:
            incident = self.incident(file.open_incident_id)
            incident.link_report(
                report_id=report_id, facts=facts, triage=decided, at=at, trace=trace
            )
            file.report_filed(report_id, incident.id, trace)
            file.record_details(details, incident.id, trace)
            self.record(incident, file)
            return Accepted(incident.id, False, linked=True, report_id=report_id, triage=decided)
        incident = Incident.report(
            incident_id=report_id,
            facts=facts,
            triage=decided,
            at=at,
            trace=trace,
            linked_incident_id=command.linked_incident_id,
        )
        file.incident_opened(incident.id, trace, follows=command.linked_incident_id)
        file.record_details(details, incident.id, trace)
        self.record(incident, file)
        return Accepted(incident.id, False, report_id=report_id, triage=decided)

    def _repeated(self, command: ReportIncidentV1, report_id: UUID) -> Accepted | None:
        """The earlier outcome of a retried submission (same idempotency key), if any."""
        if not command.idempotency_key:
            return None
        if self.exists(report_id):
            existing = self.incident(report_id)
            if not existing.same_report(
                school_id=command.school_id, student_ref=command.student_ref
            ):
                raise Conflict(
                    "idempotency key was already used for a different report",
                    field="idempotency_key",
                )
            return Accepted(report_id, duplicate=True, report_id=report_id)
        file_id = student_file_id(command.student_ref)
        if self.exists(file_id):
            file: StudentFile = self.repository.get(file_id)
            if report_id in file.reports:
                return Accepted(file.reports[report_id], True, linked=True, report_id=report_id)
        return None

    def _student_file(self, student_ref: str, trace: Trace) -> StudentFile:
        try:
            file: StudentFile = self.repository.get(student_file_id(student_ref))
        except AggregateNotFoundError:
            return StudentFile.open(student_ref, trace)
        return file

    # -- later changes -----------------------------------------------------------------------
    def add_note(self, command: AddNoteV1, *, at: datetime, trace: Trace) -> Incident:
        def change(incident: Incident) -> None:
            incident.note(
                text=self._seal(incident.student_ref, command.text),
                warning_signs=list(command.warning_signs),
                by=command.by,
                at=at,
                trace=trace,
            )

        return self._change(command.incident_id, change)

    def reclassify(self, command: ReclassifyRiskV1, *, at: datetime, trace: Trace) -> Incident:
        def change(incident: Incident) -> None:
            incident.reclassify(
                risk=str(command.risk), reason=command.reason, by=command.by, at=at, trace=trace
            )

        return self._change(command.incident_id, change)

    def correct(self, command: CorrectIncidentV1, *, at: datetime, trace: Trace) -> Incident:
        def change(incident: Incident) -> StudentFile | None:
            value = incident.correct(
                field=command.field,
                value=command.value,
                reason=command.reason,
                effective_at=command.effective_at,
                by=command.by,
                at=at,
                trace=trace,
            )
            if not CORRECTABLE[command.field]:
                return None
            file = self._student_file(incident.student_ref, trace)
            detail = command.field.removeprefix("student_details.")
            sealed = self._seal(incident.student_ref, value) if isinstance(value, str) else value
            file.record_details({detail: sealed}, incident.id, trace)
            return file

        return self._change(command.incident_id, change)

    def cancel_incident(self, command: CancelIncidentV1, *, at: datetime, trace: Trace) -> Incident:
        def change(incident: Incident) -> StudentFile:
            incident.cancel(reason=command.reason, by=command.by, at=at, trace=trace)
            return self._freed(incident, trace)

        return self._change(command.incident_id, change)

    def close_incident(self, command: CloseIncidentV1, *, at: datetime, trace: Trace) -> Incident:
        def change(incident: Incident) -> StudentFile:
            incident.close(by=command.by, at=at, trace=trace)
            return self._freed(incident, trace)

        return self._change(command.incident_id, change)

    def _freed(self, incident: Incident, trace: Trace) -> StudentFile:
        """The student may have a new incident once this one is over."""
        file = self._student_file(incident.student_ref, trace)
        file.incident_ended(incident.id, trace)
        return file

    def _change(
        self, incident_id: UUID, decide: Callable[[Incident], StudentFile | None]
    ) -> Incident:
        """Load the incident, let the domain decide, record it (and the student file) at once."""

        def attempt() -> Incident:
            incident = self.incident(incident_id)
            file = decide(incident)
            self.record(incident, file)
            return incident

        return self._once_more_on_conflict(attempt)

    def _once_more_on_conflict(self, attempt: Callable[[], T]) -> T:
        try:
            return attempt()
        except IntegrityError:
            pass  # someone else wrote first: decide again on what they wrote
        try:
            return attempt()
        except IntegrityError:
            raise Conflict("the incident changed concurrently; try again") from None

    def add_school(self, command: AddSchoolV1, *, trace: Trace) -> None:
        directory = self.directory() or SchoolDirectory.open(trace)
        directory.add_school(command.school_id, command.name, trace)
        self.record(directory)

    # -- queries -------------------------------------------------------------------------
    def directory(self) -> SchoolDirectory | None:
        """The school directory, or None before the first school is added."""
        try:
            directory: SchoolDirectory = self.repository.get(DIRECTORY_ID)
        except AggregateNotFoundError:
            return None
        return directory

    def knows_school(self, school_id: str) -> bool:
        """Schools are only ever added, so a school seen once is known for good: a report
        for it skips reading the directory (a store read on every report, 40% of intake's
        time under load); an unknown one is looked up afresh, since another instance may
        have added it."""
        if school_id in self._known_schools:
            return True
        directory = self.directory()
        if directory is None:
            return False
        self._known_schools = frozenset(directory.schools)
        return directory.knows(school_id)

    def schools(self) -> list[dict[str, str]]:
        directory = self.directory()
        known = directory.schools if directory else {}
        return [{"id": k, "name": v} for k, v in sorted(known.items())]

    def incident(self, incident_id: UUID, field: str = "incident_id") -> Incident:
        """The incident, or a refusal naming the input ``field`` that pointed at nothing."""
        incident: Any = None
        with contextlib.suppress(AggregateNotFoundError):
            incident = self.repository.get(incident_id)
        if not isinstance(incident, Incident):
            raise NotFound(f"no incident {incident_id}", field=field)
        return incident

    def knows_student(self, student_ref: str) -> bool:
        """Whether any report ever named this student (their file is opened by the first)."""
        return self.exists(student_file_id(student_ref))

    def student_view(self, student_ref: str) -> dict[str, Any]:
        """The student's details and note texts, opened with their key (``[shredded]`` after)."""
        file_id = student_file_id(student_ref)
        if not self.knows_student(student_ref):
            raise NotFound(f"no student {student_ref}", field="student_ref")
        opened = self.sealer.open if self.sealer else (lambda _, text: text)
        details: dict[str, str] = {}
        notes: list[dict[str, Any]] = []
        for event in self.repository.event_store.get(file_id):
            if isinstance(event, StudentFile.DetailsRecorded):
                details.update({k: opened(student_ref, v) for k, v in event.details.items()})
            elif isinstance(event, StudentFile.IncidentOpened):
                for e in self.repository.event_store.get(event.incident_id):
                    text = getattr(e, "text", None) or getattr(e, "note", None)
                    if isinstance(text, str) and text:
                        incident = str(e.originator_id)
                        notes.append({"incident_id": incident, "text": opened(student_ref, text)})
        return {"student_ref": student_ref, "details": details, "notes": notes}

    def incident_view(self, incident_id: UUID) -> dict[str, Any]:
        incident = self.incident(incident_id)
        events = list(self.repository.event_store.get(incident.id))
        file_id = student_file_id(incident.student_ref)
        on_file = self.exists(file_id) and bool(self.repository.get(file_id).details)
        return incident_view(events, student_details_on_file=on_file)


def details_of(command: ReportIncidentV1) -> dict[str, Any]:
    """The identifying details as plain values (empty when none were given)."""
    d = command.student_details
    if d is None:
        return {}
    return {
        "name": d.name,
        "date_of_birth": d.date_of_birth.isoformat() if d.date_of_birth else "",
        "grade": d.grade,
    }
