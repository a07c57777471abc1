"""Records' read model for measures across incidents, kept in the store.

Measures by school, responder and period need every incident's few response
times.  Each incident has one small document here: the entries that matter for
measures and the measures computed from them, with the school and the period as
indexed columns.  It is a projection (``plumbing/store/projections.py``): folded
from records' own ledger events, resumed after a restart; a timeline or replay
never goes through it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from plumbing.store.projections import Projection
from services.records.domain import measures
from services.records.domain.entries import Entry
from services.records.domain.history import IncidentTimeline, Ledger

#: Event classes eventsourcing made from the ``@event`` decorators.
TIMELINE_OPENED: type[Any] = IncidentTimeline.Opened  # type: ignore[attr-defined]
LINE_ADDED: type[Any] = Ledger.Added  # type: ignore[attr-defined]


@dataclass
class _Incident:
    entries: list[dict[str, Any]] = field(default_factory=list)
    row: measures.IncidentMeasures | None = None


class MeasuresView(Projection):
    name = "measures"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.incidents = self.table(
            "incidents",
            _Incident,
            indexes={
                "school_id": lambda i: i.row.school_id if i.row else None,
                "period": lambda i: i.row.period if i.row else None,
            },
        )

    def apply(self, event: Any) -> None:
        key = str(event.originator_id)
        if isinstance(event, TIMELINE_OPENED):
            self.incidents[key] = _Incident()
        elif isinstance(event, LINE_ADDED) and event.line.get("type") in measures.RELEVANT:
            found = self.incidents.get(key)
            if found is None:
                return  # a student record's or another ledger's line
            found.entries.append(event.line)
            found.row = measures.measure(key, [Entry.from_dict(e) for e in found.entries])
            self.incidents[key] = found

    def rows(self, school_id: str | None = None) -> list[measures.IncidentMeasures]:
        self.catch_up()
        with self.lock:
            found = (
                self.incidents.where(school_id=school_id)
                if school_id is not None
                else self.incidents.values()
            )
            return [i.row for i in found if i.row is not None]
