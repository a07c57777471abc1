"""The district roster: who can respond, where, with which skills, and when on call.

Roster changes are events.  A responder is on call when an override says so
for that instant, or else when a weekly shift covers it; ``shifts=None`` means
round-the-clock (the demo district, and rosters imported without shifts).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5
from zoneinfo import ZoneInfo

from eventsourcing.domain import Aggregate

from plumbing.domain import NotFound, Trace, TracedCreated, TracedEvent, rfc3339
from services.dispatch.domain.policy import DAYS

ROSTER_ID: UUID = uuid5(NAMESPACE_URL, "lantern:dispatch:roster")

#: Roles that are paged first; supervisors and district leads are escalation targets.
FIELD_ROLES = frozenset(
    {"school_psychologist", "school_social_worker", "counselor", "crisis_team_lead"}
)


@dataclass(frozen=True)
class Shift:
    """A weekly on-call window, local time; ``end`` "24:00" means midnight."""

    days: tuple[str, ...]
    start: str
    end: str

    def covers(self, local: datetime) -> bool:
        if DAYS[local.weekday()] not in self.days:
            return False
        minute = local.hour * 60 + local.minute
        return _minutes(self.start) <= minute < _minutes(self.end)


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


@dataclass(frozen=True)
class Override:
    """On (or off) call for an interval, whatever the weekly pattern says (swaps, sick days)."""

    start: datetime
    end: datetime
    on_call: bool
    reason: str

    def covers(self, at: datetime) -> bool:
        return self.start <= at < self.end


@dataclass(frozen=True)
class Responder:
    responder_id: str
    name: str
    role: str
    schools: tuple[str, ...]
    skills: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    available: bool = True
    shifts: tuple[Shift, ...] | None = None
    overrides: tuple[Override, ...] = ()
    email: str = ""
    timezone: str = "UTC"

    def covers(self, school_id: str) -> bool:
        return school_id in self.schools

    def on_call(self, at: datetime) -> bool:
        for override in reversed(self.overrides):
            if override.covers(at):
                return override.on_call
        if self.shifts is None:
            return True
        local = at.astimezone(ZoneInfo(self.timezone))
        return any(shift.covers(local) for shift in self.shifts)

    def as_record(self) -> dict[str, Any]:
        return {
            "responder_id": self.responder_id,
            "name": self.name,
            "role": self.role,
            "schools": list(self.schools),
            "skills": list(self.skills),
            "languages": list(self.languages),
            "available": self.available,
            "shifts": None
            if self.shifts is None
            else [{"days": list(s.days), "start": s.start, "end": s.end} for s in self.shifts],
            "overrides": [
                {
                    "start": rfc3339(o.start),
                    "end": rfc3339(o.end),
                    "on_call": o.on_call,
                    "reason": o.reason,
                }
                for o in self.overrides
            ],
            "email": self.email,
            "timezone": self.timezone,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Responder:
        shifts = record.get("shifts")
        return cls(
            responder_id=record["responder_id"],
            name=record["name"],
            role=record["role"],
            schools=tuple(record["schools"]),
            skills=tuple(record.get("skills", ())),
            languages=tuple(record.get("languages", ())),
            available=bool(record.get("available", True)),
            shifts=None
            if shifts is None
            else tuple(Shift(tuple(s["days"]), s["start"], s["end"]) for s in shifts),
            overrides=tuple(
                Override(
                    datetime.fromisoformat(o["start"]),
                    datetime.fromisoformat(o["end"]),
                    bool(o["on_call"]),
                    o.get("reason", ""),
                )
                for o in record.get("overrides", ())
            ),
            email=record.get("email", ""),
            timezone=record.get("timezone", "UTC"),
        )


class RosterState:
    """The roster's state without an aggregate around it, for read models to fold into."""

    def __init__(self) -> None:
        self.responders: dict[str, Responder] = {}


class Roster(Aggregate):
    class Opened(TracedCreated):
        pass

    class ResponderEnrolled(TracedEvent):
        """A responder was added, or their details changed (the latest record wins)."""

        responder: dict[str, Any]

        def apply(self, aggregate: Roster) -> None:
            record = Responder.from_record(self.responder)
            aggregate.responders[record.responder_id] = record

    class AvailabilityChanged(TracedEvent):
        responder_id: str
        available: bool
        reason: str

        def apply(self, aggregate: Roster) -> None:
            current = aggregate.responders[self.responder_id]
            aggregate.responders[self.responder_id] = replace(current, available=self.available)

    class OverrideAdded(TracedEvent):
        """On or off call for an interval; a swap is two of these in one change."""

        responder_id: str
        start: datetime
        end: datetime
        on_call: bool
        reason: str

        def apply(self, aggregate: Roster) -> None:
            current = aggregate.responders[self.responder_id]
            override = Override(self.start, self.end, self.on_call, self.reason)
            aggregate.responders[self.responder_id] = replace(
                current, overrides=(*current.overrides, override)
            )

    def __init__(self) -> None:
        self.responders: dict[str, Responder] = {}

    @classmethod
    def open(cls, trace: Trace) -> Roster:
        return cls._create(cls.Opened, id=ROSTER_ID, **trace.fields())

    def enroll(self, responder: Responder, trace: Trace) -> bool:
        """Add or update a responder; an identical record changes nothing (returns False)."""
        current = self.responders.get(responder.responder_id)
        if current is not None:
            responder = replace(responder, overrides=current.overrides)
        if current == responder:
            return False
        self.trigger_event(
            self.ResponderEnrolled, responder=responder.as_record(), **trace.fields()
        )
        return True

    def set_availability(
        self, responder_id: str, available: bool, reason: str, trace: Trace
    ) -> None:
        if self.get(responder_id).available == available:
            return
        self.trigger_event(
            self.AvailabilityChanged,
            responder_id=responder_id,
            available=available,
            reason=reason,
            **trace.fields(),
        )

    def override(
        self,
        responder_id: str,
        start: datetime,
        end: datetime,
        on_call: bool,
        reason: str,
        trace: Trace,
    ) -> None:
        self.get(responder_id)
        self.trigger_event(
            self.OverrideAdded,
            responder_id=responder_id,
            start=start,
            end=end,
            on_call=on_call,
            reason=reason,
            **trace.fields(),
        )

    def swap(
        self, from_id: str, to_id: str, start: datetime, end: datetime, reason: str, trace: Trace
    ) -> None:
        """``to_id`` covers ``from_id``'s on-call time for the interval."""
        self.override(from_id, start, end, False, f"swap to {to_id}: {reason}", trace)
        self.override(to_id, start, end, True, f"swap from {from_id}: {reason}", trace)

    def get(self, responder_id: str) -> Responder:
        try:
            return self.responders[responder_id]
        except KeyError:
            raise NotFound(f"no responder {responder_id!r} on the roster", "responder_id") from None
