"""Response measures derived from the events alone: how fast each step of a response came.

Per incident: seconds from the report to the first assignment, the first
acknowledgement, the responder being with the student, the guardian being
notified, and the first completed follow-up check-in; and how often dispatch
escalated or a responder declined.  Summaries group incidents by school,
responder (who acknowledged, else who was first assigned) and month.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from plumbing.domain import rfc3339
from services.records.domain.entries import EVENT, Entry, ordered

DURATIONS = (
    "to_assign_s",
    "to_acknowledge_s",
    "to_with_student_s",
    "to_notify_guardian_s",
    "to_first_followup_s",
)

#: Only these entry types matter to the measures (the view keeps nothing else).
RELEVANT = frozenset(
    {
        "incident_reported",
        "responder_assigned",
        "dispatch_acknowledged",
        "dispatch_status_changed",
        "guardian_notification_recorded",
        "checkin_recorded",
        "dispatch_escalated",
        "dispatch_declined",
        "plan_opened",
    }
)


@dataclass(frozen=True)
class IncidentMeasures:
    incident_id: str
    school_id: str | None
    responder_id: str | None
    period: str | None  # YYYY-MM of the report
    reported_at: datetime | None
    to_assign_s: float | None
    to_acknowledge_s: float | None
    to_with_student_s: float | None
    to_notify_guardian_s: float | None
    to_first_followup_s: float | None
    escalations: int
    declines: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "incident_id": self.incident_id,
            "school_id": self.school_id,
            "responder_id": self.responder_id,
            "period": self.period,
            "reported_at": rfc3339(self.reported_at) if self.reported_at else None,
            **{name: getattr(self, name) for name in DURATIONS},
            "escalations": self.escalations,
            "declines": self.declines,
        }


def measure(incident_id: str, entries: Iterable[Entry]) -> IncidentMeasures:
    firsts: dict[str, datetime] = {}
    school: str | None = None
    assigned_to: str | None = None
    acknowledged_by: str | None = None
    escalations = declines = 0

    def first(name: str, at: datetime) -> None:
        firsts.setdefault(name, at)

    for e in ordered(x for x in entries if x.kind == EVENT):
        d = e.data
        school = school or d.get("school_id")
        if e.type == "incident_reported":
            first("reported", e.at)
        elif e.type == "responder_assigned":
            first("assigned", e.at)
            assigned_to = assigned_to or d.get("responder_id")
        elif e.type == "dispatch_acknowledged":
            first("acknowledged", e.at)
            acknowledged_by = acknowledged_by or d.get("responder_id")
        elif e.type == "dispatch_status_changed" and d.get("status") == "with_student":
            first("with_student", e.at)
        elif e.type == "guardian_notification_recorded" and d.get("notified"):
            first("guardian", e.at)
        elif e.type == "checkin_recorded" and d.get("state") == "completed":
            first("followup", e.at)
        elif e.type == "dispatch_escalated":
            escalations += 1
        elif e.type == "dispatch_declined":
            declines += 1
    start = firsts.get("reported")

    def since(name: str) -> float | None:
        at = firsts.get(name)
        return None if start is None or at is None else (at - start).total_seconds()

    return IncidentMeasures(
        incident_id=incident_id,
        school_id=school,
        responder_id=acknowledged_by or assigned_to,
        period=start.strftime("%Y-%m") if start else None,
        reported_at=start,
        to_assign_s=since("assigned"),
        to_acknowledge_s=since("acknowledged"),
        to_with_student_s=since("with_student"),
        to_notify_guardian_s=since("guardian"),
        to_first_followup_s=since("followup"),
        escalations=escalations,
        declines=declines,
    )


def summarise(rows: Iterable[IncidentMeasures]) -> dict[str, Any]:
    """Count, median, 90th percentile and worst of each duration; escalation totals."""
    listed = list(rows)
    out: dict[str, Any] = {
        "incidents": len(listed),
        "escalations": sum(r.escalations for r in listed),
        "declines": sum(r.declines for r in listed),
        "escalated_incidents": sum(1 for r in listed if r.escalations),
    }
    for name in DURATIONS:
        values = sorted(v for r in listed if (v := getattr(r, name)) is not None)
        out[name] = _stats(values)
    return out


def _stats(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"count": 0, "median": None, "p90": None, "max": None}
    p90 = values[min(len(values) - 1, round(0.9 * (len(values) - 1)))]
    return {
        "count": len(values),
        "median": statistics.median(values),
        "p90": p90,
        "max": values[-1],
    }


def grouped(rows: Iterable[IncidentMeasures]) -> dict[str, Any]:
    """The overall summary, and one per school, responder and period."""
    listed = list(rows)
    return {
        "overall": summarise(listed),
        "by_school": _by(listed, lambda r: r.school_id),
        "by_responder": _by(listed, lambda r: r.responder_id),
        "by_period": _by(listed, lambda r: r.period),
    }


def _by(rows: list[IncidentMeasures], key: Any) -> dict[str, Any]:
    groups: dict[str, list[IncidentMeasures]] = {}
    for r in rows:
        k = key(r)
        if k is not None:
            groups.setdefault(k, []).append(r)
    return {k: summarise(v) for k, v in sorted(groups.items())}


def matches(row: IncidentMeasures, filters: Mapping[str, str | None]) -> bool:
    return all(value is None or getattr(row, name) == value for name, value in filters.items())
