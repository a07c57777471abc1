"""Records' application service: absorb published events; answer the questions that look back.

Writing: each message becomes at most a few ledger lines (the incident's
timeline, the student's record, the audit day), stored in one transaction
with the consumer's tracking record.  Reading: each query loads the one
aggregate its question is keyed by, then folds it with pure functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any, TypeVar
from uuid import UUID

import msgspec
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

from events import audit, dispatch, followup
from events.records import ListAuditV1, ShowResponseMeasuresV1, ShowTimelineV1
from plumbing.access.rules import Resource
from plumbing.domain import NotFound, rfc3339
from plumbing.store.application import LanternApplication
from services.records import translate
from services.records.domain import disclosures, measures, replay
from services.records.domain.entries import EVENT, Entry, from_a_person, ordered, with_actors
from services.records.domain.history import (
    CALENDAR_ID,
    ROSTER_ID,
    AuditCalendar,
    AuditLine,
    IncidentTimeline,
    Request,
    Roster,
    StudentRecord,
    audit_line_id,
    request_id,
    student_record_id,
)
from services.records.projections import MeasuresView
from services.records.translate import Envelope

A = TypeVar("A", bound=Aggregate)
Incoming = tuple[str, msgspec.Struct, Mapping[str, str]]


class RecordsApplication(LanternApplication):
    name = "records"
    #: ledgers grow with every line (a student read often, a long incident): snapshots
    snapshotting_intervals = {
        **LanternApplication.snapshotting_intervals,
        IncidentTimeline: 100,
        StudentRecord: 100,
        AuditCalendar: 100,
        Roster: 50,
    }

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        self.measures_view = MeasuresView(self)

    # -- writing ------------------------------------------------------------------------------
    def on_message(
        self, service: str, message: msgspec.Struct, headers: Mapping[str, str]
    ) -> Sequence[Aggregate]:
        """The aggregates one published message changes (stored by the tracked consumer)."""
        return self.absorb([(service, message, headers)])

    def absorb(self, messages: Iterable[Incoming]) -> list[Aggregate]:
        """Fold many messages into the ledgers; returns every changed aggregate once.

        Inside a consumer's unit of work the ledgers are the batch's own copies, so
        a batch of many messages about one incident loads its timeline once.
        """
        work = self.work()
        for service, message, headers in messages:
            self._absorb_one(work, service, message, Envelope.of(headers, service))
        return [a for a in work.values() if a.pending_events]

    def touched(self, messages: Sequence[msgspec.Struct]) -> list[UUID]:
        """The ledgers a batch of messages will add to (loaded at once by the consumer)."""
        ids: list[UUID] = []
        for message in messages:
            incident = translate.incident_of(message)
            if incident:
                ids.append(UUID(incident))
            student = getattr(message, "student_ref", None)
            if isinstance(message, audit.AuditRecordedV1):
                ids.append(audit_line_id(message.audit_id))
            if student and isinstance(
                message, audit.AuditRecordedV1 | followup.DisclosureRecordedV1
            ):
                ids.append(student_record_id(student))
        return ids

    def _absorb_one(
        self, work: dict[UUID, Aggregate], service: str, message: Any, envelope: Envelope
    ) -> None:
        if isinstance(message, dispatch.ResponderEnrolledV1):
            roster = self._get(work, ROSTER_ID, Roster, Roster)
            if roster.roles.get(message.responder_id) != message.role:
                roster.set_role(message.responder_id, str(message.role))
            return
        roles = self._roles(work)
        entry = translate.entry(message, envelope, roles)
        if entry is None:
            return
        incident = translate.incident_of(message)
        timeline: IncidentTimeline | None = None
        if incident:
            timeline = self._get(
                work, UUID(incident), IncidentTimeline, lambda: IncidentTimeline(key=incident)
            )
            timeline.add_entry(entry)
        if isinstance(message, audit.AuditRecordedV1):
            self._audit(work, entry, message)
        elif isinstance(message, followup.DisclosureRecordedV1):
            line = disclosures.disclosure_line(entry.data)
            self._student(work, message.student_ref).add(line, entry.event_id)
        elif isinstance(message, followup.ConsentChangedV1) and timeline is not None:
            student = timeline.fact("student_ref")
            if student:
                line = {"kind": "consent", **entry.data, "at": rfc3339(entry.at)}
                self._student(work, student).add(line, entry.event_id)

    def _audit(self, work: dict[UUID, Aggregate], entry: Entry, m: audit.AuditRecordedV1) -> None:
        line = audit_line(entry)
        day = m.at.date().isoformat()
        calendar = self._get(work, CALENDAR_ID, AuditCalendar, AuditCalendar)
        if day not in calendar.days:
            calendar.add_day(day)
        line_id = audit_line_id(m.audit_id)
        if line_id not in work and not self.exists(line_id):
            work[line_id] = AuditLine(audit_id=m.audit_id, day=day, line=line)
        if m.student_ref:
            self._student(work, m.student_ref).add({**line, "kind": "audit"}, m.audit_id)
        cause = entry.causation_id
        if (
            m.kind == "command"
            and from_a_person(cause)
            and request_id(cause) not in work
            and not self.exists(request_id(cause))
        ):
            work[request_id(cause)] = Request(causation_id=cause, actor=m.actor, role=m.role)

    def _student(self, work: dict[UUID, Aggregate], student_ref: str) -> StudentRecord:
        return self._get(
            work,
            student_record_id(student_ref),
            StudentRecord,
            lambda: StudentRecord(key=student_ref),
        )

    def _roles(self, work: dict[UUID, Aggregate]) -> Mapping[str, str]:
        """Responder roles, loaded once per batch (the unit of work keeps the roster)."""
        roster = work.get(ROSTER_ID)
        if isinstance(roster, Roster):
            return roster.roles
        try:
            loaded: Roster = self.get(ROSTER_ID)
        except AggregateNotFoundError:
            return {}
        work.setdefault(ROSTER_ID, loaded)
        return loaded.roles

    def _get(self, work: dict[UUID, Aggregate], key: UUID, kind: type[A], new: Any) -> A:
        found = work.get(key)
        if found is None:
            try:
                found = self.get(key)
            except AggregateNotFoundError:
                found = new()
            work[key] = found
        assert isinstance(found, kind)
        return found

    # -- reading: timeline and replay -------------------------------------------------------------
    def entries(self, incident_id: UUID) -> list[Entry]:
        """The incident's entries (access entries included), actors filled in, in order."""
        try:
            timeline: IncidentTimeline = self.repository.get(incident_id)
        except AggregateNotFoundError:
            raise NotFound(f"no records for incident {incident_id}", "incident_id") from None
        entries = self._with_roles(timeline.entries())
        return ordered(with_actors(entries, self._requests(entries)))

    def _with_roles(self, entries: list[Entry]) -> list[Entry]:
        """A responder's role from the roster, where the entry was filed before the roster knew.

        Roster changes travel in partition 0 and an incident's events in their own
        partition, so records may file a responder's acknowledgement before it
        has filed their enrolment; the role is then taken when the timeline is read.
        """
        try:
            roster: Roster = self.repository.get(ROSTER_ID)
            roles = roster.roles
        except AggregateNotFoundError:
            return entries
        return [
            replace(e, role=roles[e.actor]) if not e.role and e.actor in roles else e
            for e in entries
        ]

    def _requests(self, entries: list[Entry]) -> dict[str, tuple[str, str]]:
        """Who made the requests behind entries that do not name a person (one get each)."""
        found = {}
        for cause in {e.causation_id for e in entries if not e.actor}:
            if not from_a_person(cause):
                continue
            try:
                request: Request = self.repository.get(request_id(cause))
            except AggregateNotFoundError:
                continue
            found[cause] = (request.actor, request.role)
        return found

    def incident_resource(self, incident_id: UUID) -> Resource:
        """What access rules need to know of an incident: its school and who was dispatched."""
        school, responders, reporters = None, set(), set()
        for entry in self.entries(incident_id):
            data = entry.data
            school = school or data.get("school_id")
            for key in ("responder_id", "to_responder_id"):
                if data.get(key):
                    responders.add(str(data[key]))
            if entry.type == "incident_reported" and entry.actor:
                reporters.add(entry.actor)
        return Resource(
            incident_id=str(incident_id),
            school_id=school,
            reporters=frozenset(reporters),
            responders=frozenset(responders),
        )

    def timeline(self, q: ShowTimelineV1) -> dict[str, Any]:
        every = self.entries(q.incident_id)
        shown = [e for e in every if q.access or e.kind == EVENT]
        out: dict[str, Any] = {"incident_id": str(q.incident_id)}
        if q.as_of is not None:
            events = [e for e in every if e.kind == EVENT]
            shown = [e for e in shown if e.known_from <= q.as_of]
            out["as_of"] = rfc3339(q.as_of)
            out["state"] = replay.known_at(events, q.as_of)
            out["true_state"] = replay.true_at(events, q.as_of)
        if q.position is not None:
            events = [e for e in every if e.kind == EVENT]
            shown = [e for e in shown if e.kind != EVENT or e in events[: q.position]]
            out["position"] = q.position
            out["state"] = replay.after(events, q.position)
        out["entries"] = [entry_row(i, e) for i, e in enumerate(shown, start=1)]
        return out

    def replay(self, incident_id: UUID, view: str) -> dict[str, Any]:
        steps = replay.steps(self.entries(incident_id), view)
        return {
            "incident_id": str(incident_id),
            "view": view,
            "steps": [
                {"entry": entry_row(i, e), "state": s} for i, (e, s) in enumerate(steps, start=1)
            ],
        }

    # -- reading: measures ----------------------------------------------------------------------
    def measures(self, q: ShowResponseMeasuresV1) -> dict[str, Any]:
        if q.incident_id is not None:
            rows = [measures.measure(str(q.incident_id), self.entries(q.incident_id))]
        else:
            rows = self.measures_view.rows(q.school_id)
        filters = {"school_id": q.school_id, "responder_id": q.responder_id, "period": q.period}
        rows = [r for r in rows if measures.matches(r, filters)]
        return {"incidents": [r.as_dict() for r in rows], "summary": measures.grouped(rows)}

    # -- reading: audit history and the record of disclosures ----------------------------------
    def audit_history(self, q: ListAuditV1) -> list[dict[str, Any]]:
        if q.student_ref and q.since is None and q.until is None:
            lines = [
                line for line in self._student_lines(q.student_ref) if line.get("kind") == "audit"
            ]
        else:
            lines = self._lines_of(set(self._days(q.since, q.until)))
        rows = [_audit_only(line) for line in lines if _audit_matches(line, q)]
        rows.sort(key=lambda r: (datetime.fromisoformat(r["at"]), r["audit_id"]))
        return rows[: q.limit]

    def record_of_disclosures(self, student_ref: str) -> dict[str, Any]:
        lines = self._student_lines(student_ref)
        entries, official, consents = [], [], []
        for line in lines:
            kind = line.get("kind")
            if kind == "disclosure":
                entries.append(line)
            elif kind == "audit" and disclosures.is_request_for_access(line):
                entries.append(disclosures.access_line(line))
            elif kind == "audit" and line.get("kind_of_access") == "read":
                official.append(disclosures.access_line(line))
            elif kind == "consent":
                consents.append({k: v for k, v in line.items() if k != "kind"})
        return {
            "student_ref": student_ref,
            "entries": disclosures.record(entries),
            "consents": sorted(consents, key=lambda c: str(c["at"])),
            "official_access": disclosures.record(official),
        }

    def _student_lines(self, student_ref: str) -> list[dict[str, Any]]:
        try:
            ledger: StudentRecord = self.repository.get(student_record_id(student_ref))
        except AggregateNotFoundError:
            return []
        return ledger.lines

    def _days(self, since: datetime | None, until: datetime | None) -> list[str]:
        try:
            calendar: AuditCalendar = self.repository.get(CALENDAR_ID)
        except AggregateNotFoundError:
            return []
        first = since.date() if since else date.min
        last = until.date() if until else date.max
        return sorted(d for d in calendar.days if first <= date.fromisoformat(d) <= last)

    def _lines_of(self, days: set[str]) -> list[dict[str, Any]]:
        """Audit lines filed for these days, in arrival order (one pass over the log)."""
        topic = get_topic(AuditLine.Filed)  # type: ignore[attr-defined]  # made by @event
        lines: list[dict[str, Any]] = []
        start = 0
        while True:
            batch = self.recorder.select_notifications(
                start, 1000, topics=[topic], inclusive_of_start=False
            )
            for notification in batch:
                filed = self.mapper.to_domain_event(notification)
                if filed.day in days:  # type: ignore[attr-defined]
                    lines.append(filed.line)  # type: ignore[attr-defined]
            if len(batch) < 1000:
                return lines
            start = batch[-1].id


def entry_row(position: int, e: Entry) -> dict[str, Any]:
    row = e.to_dict()
    row["position"] = position
    return row


def audit_line(entry: Entry) -> dict[str, Any]:
    """An audit entry as stored for history and export: the payload plus where it came from."""
    data = dict(entry.data)
    return {
        **data,
        "kind_of_access": data.get("kind"),
        "event_id": entry.event_id,
        "recorded_at": rfc3339(entry.recorded_at) if entry.recorded_at else None,
        "causation_id": entry.causation_id,
        "correlation_id": entry.correlation_id,
    }


def _audit_only(line: Mapping[str, Any]) -> dict[str, Any]:
    row = {k: v for k, v in line.items() if k != "kind_of_access"}
    row["kind"] = line.get("kind_of_access", line.get("kind"))
    return row


def _audit_matches(line: Mapping[str, Any], q: ListAuditV1) -> bool:
    at = datetime.fromisoformat(line["at"])
    if q.since is not None and at < q.since:
        return False
    if q.until is not None and at > q.until:
        return False
    wanted = {
        "school_id": q.school_id,
        "student_ref": q.student_ref,
        "incident_id": q.incident_id,
        "actor": q.actor,
        "action": q.action,
        "kind_of_access": q.kind,
    }
    return all(v is None or line.get(k) == v for k, v in wanted.items())
