"""A timeline entry: one thing that happened to an incident, with who, when and why.

Entries are facts copied from the services' published events and their
headers, so records never has to ask a service anything.  They are stored as
plain JSON-friendly dicts (ISO times) and read back as :class:`Entry`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from plumbing.domain import rfc3339

EVENT, ACCESS = "event", "access"  # what happened | who touched the record (audit entries)
SYSTEM_ROLE = "system"


@dataclass(frozen=True)
class Entry:
    event_id: str  # Nats-Msg-Id: "<service>/<aggregate>/<version>"
    type: str  # e.g. "incident_reported", "dispatch_status_changed", "audit"
    summary: str
    service: str
    at: datetime  # when it happened
    effective_at: datetime  # since when it is true (earlier than ``at`` for corrections)
    recorded_at: datetime | None  # when the source service stored it
    actor: str = ""
    role: str = ""
    causation_id: str = ""
    correlation_id: str = ""
    kind: str = EVENT
    data: Mapping[str, Any] = field(default_factory=dict)

    @property
    def known_from(self) -> datetime:
        """When the system knew it: the source's recording time (else the event's own time)."""
        return self.recorded_at or self.at

    def to_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "type": self.type,
            "summary": self.summary,
            "service": self.service,
            "at": rfc3339(self.at),
            "effective_at": rfc3339(self.effective_at),
            "recorded_at": rfc3339(self.recorded_at) if self.recorded_at else None,
            "actor": self.actor,
            "role": self.role,
            "causation_id": self.causation_id,
            "correlation_id": self.correlation_id,
            "kind": self.kind,
            "data": dict(self.data),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Entry:
        recorded = d.get("recorded_at")
        return cls(
            event_id=d["event_id"],
            type=d["type"],
            summary=d["summary"],
            service=d["service"],
            at=datetime.fromisoformat(d["at"]),
            effective_at=datetime.fromisoformat(d["effective_at"]),
            recorded_at=datetime.fromisoformat(recorded) if recorded else None,
            actor=d.get("actor", ""),
            role=d.get("role", ""),
            causation_id=d.get("causation_id", ""),
            correlation_id=d.get("correlation_id", ""),
            kind=d.get("kind", EVENT),
            data=d.get("data", {}),
        )


def ordered(entries: Iterable[Entry]) -> list[Entry]:
    """Timeline order: when it happened, then when it was recorded, then identity."""
    return sorted(entries, key=lambda e: (e.at, e.known_from, e.event_id))


def with_actors(
    entries: Iterable[Entry], requests: Mapping[str, tuple[str, str]] | None = None
) -> list[Entry]:
    """Fill in who did what from the audit entries of the same request.

    Many published events do not name the person (a report carries no
    reporter id on the wire); the audit entry of the command that caused them
    does, with the role, and shares its causation id.
    """
    listed = list(entries)
    who = dict(requests or {})
    who.update(
        {
            e.causation_id: (e.actor, e.role)
            for e in listed
            if e.kind == ACCESS and e.data.get("kind") == "command" and e.causation_id
        }
    )
    filled = []
    for e in listed:
        if e.kind == EVENT and e.causation_id in who:
            actor, role = who[e.causation_id]
            e = replace(e, actor=e.actor or actor, role=e.role or role)
        if not e.actor and not from_a_person(e.causation_id):
            e = replace(e, actor=f"service:{e.service}", role=SYSTEM_ROLE)
        filled.append(e)
    return filled


def from_a_person(causation_id: str) -> bool:
    """A request from outside (HTTP, NATS, CLI) rather than another service's event."""
    return causation_id.split(":", 1)[0] in ("http", "nats", "cli")
