"""The records store's aggregates, each keyed by the question it answers.

Why one aggregate per incident (and per student, per audit day): a timeline
query then loads exactly that incident's events by primary key, so its cost
follows the incident's own history, not the size of the store.  Every ledger
remembers the line ids it holds, so a message seen twice is stored once.
"""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.records.domain.entries import Entry


def student_record_id(student_ref: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"lantern:records:student:{student_ref}")


def request_id(causation_id: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"lantern:records:request:{causation_id}")


CALENDAR_ID = uuid5(NAMESPACE_URL, "lantern:records:audit-calendar")
ROSTER_ID = uuid5(NAMESPACE_URL, "lantern:records:roster")


class Ledger(Aggregate):
    """An append-only list of JSON-friendly lines, each with an id; subclasses name the key."""

    @event("Opened")
    def __init__(self, key: str) -> None:
        self.key = key
        self.lines: list[dict[str, Any]] = []
        self.ids: set[str] = set()

    def holds(self, line_id: str) -> bool:
        return line_id in self.ids

    def add(self, line: dict[str, Any], line_id: str) -> bool:
        """Append a line unless it is already held; True when it was new."""
        if self.holds(line_id):
            return False
        self._add(line, line_id)
        return True

    @event("Added")
    def _add(self, line: dict[str, Any], line_id: str) -> None:
        self.lines.append(line)
        self.ids.add(line_id)


class IncidentTimeline(Ledger):
    """Every entry about one incident, from every service (the id is the incident id)."""

    @staticmethod
    def create_id(key: str) -> UUID:
        return UUID(key)

    def add_entry(self, entry: Entry) -> bool:
        return self.add(entry.to_dict(), entry.event_id)

    def entries(self) -> list[Entry]:
        return [Entry.from_dict(line) for line in self.lines]

    def fact(self, name: str) -> str | None:
        """A fact any entry carried (``student_ref``, ``school_id``), first one wins."""
        for line in self.lines:
            value = line.get("data", {}).get(name)
            if value:
                return str(value)
        return None


class StudentRecord(Ledger):
    """One student's disclosures, access requests, official reads and consents."""

    @staticmethod
    def create_id(key: str) -> UUID:
        return student_record_id(key)


def audit_line_id(audit_id: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"lantern:records:audit-line:{audit_id}")


class AuditLine(Aggregate):
    """One audit entry, filed on its own.

    Why not one ledger per day: a busy day holds tens of thousands of entries, and
    appending to one aggregate replays all of them each time.  Exports read the
    filed lines back from the log, in the order they arrived.
    """

    @staticmethod
    def create_id(audit_id: str) -> UUID:
        return audit_line_id(audit_id)

    @event("Filed")
    def __init__(self, audit_id: str, day: str, line: dict[str, Any]) -> None:
        self.audit_id = audit_id
        self.day = day
        self.line = line


class Request(Aggregate):
    """Who made one request (a command's audit entry), keyed by its causation id.

    Why: the events a command causes share its causation id but often do not
    name the person, and the audit entry may not name the incident (a report's
    id does not exist before the report), so the timeline finds the actor here.
    """

    @staticmethod
    def create_id(causation_id: str) -> UUID:
        return request_id(causation_id)

    @event("Made")
    def __init__(self, causation_id: str, actor: str, role: str) -> None:
        self.causation_id = causation_id
        self.actor = actor
        self.role = role


class AuditCalendar(Aggregate):
    """The days that have audit entries, in the order they first appeared."""

    @staticmethod
    def create_id() -> UUID:
        return CALENDAR_ID

    @event("Started")
    def __init__(self) -> None:
        self.days: list[str] = []

    @event("DayAdded")
    def add_day(self, day: str) -> None:
        self.days.append(day)


class Roster(Aggregate):
    """Responder roles, as dispatch published them (so entries can say in what role one acted)."""

    @staticmethod
    def create_id() -> UUID:
        return ROSTER_ID

    @event("Started")
    def __init__(self) -> None:
        self.roles: dict[str, str] = {}

    @event("RoleSet")
    def set_role(self, responder_id: str, role: str) -> None:
        self.roles[responder_id] = role
