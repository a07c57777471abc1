"""Small helpers for domain and application specifications."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from eventsourcing.domain import Aggregate

from plumbing.domain import Trace

NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
TRACE = Trace(actor="staff-1", correlation_id="corr-1", causation_id="cause-1")


def memory() -> dict[str, str]:
    return {"PERSISTENCE_MODULE": "eventsourcing.popo"}


def given(events: Sequence[Any]) -> Any:
    """Rebuild an aggregate from its history (the "given" of a specification)."""
    aggregate: Any = None
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


def then(aggregate: Aggregate) -> list[Any]:
    """The new events a command produced (the "then")."""
    return list(aggregate.collect_events())


def types(events: Iterable[Any]) -> list[str]:
    return [type(e).__qualname__ for e in events]
