"""The audit trail: one stored entry per command and per read of student data.

Why a domain event in the service's own store: the entry is as durable as the
command it describes, the records engineer's hash chain covers it like any
other event, and the outbox relay publishes it (``<prefix>.evt.<service>.audit``,
``events.audit.AuditRecordedV1``) without a second delivery path.

A command's entry rides along in the command's own transaction:
``plumbing.interface.commands.execute`` leaves it *pending* in a context variable, and
``LanternApplication.record`` stores it with the command's events (status 200:
committed).  A read, a refusal, or a command that stored nothing gets a write
of its own, with the reply's real status.  One small extra row per request.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from events.audit import AuditRecordedV1
from events.subjects import Subjects
from plumbing.domain import NotFound, Trace, TracedCreated, TracedEvent, rfc3339
from plumbing.envelope import Outgoing


class AuditEntry(Aggregate):
    class Recorded(TracedCreated):
        service: str
        role: str
        action: str
        kind: str
        interface: str
        outcome: str
        status: int
        purpose: str
        incident_id: str | None
        student_ref: str | None
        school_id: str | None
        break_glass: bool
        break_glass_reason: str
        reason: str  # why a refusal was refused (not published: it may name a school)
        at: datetime

    class RepeatedReads(Recorded):
        """The same read by the same identity, repeated ``count`` times from ``at`` to ``last_at``.

        Recorded when a repeat window closes (``plumbing.integrity.repeats``): the
        first read of the window has its own ``Recorded`` entry, so every access is
        on record, and a dashboard polling a record does not add one entry a poll.
        """

        count: int
        last_at: datetime

    class Reviewed(TracedEvent):
        """Compliance reviewed a break-the-glass access."""

        reviewer: str
        note: str
        at: datetime

        def apply(self, aggregate: AuditEntry) -> None:
            aggregate.reviewed = True

    def __init__(self) -> None:
        self.reviewed = False

    def review(self, reviewer: str, note: str, at: datetime, trace: Trace) -> None:
        self.trigger_event(self.Reviewed, reviewer=reviewer, note=note, at=at, **trace.fields())


@dataclass
class Entry:
    """An audit entry before it is stored (the same fields as :class:`AuditEntry.Recorded`)."""

    service: str
    actor: str
    role: str
    action: str
    kind: str
    interface: str
    trace: Trace
    at: datetime
    purpose: str = ""
    outcome: str = "allowed"
    status: int = 200
    incident_id: str | None = None
    student_ref: str | None = None
    school_id: str | None = None
    break_glass: bool = False
    break_glass_reason: str = ""
    reason: str = ""
    audit_id: UUID = field(default_factory=uuid4)
    stored: bool = False
    #: for a summary of repeated reads: how many, and the last one's time (``at`` is the first)
    count: int = 1
    last_at: datetime | None = None

    def aggregate(self) -> AuditEntry:
        trace = replace(self.trace, actor=self.actor)
        repeats: dict[str, Any] = (
            {"count": self.count, "last_at": self.last_at} if self.last_at is not None else {}
        )
        return AuditEntry._create(
            AuditEntry.RepeatedReads if repeats else AuditEntry.Recorded,
            id=self.audit_id,
            service=self.service,
            role=self.role,
            action=self.action,
            kind=self.kind,
            interface=self.interface,
            outcome=self.outcome,
            status=self.status,
            purpose=self.purpose,
            incident_id=self.incident_id,
            student_ref=self.student_ref,
            school_id=self.school_id,
            break_glass=self.break_glass,
            break_glass_reason=self.break_glass_reason,
            reason=self.reason,
            at=self.at,
            **repeats,
            **trace.fields(),
        )


# -- riding along with a command's own transaction ---------------------------------------------
_PENDING: ContextVar[Entry | None] = ContextVar("lantern_pending_audit", default=None)


@contextmanager
def pending(entry: Entry) -> Iterator[Entry]:
    """While a command runs, its entry waits to be stored with the command's events."""
    token = _PENDING.set(entry)
    try:
        yield entry
    finally:
        _PENDING.reset(token)


def current() -> Entry | None:
    """The entry of the command now running (a handler may add to it, e.g. break-the-glass)."""
    return _PENDING.get()


def rider() -> Entry | None:
    """The pending entry not yet stored (``LanternApplication.record`` adds it to its write)."""
    entry = _PENDING.get()
    return entry if entry is not None and not entry.stored else None


# -- publishing ----------------------------------------------------------------------------------
def published(event: AuditEntry.Recorded) -> AuditRecordedV1:
    return AuditRecordedV1(
        audit_id=str(event.originator_id),
        service=event.service,
        actor=event.actor,
        role=event.role,
        action=event.action,
        kind=event.kind,
        interface=event.interface,
        outcome=event.outcome,
        status=event.status,
        purpose=event.purpose,
        incident_id=event.incident_id,
        student_ref=event.student_ref,
        school_id=event.school_id,
        break_glass=event.break_glass,
        break_glass_reason=event.break_glass_reason,
        at=event.at,
        count=getattr(event, "count", 1),
        last_at=getattr(event, "last_at", None),
    )


def audited(translate: Any, subjects: Subjects, service: str) -> Any:
    """Wrap a service's translator so its audit entries go out on ``subjects.audit(service)``."""

    def translate_with_audit(event: Any) -> Any:
        if isinstance(event, AuditEntry.Recorded):
            return Outgoing(
                subjects.audit(service), published(event), incident_id=event.incident_id
            )
        if isinstance(event, AuditEntry.Reviewed):
            return None
        return translate(event)

    return translate_with_audit


# -- the review queue --------------------------------------------------------------------------
def break_glass_row(event: AuditEntry.Recorded) -> dict[str, Any]:
    return {
        "audit_id": str(event.originator_id),
        "service": event.service,
        "actor": event.actor,
        "role": event.role,
        "action": event.action,
        "interface": event.interface,
        "outcome": event.outcome,
        "reason": event.break_glass_reason,
        "incident_id": event.incident_id,
        "student_ref": event.student_ref,
        "at": rfc3339(event.at),
        "reviewed": False,
        "review": None,
    }


class BreakGlassQueue:
    """Every break-the-glass access this service recorded, and whether compliance reviewed it.

    ``rows`` is any mutable mapping: a dict, or a projection's document table.
    """

    def __init__(self, rows: Any = None) -> None:
        self.rows: Any = {} if rows is None else rows

    def apply(self, event: Any) -> None:
        if isinstance(event, AuditEntry.Recorded) and event.break_glass:
            self.rows[str(event.originator_id)] = break_glass_row(event)
        elif isinstance(event, AuditEntry.Reviewed):
            row = self.rows.get(str(event.originator_id))
            if row is not None:
                row["reviewed"] = True
                row["review"] = {
                    "by": event.reviewer,
                    "note": event.note,
                    "at": event.at.isoformat(),
                }
                self.rows[str(event.originator_id)] = row

    def listing(self, unreviewed: bool) -> list[dict[str, Any]]:
        return [dict(r) for r in self.rows.values() if not (unreviewed and r["reviewed"])]

    def known(self, audit_id: UUID) -> None:
        if str(audit_id) not in self.rows:
            raise NotFound(f"no break-the-glass access {audit_id}", "audit_id")
