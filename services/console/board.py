"""The supervisor's board, folded from the published events alone (no service is asked).

Why a read model of its own: the board shows every open incident of a
supervisor's schools, live; asking dispatch for 500 responses on every change
would not keep up, and the published events already say everything the board
shows.  It carries no student details (the events carry a pseudonymous
reference, which the board does not show); opening an incident goes through
the services' own, audited operations.

Pure: events in, rows out, with the clock passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from events import dispatch as d
from events import followup as f
from events import intake as i

RISK_ORDER = {"imminent": 0, "high": 1, "moderate": 2, "low": 3}
#: dispatch states in which the responder has not (yet) taken the incident
WAITING = frozenset({"assigned"})
FIELD = ("en_route", "with_student", "stabilized", "handed_off", "resolved")


@dataclass
class Row:
    """One incident on the board."""

    incident_id: str
    school_id: str
    risk: str = "low"
    categories: tuple[str, ...] = ()
    reported_at: datetime | None = None
    immediate_danger: bool = False
    location: str = ""
    state: str = "open"  # open | cancelled | closed
    responder_id: str | None = None
    dispatch_id: str | None = None
    dispatch_state: str = "new"  # new | assigned | acknowledged | <field status> | declined
    ack_deadline: datetime | None = None
    step: str = ""
    escalations: int = 0
    exhausted: bool = False  # nobody holds this incident
    no_eligible: bool = False
    plan_id: str | None = None
    owner_id: str | None = None
    overdue_checkins: set[str] = field(default_factory=set)
    stalled_referrals: set[str] = field(default_factory=set)
    updated_at: datetime | None = None

    @property
    def open(self) -> bool:
        return self.state == "open"

    @property
    def unheld(self) -> bool:
        """Nobody has acknowledged: the incident is waiting for someone to take it."""
        return self.exhausted or self.no_eligible or self.dispatch_state in ("new", *WAITING)

    def seconds_left(self, now: datetime) -> float | None:
        if self.dispatch_state not in WAITING or self.ack_deadline is None:
            return None
        return (self.ack_deadline - now).total_seconds()


Event = i.IntakeEvent | d.DispatchEvent | f.FollowupEvent


@dataclass
class Board:
    rows: dict[str, Row] = field(default_factory=dict)
    #: incidents cancelled or closed: off the board for good (their rows are dropped, so a
    #: console that runs for a school year keeps only what is open in memory)
    finished: set[str] = field(default_factory=set)

    def _row(self, incident_id: Any, school_id: str = "", at: datetime | None = None) -> Row:
        key = str(incident_id)
        if key in self.finished:
            return Row(incident_id=key, school_id=school_id, state="closed")  # a late event
        row = self.rows.get(key)
        if row is None:
            row = self.rows[key] = Row(incident_id=key, school_id=school_id)
        if school_id and not row.school_id:
            row.school_id = school_id
        if at is not None:
            row.updated_at = at
        return row

    def apply(self, event: Any) -> str | None:
        """Fold one event; the incident it touched (None: not the board's business)."""
        handler = _HANDLERS.get(type(event))
        if handler is None:
            return None
        handler(self, event)
        return str(event.incident_id)

    # -- reading ---------------------------------------------------------------------------
    def visible(self, schools: tuple[str, ...] | None) -> list[Row]:
        """Open incidents of these schools (None: every school), most urgent first."""
        rows = [
            r for r in self.rows.values() if r.open and (schools is None or r.school_id in schools)
        ]
        rows.sort(key=_urgency)
        return rows

    def school_of(self, incident_id: str) -> str | None:
        row = self.rows.get(incident_id)
        return row.school_id if row else None

    def responders_of(self, incident_id: str) -> set[str]:
        row = self.rows.get(incident_id)
        return {row.responder_id} if row and row.responder_id else set()


def _urgency(row: Row) -> tuple[int, int, int, str]:
    return (
        0 if row.exhausted or row.no_eligible else 1,
        0 if row.unheld else 1,
        RISK_ORDER.get(row.risk, 9),
        (row.reported_at.isoformat() if row.reported_at else ""),
    )


# -- how each event changes the board --------------------------------------------------------
def _reported(board: Board, e: i.IncidentReportedV1) -> None:
    row = board._row(e.incident_id, e.school_id, e.reported_at)
    row.risk, row.categories = str(e.risk), tuple(str(c) for c in e.categories)
    row.reported_at, row.immediate_danger = e.reported_at, e.immediate_danger
    row.location = e.location


def _reclassified(board: Board, e: i.RiskReclassifiedV1 | i.RiskReclassifiedV2) -> None:
    board._row(e.incident_id, at=e.at).risk = str(e.risk)


def _linked(board: Board, e: i.ReportLinkedV1) -> None:
    board._row(e.incident_id, e.school_id, e.at).risk = str(e.risk)


def _finished(
    board: Board, e: i.IncidentCancelledV1 | i.IncidentCancelledV2 | i.IncidentClosedV1
) -> None:
    board.rows.pop(str(e.incident_id), None)
    board.finished.add(str(e.incident_id))


def _assigned(board: Board, e: d.ResponderAssignedV1) -> None:
    row = board._row(e.incident_id, e.school_id, e.assigned_at)
    row.responder_id, row.dispatch_id, row.dispatch_state = (
        e.responder_id,
        str(e.dispatch_id),
        "assigned",
    )
    row.ack_deadline, row.step, row.exhausted, row.no_eligible = (
        e.ack_deadline,
        e.step,
        False,
        False,
    )
    row.risk = str(e.risk)


def _escalated(board: Board, e: d.DispatchEscalatedV1) -> None:
    row = board._row(e.incident_id, at=e.at)
    row.escalations += 1
    row.step = e.step
    row.ack_deadline = None  # the page to the next person carries the new deadline
    if e.to_responder_id is None:  # the chain has nobody left
        row.exhausted = True
        row.responder_id, row.dispatch_id, row.dispatch_state = None, None, "new"
    else:
        row.responder_id, row.dispatch_state = e.to_responder_id, "assigned"
        row.dispatch_id = str(e.to_dispatch_id) if e.to_dispatch_id else None


def _paged(board: Board, e: d.ResponderPagedV1) -> None:
    row = board._row(e.incident_id, e.school_id)
    if e.kind != "stand_down" and row.dispatch_id == str(e.dispatch_id):
        row.ack_deadline = e.ack_deadline


def _acknowledged(board: Board, e: d.DispatchAcknowledgedV1) -> None:
    row = board._row(e.incident_id, at=e.at)
    row.responder_id, row.dispatch_id = e.responder_id, str(e.dispatch_id)
    row.dispatch_state, row.exhausted, row.no_eligible, row.ack_deadline = (
        "acknowledged",
        False,
        False,
        None,
    )


def _declined(board: Board, e: d.DispatchDeclinedV1 | d.DispatchDeclinedV2) -> None:
    row = board._row(e.incident_id, at=e.at)
    if row.dispatch_id == str(e.dispatch_id):
        row.dispatch_state = "declined"


def _status(board: Board, e: d.DispatchStatusChangedV1 | d.DispatchStatusChangedV2) -> None:
    row = board._row(e.incident_id, e.school_id, e.at)
    if row.dispatch_id in (None, str(e.dispatch_id)):
        row.dispatch_state, row.responder_id = e.status, e.responder_id


def _no_eligible(board: Board, e: d.NoResponderEligibleV1) -> None:
    board._row(e.incident_id, e.school_id, e.at).no_eligible = True


def _plan(board: Board, e: f.PlanOpenedV1) -> None:
    row = board._row(e.incident_id, e.school_id, e.opened_at)
    row.plan_id, row.owner_id = str(e.plan_id), e.owner_id


def _reassigned(board: Board, e: f.PlanReassignedV1) -> None:
    board._row(e.incident_id, at=e.at).owner_id = e.owner_id


def _notice(board: Board, e: f.FollowupNoticeV1) -> None:
    row = board._row(e.incident_id, e.school_id, e.at)
    if e.kind is f.NoticeKind.CHECKIN_OVERDUE:
        row.overdue_checkins.add(str(e.item_id))
    elif e.kind is f.NoticeKind.REFERRAL_STALLED:
        row.stalled_referrals.add(str(e.item_id))


def _checkin(board: Board, e: f.CheckinRecordedV1) -> None:
    row = board._row(e.incident_id, e.school_id, e.at)
    if e.state == f.CheckinState.OVERDUE:
        row.overdue_checkins.add(str(e.checkin_id))
    else:
        row.overdue_checkins.discard(str(e.checkin_id))


def _referral(board: Board, e: f.ReferralChangedV1) -> None:
    board._row(e.incident_id, e.school_id, e.at).stalled_referrals.discard(str(e.referral_id))


_HANDLERS: dict[type[Any], Any] = {
    i.IncidentReportedV1: _reported,
    i.RiskReclassifiedV1: _reclassified,
    i.RiskReclassifiedV2: _reclassified,
    i.ReportLinkedV1: _linked,
    i.IncidentCancelledV1: _finished,
    i.IncidentCancelledV2: _finished,
    i.IncidentClosedV1: _finished,
    d.ResponderAssignedV1: _assigned,
    d.DispatchEscalatedV1: _escalated,
    d.DispatchAcknowledgedV1: _acknowledged,
    d.DispatchDeclinedV1: _declined,
    d.DispatchDeclinedV2: _declined,
    d.DispatchStatusChangedV1: _status,
    d.DispatchStatusChangedV2: _status,
    d.NoResponderEligibleV1: _no_eligible,
    d.ResponderPagedV1: _paged,
    f.PlanOpenedV1: _plan,
    f.PlanReassignedV1: _reassigned,
    f.FollowupNoticeV1: _notice,
    f.CheckinRecordedV1: _checkin,
    f.ReferralChangedV1: _referral,
}
