"""Who supervises which school, as follow-up learns it from dispatch's roster events.

Only what routing a notice needs: role and schools.  No names, no contacts.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from plumbing.domain import Trace, TracedCreated, TracedEvent

STAFF_ID: UUID = uuid5(NAMESPACE_URL, "lantern:followup:staff")

#: Where an overdue notice goes when the roster names no supervisor for the school.
ON_CALL_SUPERVISOR = "supervisor-on-call"


@dataclass(frozen=True)
class StaffMember:
    person_id: str
    role: str
    schools: tuple[str, ...]
    available: bool = True


class StaffDirectory(Aggregate):
    class Opened(TracedCreated):
        pass

    class MemberNoted(TracedEvent):
        person_id: str
        role: str
        schools: list[str]
        available: bool

        def apply(self, aggregate: StaffDirectory) -> None:
            aggregate.members[self.person_id] = StaffMember(
                self.person_id, self.role, tuple(self.schools), self.available
            )

    def __init__(self) -> None:
        self.members: dict[str, StaffMember] = {}

    @classmethod
    def open(cls, trace: Trace) -> StaffDirectory:
        return cls._create(cls.Opened, id=STAFF_ID, **trace.fields())

    def note(self, member: StaffMember, trace: Trace) -> None:
        """Record a roster change; an unchanged member records nothing."""
        if self.members.get(member.person_id) == member:
            return
        self.trigger_event(
            self.MemberNoted,
            person_id=member.person_id,
            role=member.role,
            schools=list(member.schools),
            available=member.available,
            **trace.fields(),
        )

    def supervisor_for(self, school_id: str) -> str:
        """The school's supervisor (available first, lowest id), else the district lead."""
        for role in ("supervisor", "district_crisis_lead"):
            found = sorted(
                (not m.available, m.person_id)
                for m in self.members.values()
                if m.role == role and school_id in m.schools
            )
            if found:
                return found[0][1]
        return ON_CALL_SUPERVISOR
