"""The check-in protocol: when to check in after a crisis, by risk level.

Timings are configuration, not clinical advice.  Each published protocol gets
a new version number, and a plan copies the version in force when it opens
(like an escalation snapshot), so later edits never change a running plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from plumbing.domain import Invalid, Trace, TracedCreated, TracedEvent

PROTOCOLS_ID: UUID = uuid5(NAMESPACE_URL, "lantern:followup:protocols")
RISK_LEVELS = ("low", "moderate", "high", "imminent")
HOUR = 3600
DAY = 24 * HOUR


@dataclass(frozen=True)
class CheckinStep:
    label: str
    offset_s: int
    mode: str = "in_person"


@dataclass(frozen=True)
class Protocol:
    """One version of the protocol: check-in steps per risk level, grace, referral stall."""

    version: int
    steps: Mapping[str, tuple[CheckinStep, ...]]
    grace_s: int
    referral_stall_s: int

    def steps_for(self, risk: str) -> tuple[CheckinStep, ...]:
        return self.steps[risk]

    def as_record(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "steps": {
                risk: [{"label": s.label, "offset_s": s.offset_s, "mode": s.mode} for s in steps]
                for risk, steps in self.steps.items()
            },
            "grace_s": self.grace_s,
            "referral_stall_s": self.referral_stall_s,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Protocol:
        return cls(
            version=int(record["version"]),
            steps={
                risk: tuple(CheckinStep(**step) for step in steps)
                for risk, steps in record["steps"].items()
            },
            grace_s=int(record["grace_s"]),
            referral_stall_s=int(record["referral_stall_s"]),
        )


def _steps(*labels_and_offsets: tuple[str, int]) -> tuple[CheckinStep, ...]:
    return tuple(CheckinStep(label, offset) for label, offset in labels_and_offsets)


_INTENSIVE = _steps(("24h", DAY), ("72h", 3 * DAY), ("7d", 7 * DAY), ("30d", 30 * DAY))

#: Version 1, in force until a district publishes its own.
DEFAULT_PROTOCOL = Protocol(
    version=1,
    steps={
        "imminent": _INTENSIVE,
        "high": _INTENSIVE,
        "moderate": _steps(("72h", 3 * DAY), ("7d", 7 * DAY)),
        "low": _steps(("7d", 7 * DAY)),
    },
    grace_s=12 * HOUR,
    referral_stall_s=7 * DAY,
)


def validate(steps: Mapping[str, tuple[CheckinStep, ...]]) -> None:
    """Every risk level has steps, in increasing time, with distinct labels."""
    for risk in RISK_LEVELS:
        if risk not in steps:
            raise Invalid(f"the protocol has no steps for {risk} risk", field=risk)
        offsets = [s.offset_s for s in steps[risk]]
        if not offsets:
            raise Invalid(f"{risk} risk needs at least one check-in", field=risk)
        if offsets != sorted(set(offsets)):
            raise Invalid("check-in offsets must increase", field=risk)
        if len({s.label for s in steps[risk]}) != len(offsets):
            raise Invalid("check-in labels must be distinct", field=risk)


class ProtocolBook(Aggregate):
    """Every published version; the newest is in force for plans that open from now on."""

    class Opened(TracedCreated):
        pass

    class Published(TracedEvent):
        protocol: dict[str, Any]

        def apply(self, aggregate: ProtocolBook) -> None:
            aggregate.versions.append(Protocol.from_record(self.protocol))

    def __init__(self) -> None:
        self.versions: list[Protocol] = []

    @classmethod
    def open(cls, trace: Trace) -> ProtocolBook:
        return cls._create(cls.Opened, id=PROTOCOLS_ID, **trace.fields())

    def current(self) -> Protocol:
        return self.versions[-1] if self.versions else DEFAULT_PROTOCOL

    def publish(
        self,
        steps: Mapping[str, tuple[CheckinStep, ...]],
        *,
        grace_s: int,
        referral_stall_s: int,
        trace: Trace,
    ) -> Protocol:
        validate(steps)
        protocol = Protocol(
            version=self.current().version + 1,
            steps=dict(steps),
            grace_s=grace_s,
            referral_stall_s=referral_stall_s,
        )
        self.trigger_event(self.Published, protocol=protocol.as_record(), **trace.fields())
        return protocol
