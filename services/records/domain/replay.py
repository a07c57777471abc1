"""Replay: an incident's full state (triage, dispatch, follow-up) folded from its timeline.

Two questions, two folds over the same entries:

* **as known at T** ("what did we know, and when?"): only what the services had
  recorded by T, applied in recording order.  A correction made after T is not
  there: this is what anyone looking at Lantern at T saw.
* **as true at T** ("what do we now know was true then?"): everything known
  today whose *effective* time is at or before T.  A correction made later but
  effective earlier is applied.

Both are pure functions of the entries, so a review, a test and the HTTP API
all get the same answer.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from plumbing.domain import rfc3339
from services.records.domain.entries import EVENT, Entry, ordered

State = dict[str, Any]


def initial() -> State:
    return {
        "incident": {
            "status": None,
            "school_id": None,
            "student_ref": None,
            "risk": None,
            "categories": [],
            "location": "",
            "language": "",
            "reporter_role": "",
            "immediate_danger": False,
            "reported_at": None,
            "linked_reports": 0,
            "notes": 0,
            "corrections": [],
        },
        "dispatch": {
            "state": None,
            "dispatch_id": None,
            "responder_id": None,
            "assigned_at": None,
            "acknowledged_at": None,
            "with_student_at": None,
            "handed_off_to": "",
            "escalations": 0,
            "declines": 0,
            "no_responder_eligible": False,
        },
        "followup": {
            "plan_id": None,
            "owner_id": None,
            "opened_at": None,
            "checkins": {},
            "referrals": {},
            "consents": {},
            "guardian": None,
            "disclosures": 0,
            "renewed_risk_incidents": [],
        },
        "events_applied": 0,
        "last_event_id": None,
    }


def fold(entries: Iterable[Entry]) -> State:
    """Apply entries in the order given (callers choose the order)."""
    state = initial()
    for entry in entries:
        apply(state, entry)
    return state


def apply(state: State, entry: Entry) -> None:
    """Fold one entry into ``state`` (in place); access entries change nothing."""
    if entry.kind != EVENT:
        return
    handler = _HANDLERS.get(entry.type)
    if handler is not None:
        handler(state, entry, entry.data)
    state["events_applied"] += 1
    state["last_event_id"] = entry.event_id


def known_at(entries: Iterable[Entry], instant: datetime) -> State:
    """The state as the record stood at ``instant``: only what had been recorded by then."""
    known = [e for e in entries if e.known_from <= instant]
    return fold(sorted(known, key=lambda e: (e.known_from, e.at, e.event_id)))


def true_at(entries: Iterable[Entry], instant: datetime) -> State:
    """The state as now known to have been true at ``instant`` (later corrections applied)."""
    effective = [e for e in entries if e.effective_at <= instant]
    return fold(sorted(effective, key=lambda e: (e.effective_at, e.known_from, e.event_id)))


def after(entries: Sequence[Entry], position: int) -> State:
    """The state after the first ``position`` entries of the timeline (stepping)."""
    return fold(ordered(entries)[:position])


def steps(entries: Iterable[Entry], view: str = "known") -> list[tuple[Entry, State]]:
    """Each entry with the state right after it, event by event.

    ``known``: in recording order; ``true``: in effective order.
    """
    events = [e for e in entries if e.kind == EVENT]
    if view == "true":
        events.sort(key=lambda e: (e.effective_at, e.known_from, e.event_id))
    else:
        events.sort(key=lambda e: (e.known_from, e.at, e.event_id))
    state = initial()
    out = []
    for entry in events:
        apply(state, entry)
        out.append((entry, copy.deepcopy(state)))
    return out


# -- one handler per event type ------------------------------------------------------------------
Handler = Callable[[State, Entry, Any], None]


def _iso(entry: Entry) -> str:
    return rfc3339(entry.at)


def _reported(s: State, e: Entry, d: Any) -> None:
    inc = s["incident"]
    inc.update(
        status="open",
        school_id=d.get("school_id"),
        student_ref=d.get("student_ref"),
        risk=d.get("risk"),
        categories=list(d.get("categories", [])),
        location=d.get("location", ""),
        language=d.get("language", ""),
        immediate_danger=bool(d.get("immediate_danger", False)),
        reported_at=_iso(e),
    )
    # A correction effective from before the report (true view) still wins over it.
    for correction in inc["corrections"]:
        _set_corrected(inc, correction["field"], correction["value"])


def _linked(s: State, e: Entry, d: Any) -> None:
    s["incident"]["linked_reports"] += 1
    s["incident"]["risk"] = d.get("risk", s["incident"]["risk"])


def _reclassified(s: State, e: Entry, d: Any) -> None:
    s["incident"]["risk"] = d.get("risk")


def _corrected(s: State, e: Entry, d: Any) -> None:
    inc = s["incident"]
    field, value = d.get("field", ""), d.get("value")
    inc["corrections"].append(
        {
            "field": field,
            "value": value,
            "effective_at": rfc3339(e.effective_at),
            "at": _iso(e),
            "by": d.get("by", ""),
            "reason": d.get("reason", ""),
        }
    )
    _set_corrected(inc, field, value)


def _set_corrected(inc: dict[str, Any], field: str, value: str | None) -> None:
    if value is None:  # a sensitive field: its value stays at intake
        return
    if field == "categories":
        inc["categories"] = [c for c in str(value).split(",") if c]
    elif field in ("location", "language", "reporter_role"):
        inc[field] = value


def _noted(s: State, e: Entry, d: Any) -> None:
    s["incident"]["notes"] += 1


def _cancelled(s: State, e: Entry, d: Any) -> None:
    s["incident"]["status"] = "cancelled"


def _closed(s: State, e: Entry, d: Any) -> None:
    s["incident"]["status"] = "closed"


def _assigned(s: State, e: Entry, d: Any) -> None:
    s["dispatch"].update(
        state="assigned",
        dispatch_id=d.get("dispatch_id"),
        responder_id=d.get("responder_id"),
        assigned_at=_iso(e),
        acknowledged_at=None,
    )


def _no_responder(s: State, e: Entry, d: Any) -> None:
    s["dispatch"]["no_responder_eligible"] = True


def _acknowledged(s: State, e: Entry, d: Any) -> None:
    s["dispatch"].update(
        state="acknowledged", responder_id=d.get("responder_id"), acknowledged_at=_iso(e)
    )


def _declined(s: State, e: Entry, d: Any) -> None:
    s["dispatch"]["state"] = "declined"
    s["dispatch"]["declines"] += 1


def _escalated(s: State, e: Entry, d: Any) -> None:
    s["dispatch"]["escalations"] += 1


def _status(s: State, e: Entry, d: Any) -> None:
    status = d.get("status")
    s["dispatch"]["state"] = status
    if status == "with_student" and s["dispatch"]["with_student_at"] is None:
        s["dispatch"]["with_student_at"] = _iso(e)
    if status == "handed_off":
        s["dispatch"]["handed_off_to"] = d.get("handed_off_to", "")


def _plan_opened(s: State, e: Entry, d: Any) -> None:
    s["followup"].update(plan_id=d.get("plan_id"), owner_id=d.get("owner_id"), opened_at=_iso(e))
    if s["incident"]["student_ref"] is None:
        s["incident"]["student_ref"] = d.get("student_ref")


def _plan_reassigned(s: State, e: Entry, d: Any) -> None:
    s["followup"]["owner_id"] = d.get("owner_id")


def _checkin(s: State, e: Entry, d: Any) -> None:
    s["followup"]["checkins"][d.get("slot") or d.get("checkin_id")] = {
        "state": d.get("state"),
        "outcome": d.get("outcome"),
        "at": _iso(e),
    }


def _renewed(s: State, e: Entry, d: Any) -> None:
    s["followup"]["renewed_risk_incidents"].append(d.get("new_incident_id"))


def _referral(s: State, e: Entry, d: Any) -> None:
    s["followup"]["referrals"][d.get("referral_id")] = {
        "resource_id": d.get("resource_id"),
        "state": d.get("state"),
        "blocked": d.get("blocked", False),
    }


def _consent(s: State, e: Entry, d: Any) -> None:
    s["followup"]["consents"][d.get("consent_id")] = d.get("status")


def _guardian(s: State, e: Entry, d: Any) -> None:
    s["followup"]["guardian"] = {
        "notified": d.get("notified"),
        "method": d.get("method"),
        "reason": d.get("reason"),
        "at": _iso(e),
    }


def _disclosure(s: State, e: Entry, d: Any) -> None:
    s["followup"]["disclosures"] += 1


_HANDLERS: dict[str, Handler] = {
    "incident_reported": _reported,
    "report_linked": _linked,
    "risk_reclassified": _reclassified,
    "incident_corrected": _corrected,
    "incident_noted": _noted,
    "incident_cancelled": _cancelled,
    "incident_closed": _closed,
    "responder_assigned": _assigned,
    "no_responder_eligible": _no_responder,
    "dispatch_acknowledged": _acknowledged,
    "dispatch_declined": _declined,
    "dispatch_escalated": _escalated,
    "dispatch_status_changed": _status,
    "plan_opened": _plan_opened,
    "plan_reassigned": _plan_reassigned,
    "checkin_recorded": _checkin,
    "renewed_risk_reported": _renewed,
    "referral_changed": _referral,
    "consent_changed": _consent,
    "guardian_notification_recorded": _guardian,
    "disclosure_recorded": _disclosure,
}
