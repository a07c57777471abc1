"""The incident: one reported situation about one student; it may collect several reports.

The write model keeps only what decisions need (state, risk, the facts a
correction compares against).  Everything a reader wants is derived from the
events (see ``services.intake.projections``).  Every later change is a new event with
the person who made it (``by``); nothing is ever edited.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from plumbing.domain import Conflict, Invalid, Trace, TracedCreated, TracedEvent
from services.intake.domain.facts import CORRECTABLE, ReportFacts, checked_correction
from services.intake.domain.triage import LEVELS, Triage, higher

OPEN, CANCELLED, CLOSED = "open", "cancelled", "closed"


def _triage_fields(triage: Triage) -> dict[str, Any]:
    return {
        "risk": triage.risk,
        "chosen_risk": triage.chosen,
        "suggested_risk": triage.suggested,
        "screener": triage.screener.as_dict() if triage.screener else None,
        "immediate_danger": triage.immediate_danger,
    }


def _report_fields(facts: ReportFacts) -> dict[str, Any]:
    return {
        "school_id": facts.school_id,
        "categories": facts.categories,
        "reporter_id": facts.reporter_id,
        "reporter_role": facts.reporter_role,
        "location": facts.location,
        "warning_signs": list(facts.warning_signs),
        "note": facts.note,
        "language": facts.language,
    }


def _reason(reason: str) -> str:
    if not reason.strip():
        raise Invalid("a reason is required", field="reason")
    return reason.strip()


class Incident(Aggregate):
    class Reported(TracedCreated):
        class_version = 2

        school_id: str
        student_ref: str
        categories: list[str]
        risk: str
        reporter_id: str
        note: str
        reported_at: datetime
        reporter_role: str
        location: str
        warning_signs: list[str]
        immediate_danger: str | None
        language: str
        screener: dict[str, bool | None] | None
        suggested_risk: str | None
        chosen_risk: str
        linked_incident_id: UUID | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Reports stored before the complete incident model had only the first facts."""
            state.update(
                reporter_role="",
                location="",
                warning_signs=[],
                immediate_danger=None,
                language="",
                screener=None,
                suggested_risk=None,
                chosen_risk=state["risk"],
                linked_incident_id=None,
            )

    class ScreenerOverridden(TracedEvent):
        """A person chose another level than the screener suggested, and said why."""

        report_id: UUID
        suggested: str
        chosen: str
        reason: str
        by: str
        at: datetime

    class ReportLinked(TracedEvent):
        """Another report about the same student while this incident is open: not a new one."""

        report_id: UUID
        school_id: str
        categories: list[str]
        reporter_id: str
        reporter_role: str
        location: str
        warning_signs: list[str]
        note: str
        language: str
        risk: str
        chosen_risk: str
        suggested_risk: str | None
        screener: dict[str, bool | None] | None
        immediate_danger: str | None
        at: datetime

    class Noted(TracedEvent):
        text: str
        warning_signs: list[str]
        by: str
        at: datetime

    class Reclassified(TracedEvent):
        risk: str
        previous_risk: str
        reason: str
        by: str
        at: datetime

        def apply(self, aggregate: Incident) -> None:
            aggregate.risk = self.risk

    class Corrected(TracedEvent):
        """``value`` is None for a sensitive field: the student file keeps it."""

        field: str
        value: str | None
        sensitive: bool
        reason: str
        by: str
        at: datetime
        effective_at: datetime

        def apply(self, aggregate: Incident) -> None:
            if not self.sensitive and self.value is not None:
                aggregate.facts[self.field] = self.value
                if self.field == "categories":
                    aggregate.categories = self.value.split(",")

    class Cancelled(TracedEvent):
        reason: str
        by: str
        at: datetime

        def apply(self, aggregate: Incident) -> None:
            aggregate.state = CANCELLED

    class Closed(TracedEvent):
        by: str
        at: datetime

        def apply(self, aggregate: Incident) -> None:
            aggregate.state = CLOSED

    def __init__(
        self,
        school_id: str,
        student_ref: str,
        categories: list[str],
        risk: str,
        reporter_id: str,
        note: str,
        reported_at: datetime,
        reporter_role: str = "",
        location: str = "",
        language: str = "",
    ) -> None:
        self.school_id = school_id
        self.student_ref = student_ref
        self.categories = list(categories)
        self.risk = risk
        self.reporter_id = reporter_id
        self.reported_at = reported_at
        self.state = OPEN
        self.facts = {
            "location": location,
            "reporter_role": reporter_role,
            "language": language,
            "categories": ",".join(categories),
        }

    # -- reporting ------------------------------------------------------------------------
    @classmethod
    def report(
        cls,
        *,
        incident_id: UUID,
        facts: ReportFacts,
        triage: Triage,
        at: datetime,
        trace: Trace,
        linked_incident_id: UUID | None = None,
    ) -> Incident:
        """A new incident; an override of the screener is recorded as its own event."""
        incident = cls._create(
            cls.Reported,
            id=incident_id,
            student_ref=facts.student_ref,
            reported_at=at,
            linked_incident_id=linked_incident_id,
            **_report_fields(facts),
            **_triage_fields(triage),
            **trace.fields(),
        )
        incident._overridden(incident_id, triage, facts.reporter_id, at, trace)
        return incident

    def link_report(
        self, *, report_id: UUID, facts: ReportFacts, triage: Triage, at: datetime, trace: Trace
    ) -> None:
        """Add a report to this open incident; a more urgent one raises the incident's risk."""
        self._must_be_open()
        self.trigger_event(
            self.ReportLinked,
            report_id=report_id,
            at=at,
            **_report_fields(facts),
            **_triage_fields(triage),
            **trace.fields(),
        )
        self._overridden(report_id, triage, facts.reporter_id, at, trace)
        if higher(triage.risk, self.risk):
            reason = f"linked report {report_id} was triaged {triage.risk}"
            self.reclassify(
                risk=triage.risk, reason=reason, by=facts.reporter_id, at=at, trace=trace
            )

    def _overridden(
        self, report_id: UUID, triage: Triage, by: str, at: datetime, trace: Trace
    ) -> None:
        if triage.overridden and triage.suggested is not None:
            self.trigger_event(
                self.ScreenerOverridden,
                report_id=report_id,
                suggested=triage.suggested,
                chosen=triage.chosen,
                reason=triage.override_reason,
                by=by,
                at=at,
                **trace.fields(),
            )

    def same_report(self, *, school_id: str, student_ref: str) -> bool:
        """Whether a retried submission describes this incident (idempotency check)."""
        return self.school_id == school_id and self.student_ref == student_ref

    # -- later changes ---------------------------------------------------------------------
    def note(
        self, *, text: str, warning_signs: list[str], by: str, at: datetime, trace: Trace
    ) -> None:
        self._must_be_open()
        signs = [s.strip() for s in warning_signs if s.strip()]
        if not text.strip() and not signs:
            raise Invalid("a note needs text or at least one warning sign", field="text")
        self.trigger_event(
            self.Noted, text=text, warning_signs=signs, by=by, at=at, **trace.fields()
        )

    def reclassify(self, *, risk: str, reason: str, by: str, at: datetime, trace: Trace) -> None:
        self._must_be_open()
        if risk not in LEVELS:
            raise Invalid(f"unknown risk level {risk!r}", field="risk")
        if risk == self.risk:
            raise Conflict(f"risk is already {risk}", field="risk")
        self.trigger_event(
            self.Reclassified,
            risk=risk,
            previous_risk=self.risk,
            reason=_reason(reason),
            by=by,
            at=at,
            **trace.fields(),
        )

    def correct(
        self,
        *,
        field: str,
        value: str,
        reason: str,
        effective_at: datetime | None,
        by: str,
        at: datetime,
        trace: Trace,
    ) -> str:
        """Record a correction; returns the normalised value (the caller keeps sensitive ones)."""
        self._must_be_open()
        checked = checked_correction(field, value)
        sensitive = CORRECTABLE[field]
        if not sensitive and self.facts.get(field) == checked:
            raise Conflict(f"{field} is already {checked!r}", field="value")
        if effective_at is not None and effective_at > at:
            raise Invalid("a correction cannot take effect in the future", field="effective_at")
        self.trigger_event(
            self.Corrected,
            field=field,
            value=None if sensitive else checked,
            sensitive=sensitive,
            reason=_reason(reason),
            by=by,
            at=at,
            effective_at=effective_at or at,
            **trace.fields(),
        )
        return checked

    def cancel(self, *, reason: str, by: str, at: datetime, trace: Trace) -> None:
        """A false alarm, say: every pending step elsewhere should stop."""
        self._must_be_open()
        self.trigger_event(self.Cancelled, reason=_reason(reason), by=by, at=at, **trace.fields())

    def close(self, *, by: str, at: datetime, trace: Trace) -> None:
        self._must_be_open()
        self.trigger_event(self.Closed, by=by, at=at, **trace.fields())

    def _must_be_open(self) -> None:
        if self.state != OPEN:
            raise Conflict(f"incident is {self.state}", field="state")
