"""What a reader sees of an incident, folded from its events (the write model stays slim).

Minimum necessary here too: note texts stay in the store (only counted), the
student's identifying details are never shown (only whether some are on file),
and a correction of a sensitive field shows that it happened, not its value.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from plumbing.domain import rfc3339
from services.intake.domain.incident import Incident


def incident_view(events: Iterable[Any], *, student_details_on_file: bool) -> dict[str, Any]:
    view: dict[str, Any] = {}
    for event in events:
        _FOLD[type(event)](view, event)
    view["student_details_on_file"] = student_details_on_file
    return view


def _reported(view: dict[str, Any], e: Incident.Reported) -> None:
    view.update(
        incident_id=str(e.originator_id),
        school_id=e.school_id,
        student_ref=e.student_ref,
        categories=list(e.categories),
        risk=e.risk,
        state="open",
        reporter_id=e.reporter_id,
        reporter_role=e.reporter_role,
        reported_at=rfc3339(e.reported_at),
        location=e.location,
        warning_signs=list(e.warning_signs),
        immediate_danger=e.immediate_danger,
        language=e.language,
        screener=_screener(e.screener, e.suggested_risk, e.chosen_risk),
        linked_incident_id=str(e.linked_incident_id) if e.linked_incident_id else None,
        linked_reports=[],
        notes=1 if e.note else 0,
        reclassifications=[],
        corrections=[],
        overrides=[],
        cancelled=None,
        closed=None,
    )


def _screener(
    answers: dict[str, Any] | None, suggested: str | None, chosen: str
) -> dict[str, Any] | None:
    if answers is None:
        return None
    return {"answers": answers, "suggested": suggested, "chosen": chosen}


def _linked(view: dict[str, Any], e: Incident.ReportLinked) -> None:
    view["linked_reports"].append(
        {
            "report_id": str(e.report_id),
            "school_id": e.school_id,
            "reporter_id": e.reporter_id,
            "reporter_role": e.reporter_role,
            "location": e.location,
            "language": e.language,
            "categories": list(e.categories),
            "risk": e.risk,
            "immediate_danger": e.immediate_danger,
            "screener": _screener(e.screener, e.suggested_risk, e.chosen_risk),
            "at": rfc3339(e.at),
        }
    )
    view["warning_signs"] += [s for s in e.warning_signs if s not in view["warning_signs"]]
    view["immediate_danger"] = view["immediate_danger"] or e.immediate_danger
    view["notes"] += 1 if e.note else 0


def _overridden(view: dict[str, Any], e: Incident.ScreenerOverridden) -> None:
    view["overrides"].append(
        {
            "report_id": str(e.report_id),
            "suggested": e.suggested,
            "chosen": e.chosen,
            "reason": e.reason,
            "by": e.by,
        }
    )


def _noted(view: dict[str, Any], e: Incident.Noted) -> None:
    view["notes"] += 1 if e.text else 0
    view["warning_signs"] += [s for s in e.warning_signs if s not in view["warning_signs"]]


def _reclassified(view: dict[str, Any], e: Incident.Reclassified) -> None:
    view["risk"] = e.risk
    view["reclassifications"].append(
        {"from": e.previous_risk, "to": e.risk, "reason": e.reason, "by": e.by, "at": _iso(e.at)}
    )


def _corrected(view: dict[str, Any], e: Incident.Corrected) -> None:
    if not e.sensitive and e.value is not None:
        view[e.field] = e.value.split(",") if e.field == "categories" else e.value
    view["corrections"].append(
        {
            "field": e.field,
            "value": e.value,
            "reason": e.reason,
            "by": e.by,
            "at": _iso(e.at),
            "effective_at": _iso(e.effective_at),
        }
    )


def _cancelled(view: dict[str, Any], e: Incident.Cancelled) -> None:
    view["state"] = "cancelled"
    view["cancelled"] = {"reason": e.reason, "by": e.by, "at": _iso(e.at)}


def _closed(view: dict[str, Any], e: Incident.Closed) -> None:
    view["state"] = "closed"
    view["closed"] = {"by": e.by, "at": _iso(e.at)}


def _iso(at: Any) -> str:
    return rfc3339(at)


_FOLD: dict[type[Any], Any] = {
    Incident.Reported: _reported,
    Incident.ReportLinked: _linked,
    Incident.ScreenerOverridden: _overridden,
    Incident.Noted: _noted,
    Incident.Reclassified: _reclassified,
    Incident.Corrected: _corrected,
    Incident.Cancelled: _cancelled,
    Incident.Closed: _closed,
}
