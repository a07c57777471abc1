"""The district roster: who can respond, where, with which skills.  Changes are events."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from plumbing.domain import Trace, TracedCreated, TracedEvent

ROSTER_ID: UUID = uuid5(NAMESPACE_URL, "lantern:dispatch:roster")

#: Roles that are paged first; supervisors and district leads are escalation targets.
FIELD_ROLES = frozenset(
    {"school_psychologist", "school_social_worker", "counselor", "crisis_team_lead"}
)


@dataclass(frozen=True)
class Responder:
    responder_id: str
    name: str
    role: str
    schools: tuple[str, ...]
    skills: tuple[str, ...] = ()
    available: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def covers(self, school_id: str) -> bool:
        return school_id in self.schools

    def as_record(self) -> dict[str, Any]:
        record = asdict(self)
        record["schools"] = list(self.schools)
        record["skills"] = list(self.skills)
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Responder:
        return cls(
            responder_id=record["responder_id"],
            name=record["name"],
            role=record["role"],
            schools=tuple(record["schools"]),
            skills=tuple(record.get("skills", ())),
            available=bool(record.get("available", True)),
            extra=dict(record.get("extra", {})),
        )


class Roster(Aggregate):
    class Opened(TracedCreated):
        pass

    class ResponderEnrolled(TracedEvent):
        """A responder was added, or their details changed (the latest record wins)."""

        responder: dict[str, Any]

        def apply(self, aggregate: Roster) -> None:
            record = Responder.from_record(self.responder)
            aggregate.responders[record.responder_id] = record

    def __init__(self) -> None:
        self.responders: dict[str, Responder] = {}

    @classmethod
    def open(cls, trace: Trace) -> Roster:
        return cls._create(cls.Opened, id=ROSTER_ID, **trace.fields())

    def enroll(self, responder: Responder, trace: Trace) -> None:
        """Add or update a responder; an identical record changes nothing."""
        if self.responders.get(responder.responder_id) == responder:
            return
        self.trigger_event(
            self.ResponderEnrolled, responder=responder.as_record(), **trace.fields()
        )
