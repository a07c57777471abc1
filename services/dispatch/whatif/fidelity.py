"""Does the replay reproduce the record?  Event by event, under the policies pinned at the time.

This is what makes a what-if worth believing: replayed under each incident's
own pinned policy, with the recorded answers, the replay must take exactly the
recorded decisions (who, which step, why, every candidate and their load,
every deadline).  Only who caused an event (actor, correlation, causation) and
its storage timestamp are left out of the comparison.  Events the replay takes
after the end of the record (a deadline still pending when the record ends)
are the future, not a difference.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from services.dispatch.whatif.replay import Replay

IGNORED = frozenset({"timestamp", "actor", "correlation_id", "causation_id"})


@dataclass(frozen=True)
class Divergence:
    incident_id: UUID
    step: int  # 1-based index in the incident's events
    event: str  # the recorded event's type (or the replayed one's, when the record has none)
    field: str
    recorded: Any
    replayed: Any

    def __str__(self) -> str:
        return (
            f"incident {self.incident_id}: step {self.step} ({self.event}) differs in "
            f"{self.field}: recorded {self.recorded!r}, replayed {self.replayed!r}"
        )


def divergences(replay: Replay) -> list[Divergence]:
    """The first difference of every incident that differs (empty: the record is reproduced)."""
    found = []
    for incident in replay.incidents.values():
        first = first_divergence(
            incident.incident_id, incident.record.recorded_events, incident.events, replay.end
        )
        if first is not None:
            found.append(first)
    return found


def first_divergence(
    incident_id: UUID, recorded: list[Any], replayed: list[Any], end: datetime | None
) -> Divergence | None:
    for index, (was, now) in enumerate(zip(recorded, replayed, strict=False)):
        step = index + 1
        if type(was) is not type(now):
            return Divergence(incident_id, step, _name(was), "type", _name(was), _name(now))
        expected, got = fields(was), fields(now)
        for name in sorted(expected.keys() | got.keys()):
            if expected.get(name) != got.get(name):
                return Divergence(
                    incident_id, step, _name(was), name, expected.get(name), got.get(name)
                )
    if len(recorded) > len(replayed):
        was = recorded[len(replayed)]
        return Divergence(incident_id, len(replayed) + 1, _name(was), "type", _name(was), "nothing")
    for index in range(len(recorded), len(replayed)):
        now = replayed[index]
        at = getattr(now, "at", None)
        if end is None or at is None or at <= end:
            return Divergence(incident_id, index + 1, _name(now), "type", "nothing", _name(now))
    return None


def fields(event: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(event).items() if k not in IGNORED}


def _name(event: Any) -> str:
    return type(event).__qualname__
