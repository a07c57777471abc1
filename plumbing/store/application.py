"""The base eventsourcing application every service builds on.

It is an ``EventSourcedProjection`` so that its recorder can write tracking
records: whatever a consumer decides is stored in the same transaction as the
position of the message that caused it (exactly-once in effect).  Commands from
HTTP use :meth:`record` without tracking.  After every commit, listeners (the
outbox relay's wake-up) are told, so publishing latency stays low without a
busy loop.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import ProcessingEvent
from eventsourcing.domain import Aggregate, DomainEventProtocol
from eventsourcing.persistence import Recording, Tracking
from eventsourcing.projection import EventSourcedProjection

from plumbing.integrity import audit


class LanternApplication(EventSourcedProjection[UUID]):
    """Load -> decide -> record.  Subclasses set ``name`` to the service name."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        self._listeners: list[Callable[[], None]] = []
        self._listeners_lock = threading.Lock()

    # -- writing ------------------------------------------------------------------
    def record(self, *aggregates: Aggregate | None, tracking: Tracking | None = None) -> int:
        """Store the aggregates' pending events (and the tracking record) atomically.

        Returns the number of events stored.  The audit entry of the command being
        served (if any is pending, see ``plumbing.integrity.audit``) is stored in the same
        transaction, so no command is on record without its audit entry.
        """
        processing = ProcessingEvent[UUID](tracking=tracking)
        processing.collect_events(*aggregates)
        entry = audit.rider() if processing.events else None
        if entry is not None:
            processing.collect_events(entry.aggregate())
        recordings = self._record(processing)
        if entry is not None:
            entry.stored = True
        self._take_snapshots(processing)
        self._notify(recordings)
        return len(processing.events)

    def is_processed(self, upstream: str, position: int) -> bool:
        """True when a message at ``position`` of ``upstream`` was already handled."""
        return self.recorder.has_tracking_id(upstream, position)

    def processed_position(self, upstream: str) -> int:
        return self.recorder.max_tracking_id(upstream) or 0

    # -- reading --------------------------------------------------------------------
    def exists(self, aggregate_id: UUID) -> bool:
        return bool(self.recorder.select_events(aggregate_id, limit=1))

    def domain_events_after(self, position: int, limit: int) -> Sequence[tuple[int, Any]]:
        """(notification id, domain event) pairs after ``position``, oldest first."""
        notifications = self.recorder.select_notifications(
            position, limit, inclusive_of_start=False
        )
        return [(n.id, self.mapper.to_domain_event(n)) for n in notifications]

    # -- wake-ups ---------------------------------------------------------------------
    def add_listener(self, listener: Callable[[], None]) -> None:
        with self._listeners_lock:
            self._listeners.append(listener)

    def _notify(self, recordings: list[Recording[UUID]]) -> None:
        super()._notify(recordings)
        if recordings:
            with self._listeners_lock:
                listeners = list(self._listeners)
            for listener in listeners:
                listener()

    def policy(self, domain_event: DomainEventProtocol[UUID], processing_event: Any) -> None:
        """Unused: consumers call :meth:`record` with a tracking record instead."""
