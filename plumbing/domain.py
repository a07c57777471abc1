"""Pure building blocks for service domain models: traced events and domain errors.

Every domain event carries who caused it and why (correlation and causation),
so that a log line, a NATS header or a timeline entry can be traced back to the
report that started it all.  Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eventsourcing.domain import Aggregate


@dataclass(frozen=True)
class Trace:
    """Who asked for a change, in which conversation, because of what."""

    actor: str
    correlation_id: str
    causation_id: str

    def fields(self) -> dict[str, Any]:
        return {
            "actor": self.actor,
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
        }


def rfc3339(at: datetime) -> str:
    """The one way Lantern writes a time: RFC 3339 in UTC, ``2026-11-28T09:30:00.123456Z``.

    The same form msgspec gives a UTC ``datetime`` on the wire, so events, replies
    and CLI output agree (fractional seconds only when there are any).
    """
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


class TracedEvent(Aggregate.Event):
    """Base for every Lantern domain event."""

    actor: str
    correlation_id: str
    causation_id: str


class TracedCreated(Aggregate.Created, TracedEvent):
    """Base for the first event of an aggregate."""


class DomainError(Exception):
    """A command was refused by the domain; nothing was changed."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    """The thing the command is about does not exist."""


class Conflict(DomainError):
    """The command does not fit the current state (already done, moved on...)."""


class Invalid(DomainError):
    """The command's data is well-formed but not acceptable (unknown school...)."""
