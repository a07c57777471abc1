"""The district's school directory, as intake knows it: reports must name a known school."""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from plumbing.domain import Trace, TracedCreated, TracedEvent

DIRECTORY_ID: UUID = uuid5(NAMESPACE_URL, "lantern:intake:school-directory")


class SchoolDirectory(Aggregate):
    class Opened(TracedCreated):
        pass

    class SchoolAdded(TracedEvent):
        school_id: str
        name: str

        def apply(self, aggregate: SchoolDirectory) -> None:
            aggregate.schools[self.school_id] = self.name

    def __init__(self) -> None:
        self.schools: dict[str, str] = {}

    @classmethod
    def open(cls, trace: Trace) -> SchoolDirectory:
        return cls._create(cls.Opened, id=DIRECTORY_ID, **trace.fields())

    def add_school(self, school_id: str, name: str, trace: Trace) -> None:
        """Add or rename a school; repeating an identical addition changes nothing."""
        if self.schools.get(school_id) == name:
            return
        self.trigger_event(self.SchoolAdded, school_id=school_id, name=name, **trace.fields())

    def knows(self, school_id: str) -> bool:
        return school_id in self.schools
