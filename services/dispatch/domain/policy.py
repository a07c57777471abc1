"""The escalation policy: deadlines, chain, skills and school hours.

It is configuration (TOML), versioned, and copied into each incident response
when it starts ("pinned"), so editing the policy never changes an escalation
that is already running.  Everything here is plain data plus pure functions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

RISKS = ("low", "moderate", "high", "imminent")
CHAIN_STEPS = ("next_responder", "supervisor", "district_crisis_lead")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class SchoolHours:
    timezone: str = "UTC"
    days: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
    start: str = "07:30"
    end: str = "16:30"

    def contains(self, at: datetime) -> bool:
        local = at.astimezone(ZoneInfo(self.timezone))
        if DAYS[local.weekday()] not in self.days:
            return False
        return _hhmm(self.start) <= local.time() < _hhmm(self.end)

    def next_opening(self, at: datetime) -> datetime:
        """The first instant at or after ``at`` inside school hours."""
        zone = ZoneInfo(self.timezone)
        local = at.astimezone(zone)
        for offset in range(8):
            day = local.date() + timedelta(days=offset)
            if DAYS[day.weekday()] not in self.days:
                continue
            opening = datetime.combine(day, _hhmm(self.start), tzinfo=zone)
            closing = datetime.combine(day, _hhmm(self.end), tzinfo=zone)
            if local < opening:
                return opening
            if local < closing:
                return at
        return at  # no school days configured: never hold


def _hhmm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


@dataclass(frozen=True)
class Policy:
    version: str = "default-1"
    ack_deadline_s: dict[str, int] = field(
        default_factory=lambda: {"imminent": 120, "high": 300, "moderate": 900, "low": 3600}
    )
    #: "Acknowledged" is not "with the student": re-escalate if not with the student by then.
    on_scene_deadline_s: dict[str, int] = field(
        default_factory=lambda: {"imminent": 600, "high": 600, "moderate": 1800, "low": 0}
    )
    chain: tuple[str, ...] = CHAIN_STEPS
    #: How many more times the whole chain is run after it has been run once.
    repeat_limit: int = 1
    #: Skill a responder needs for a category at high or imminent risk.
    required_skills: dict[str, str] = field(
        default_factory=lambda: {
            "suicidal_ideation": "suicide_risk_assessment",
            "self_harm": "suicide_risk_assessment",
            "harm_to_others": "threat_assessment",
        }
    )
    school_hours: SchoolHours = field(default_factory=SchoolHours)
    #: "page" or "hold": hold low-risk incidents reported outside school hours until opening.
    low_risk_after_hours: str = "page"

    def ack_deadline(self, risk: str, at: datetime) -> datetime:
        return at + timedelta(seconds=self.ack_deadline_s[risk])

    def on_scene_deadline(self, risk: str, at: datetime) -> datetime | None:
        seconds = self.on_scene_deadline_s.get(risk, 0)
        return at + timedelta(seconds=seconds) if seconds > 0 else None

    def skills_needed(self, categories: list[str], risk: str) -> set[str]:
        if risk not in ("high", "imminent"):
            return set()
        return {self.required_skills[c] for c in categories if c in self.required_skills}

    def hold_until(self, risk: str, at: datetime) -> datetime | None:
        """When a low-risk page should wait for school hours, until when."""
        if risk != "low" or self.low_risk_after_hours != "hold":
            return None
        opening = self.school_hours.next_opening(at)
        return opening if opening > at else None

    # -- pinning ---------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """The policy as plain data, pinned on each response it governs.

        Made once per policy (it is frozen); each caller gets its own copy of the top level.
        """
        made: dict[str, Any] | None = self.__dict__.get("_snapshot")
        if made is None:
            made = asdict(self)
            made["chain"] = list(self.chain)
            made["school_hours"]["days"] = list(self.school_hours.days)
            object.__setattr__(self, "_snapshot", made)
        return dict(made)

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> Policy:
        """The pinned policy back from its data (the data's own copy is kept with it)."""
        hours = dict(data["school_hours"])
        hours["days"] = tuple(hours["days"])
        return cls(
            version=data["version"],
            ack_deadline_s=dict(data["ack_deadline_s"]),
            on_scene_deadline_s=dict(data["on_scene_deadline_s"]),
            chain=tuple(data["chain"]),
            repeat_limit=int(data["repeat_limit"]),
            required_skills=dict(data["required_skills"]),
            school_hours=SchoolHours(**hours),
            low_risk_after_hours=data["low_risk_after_hours"],
        )
