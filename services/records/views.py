"""Records' in-process read model for measures across incidents.

Why in memory: measures by school, responder and period need every
incident's few response times, and those are small (one row of timestamps
per incident, only the entry types that matter).  The view is rebuilt from
records' own store at start and caught up before each query; a timeline or
replay never goes through it.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from plumbing.store.local_view import LocalView
from services.records.domain import measures
from services.records.domain.entries import Entry
from services.records.domain.history import IncidentTimeline, Ledger

#: Event classes eventsourcing made from the ``@event`` decorators.
TIMELINE_OPENED: type[Any] = IncidentTimeline.Opened  # type: ignore[attr-defined]
LINE_ADDED: type[Any] = Ledger.Added  # type: ignore[attr-defined]


class MeasuresView(LocalView):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._timelines: set[UUID] = set()
        self._entries: dict[UUID, list[Entry]] = {}

    def apply(self, event: Any) -> None:
        if isinstance(event, TIMELINE_OPENED):
            self._timelines.add(event.originator_id)
        elif (
            isinstance(event, LINE_ADDED)
            and event.originator_id in self._timelines
            and event.line.get("type") in measures.RELEVANT
        ):
            self._entries.setdefault(event.originator_id, []).append(Entry.from_dict(event.line))

    def rows(self) -> list[measures.IncidentMeasures]:
        self.catch_up()
        with self.lock:
            return [measures.measure(str(i), list(es)) for i, es in self._entries.items()]
