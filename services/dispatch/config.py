"""Dispatch's configuration: the escalation policy and the notification channels.

Example (``lantern up --config lantern.toml``)::

    [dispatch]
    version = "district-2026-11"

    [dispatch.ack_deadline_seconds]      # how long a responder has to acknowledge
    imminent = 120
    high = 300
    moderate = 900
    low = 3600

    [dispatch.on_scene_deadline_seconds]  # acknowledged -> with the student (0: none)
    high = 600

    [dispatch.escalation]
    chain = ["next_responder", "supervisor", "district_crisis_lead"]
    repeat_limit = 1

    [dispatch.school_hours]
    timezone = "America/Chicago"
    low_risk_after_hours = "hold"        # or "page"

    [dispatch.notifications.webhook]
    url = "http://127.0.0.1:9000/pages"

    [dispatch.notifications.smtp]
    host = "127.0.0.1"
    port = 25
    sender = "lantern@district.example"
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from events.dispatch import HHMM, Day
from plumbing.config import ConfigError, load_file, section
from services.dispatch.domain.policy import Policy, SchoolHours

Seconds = Annotated[int, msgspec.Meta(ge=1, le=7 * 24 * 3600)]
OptionalSeconds = Annotated[int, msgspec.Meta(ge=0, le=7 * 24 * 3600)]
Step = Literal["next_responder", "supervisor", "district_crisis_lead"]


class Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class AckDeadlines(Strict):
    imminent: Seconds = 120
    high: Seconds = 300
    moderate: Seconds = 900
    low: Seconds = 3600


class OnSceneDeadlines(Strict):
    imminent: OptionalSeconds = 600
    high: OptionalSeconds = 600
    moderate: OptionalSeconds = 1800
    low: OptionalSeconds = 0


class Escalation(Strict):
    chain: Annotated[list[Step], msgspec.Meta(min_length=1, max_length=10)] = msgspec.field(
        default_factory=lambda: ["next_responder", "supervisor", "district_crisis_lead"]
    )
    repeat_limit: Annotated[int, msgspec.Meta(ge=0, le=10)] = 1


class Hours(Strict):
    timezone: str = "UTC"
    days: list[Day] = msgspec.field(default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"])
    start: HHMM = "07:30"
    end: HHMM = "16:30"
    low_risk_after_hours: Literal["page", "hold"] = "page"


class Webhook(Strict):
    url: Annotated[str, msgspec.Meta(pattern=r"^https?://")]
    timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=60)] = 5.0


class Smtp(Strict):
    host: str
    sender: Annotated[str, msgspec.Meta(pattern=r"^[^@\s]+@[^@\s]+$")]
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 25


class Notifications(Strict):
    webhook: Webhook | None = None
    smtp: Smtp | None = None


class DispatchConfig(Strict):
    version: str = ""
    ack_deadline_seconds: AckDeadlines = msgspec.field(default_factory=AckDeadlines)
    on_scene_deadline_seconds: OnSceneDeadlines = msgspec.field(default_factory=OnSceneDeadlines)
    escalation: Escalation = msgspec.field(default_factory=Escalation)
    school_hours: Hours = msgspec.field(default_factory=Hours)
    required_skills: dict[str, str] = msgspec.field(
        default_factory=lambda: {
            "suicidal_ideation": "suicide_risk_assessment",
            "self_harm": "suicide_risk_assessment",
            "harm_to_others": "threat_assessment",
        }
    )
    notifications: Notifications = msgspec.field(default_factory=Notifications)

    def policy(self) -> Policy:
        content: dict[str, Any] = msgspec.to_builtins(self)
        content.pop("notifications")
        version = (
            self.version
            or "sha-"
            + hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:12]
        )
        return Policy(
            version=version,
            ack_deadline_s=msgspec.to_builtins(self.ack_deadline_seconds),
            on_scene_deadline_s=msgspec.to_builtins(self.on_scene_deadline_seconds),
            chain=tuple(self.escalation.chain),
            repeat_limit=self.escalation.repeat_limit,
            required_skills=dict(self.required_skills),
            school_hours=SchoolHours(
                timezone=self.school_hours.timezone,
                days=tuple(self.school_hours.days),
                start=self.school_hours.start,
                end=self.school_hours.end,
            ),
            low_risk_after_hours=self.school_hours.low_risk_after_hours,
        )


def parse(data: dict[str, Any]) -> DispatchConfig:
    config = section(data, "dispatch", DispatchConfig)
    try:
        ZoneInfo(config.school_hours.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"unknown time zone {config.school_hours.timezone!r}", "dispatch.school_hours.timezone"
        ) from None
    return config


def load(path: str) -> DispatchConfig:
    return parse(load_file(path)) if path else DispatchConfig()
