"""What a supervisor compares: time to assign and to acknowledge, steps, pages and load balance.

The same functions measure what actually happened (the recorded events) and
what the what-if replay did (its events), so the two columns always mean the
same thing.  Times are seconds from the report (``reported_at``), the way the
response measures count them.  Percentiles are nearest-rank (the smallest
value with at least p % of the values at or below it), so a hand count can
check them; incidents never assigned or never acknowledged are counted apart,
not in the percentiles.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.dispatch.domain.response import IncidentResponse

R = IncidentResponse


@dataclass(frozen=True)
class Outcome:
    """One incident's response, as measured from its events."""

    assigned_after_s: float | None
    acknowledged_after_s: float | None
    acknowledged_by: str | None
    escalation_steps: int  # chain steps that paged someone
    exhausted: bool  # the chain ran out
    declines: int
    pages: tuple[str, ...]  # everyone paged, in order
    phase: str  # where it stood at the end

    def as_record(self) -> dict[str, Any]:
        return {
            "assigned_after_s": _round(self.assigned_after_s),
            "acknowledged_after_s": _round(self.acknowledged_after_s),
            "acknowledged_by": self.acknowledged_by,
            "escalation_steps": self.escalation_steps,
            "exhausted": self.exhausted,
            "declines": self.declines,
            "pages": list(self.pages),
            "phase": self.phase,
        }


def outcome(events: Iterable[Any], reported_at: datetime) -> Outcome:
    assigned: datetime | None = None
    acknowledged: tuple[datetime, str] | None = None
    steps = declines = 0
    exhausted = False
    pages: list[str] = []
    phase = "new"
    for event in events:
        if isinstance(event, R.PagingHeld):
            phase = "held"
        elif isinstance(event, R.ResponderAssigned):
            assigned = assigned or event.at
            pages.append(event.responder_id)
            phase = "paging"
        elif isinstance(event, R.Escalated):
            if event.to_responder_id is None:
                exhausted, phase = True, "exhausted"
            else:
                assigned = assigned or event.at
                pages.append(event.to_responder_id)
                steps += 1
                phase = "paging"
        elif isinstance(event, R.Acknowledged):
            acknowledged = acknowledged or (event.at, event.responder_id)
            phase = "acknowledged"
        elif isinstance(event, R.Declined):
            declines += 1
        elif isinstance(event, R.StatusReported):
            phase = "resolved" if event.status == "resolved" else phase
        elif isinstance(event, R.Cancelled):
            phase = "cancelled"
        elif isinstance(event, R.Closed):
            phase = "closed"
    return Outcome(
        assigned_after_s=_after(assigned, reported_at),
        acknowledged_after_s=_after(acknowledged[0] if acknowledged else None, reported_at),
        acknowledged_by=acknowledged[1] if acknowledged else None,
        escalation_steps=steps,
        exhausted=exhausted,
        declines=declines,
        pages=tuple(pages),
        phase=phase,
    )


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest rank: the smallest value with at least p % of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(outcomes: Sequence[Outcome], universe: Iterable[str] = ()) -> dict[str, Any]:
    """The figures of a set of incidents; ``universe``: responders counted in the balance."""
    assign = [o.assigned_after_s for o in outcomes if o.assigned_after_s is not None]
    ack = [o.acknowledged_after_s for o in outcomes if o.acknowledged_after_s is not None]
    pages = pages_per_responder(outcomes)
    steps = sum(o.escalation_steps for o in outcomes)
    return {
        "incidents": len(outcomes),
        "assigned": len(assign),
        "time_to_assign_p50_s": _round(percentile(assign, 50)),
        "time_to_assign_p90_s": _round(percentile(assign, 90)),
        "acknowledged": len(ack),
        "time_to_ack_p50_s": _round(percentile(ack, 50)),
        "time_to_ack_p90_s": _round(percentile(ack, 90)),
        "escalation_steps": steps,
        "escalation_steps_per_incident": _round(steps / len(outcomes)) if outcomes else None,
        "exhausted": sum(o.exhausted for o in outcomes),
        "declines": sum(o.declines for o in outcomes),
        "pages": sum(pages.values()),
        **balance(pages, universe),
    }


def pages_per_responder(outcomes: Iterable[Outcome]) -> Counter[str]:
    return Counter(p for o in outcomes for p in o.pages)


def balance(pages: Counter[str], universe: Iterable[str] = ()) -> dict[str, Any]:
    """How evenly pages fell: the busiest responder's share, and the coefficient of variation.

    Counted over ``universe`` (for a fair comparison: everyone paged on either
    side) plus anyone paged here; 0 means perfectly even.
    """
    people = sorted(set(universe) | set(pages))
    counts = [pages.get(p, 0) for p in people]
    total = sum(counts)
    if not people or total == 0:
        return {"busiest_responder": None, "busiest_share": None, "pages_cv": None}
    busiest = max(people, key=lambda p: (pages.get(p, 0), p))
    mean = total / len(counts)
    return {
        "busiest_responder": busiest,
        "busiest_share": _round(pages[busiest] / total),
        "pages_cv": _round(statistics.pstdev(counts) / mean),
    }


def _after(at: datetime | None, start: datetime) -> float | None:
    return None if at is None else (at - start).total_seconds()


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
