"""Dispatch's decision steps on the pure domain model: open, page, escalate, decline, fire.

Why here and not in the application: two callers take exactly these steps.
``DispatchApplication`` takes them with its read models (the board's roster
and loads, plus what the current batch decided so far), and a what-if replay
(``services.dispatch.whatif``) takes them with the roster as it was known at
each decision and the loads of the replayed district.  One copy means a
what-if can never drift from what dispatch does; the fidelity tests replay a
month recorded through the real application to prove it.

Who is on the roster and how loaded each responder is come from a
:class:`Staff`, asked only when a choice is made: a held report reads neither.
Loads are those before the decision being taken (a decline does not lower the
decliner's load for the choice it causes), as on the live board.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from plumbing.domain import Trace
from services.dispatch.domain.assignment import (
    Decision,
    Need,
    choose_on_call,
    choose_responder,
)
from services.dispatch.domain.escalation import Pick, Position, next_step
from services.dispatch.domain.policy import Policy
from services.dispatch.domain.response import IncidentResponse
from services.dispatch.domain.roster import Responder

Responders = Sequence[Responder]
Loads = Mapping[str, int]


class Staff(Protocol):
    """The roster and the open dispatches per responder, at the moment of a choice."""

    def responders(self) -> Responders: ...

    def loads(self) -> Loads: ...


@dataclass(frozen=True)
class Known:
    """A :class:`Staff` already at hand (a replay's roster and loads, a test's)."""

    on_roster: Responders
    open_dispatches: Loads

    def responders(self) -> Responders:
        return self.on_roster

    def loads(self) -> Loads:
        return self.open_dispatches


def open_response(
    opened: Any, policy: Policy, *, at: datetime, staff: Staff, trace: Trace
) -> IncidentResponse:
    """A report reaches dispatch: pin the policy, then hold it or start paging.

    ``opened`` is intake's report (``IncidentReportedV1``) or a replay's record of it:
    anything with the report's facts as attributes."""
    risk = str(opened.risk)
    response = IncidentResponse.open(
        incident_id=opened.incident_id,
        school_id=opened.school_id,
        student_ref=opened.student_ref,
        risk=risk,
        categories=[str(c) for c in opened.categories],
        language=opened.language,
        immediate_danger=opened.immediate_danger,
        reported_at=opened.reported_at,
        policy=policy,
        trace=trace,
    )
    hold_until = None if opened.immediate_danger else policy.hold_until(risk, at)
    if hold_until is not None:
        response.hold(hold_until, at=at, trace=trace)
    else:
        start_paging(response, at=at, staff=staff, trace=trace)
    return response


def start_paging(response: IncidentResponse, *, at: datetime, staff: Staff, trace: Trace) -> None:
    """Page the best eligible responder, or walk the chain when nobody is eligible."""
    choose = pick(response, at, staff)
    decision = choose("initial")
    if decision.chosen is not None:
        response.assign(decision, at=at, trace=trace)
        return
    policy = response.policy
    step, skipped = next_step(policy.chain, Position(), policy.repeat_limit, choose)
    response.escalate(
        step,
        reason="no_eligible_responder",
        from_dispatch=None,
        skipped=skipped,
        at=at,
        trace=trace,
    )


def pick(response: IncidentResponse, at: datetime, staff: Staff) -> Pick:
    """Who each chain step would page now (the roster and loads are read once, here)."""
    responders, loads = staff.responders(), staff.loads()
    policy = response.policy
    need = Need(
        response.school_id,
        frozenset(policy.skills_needed(response.categories, response.risk)),
        response.language,
    )

    def choose(step: str) -> Decision:
        if step in ("initial", "next_responder"):
            exclude = set() if step == "initial" else response.asked | response.declined
            return choose_responder(responders, need, at=at, loads=loads, exclude=exclude)
        available = [r for r in responders if r.responder_id not in response.declined]
        school = response.school_id if step == "supervisor" else None
        return choose_on_call(available, step, school_id=school, at=at, loads=loads)

    return choose


def escalate_next(
    response: IncidentResponse,
    *,
    reason: str,
    from_dispatch: UUID,
    at: datetime,
    staff: Staff,
    trace: Trace,
) -> None:
    """Move the chain on from ``from_dispatch`` (its reason: declined, ack_timeout...)."""
    policy = response.policy
    step, skipped = next_step(
        policy.chain, response.position, policy.repeat_limit, pick(response, at, staff)
    )
    response.escalate(
        step, reason=reason, from_dispatch=from_dispatch, skipped=skipped, at=at, trace=trace
    )


def decline(
    response: IncidentResponse,
    dispatch_id: UUID,
    responder_id: str,
    reason: str,
    *,
    at: datetime,
    staff: Staff,
    trace: Trace,
) -> None:
    """A decline moves the chain on at once (raises ``Conflict`` when it no longer can)."""
    response.decline(dispatch_id, responder_id, reason, at=at, trace=trace)
    escalate_next(
        response, reason="declined", from_dispatch=dispatch_id, at=at, staff=staff, trace=trace
    )


def fire(
    response: IncidentResponse,
    dispatch_id: UUID | None,
    kind: str,
    due: datetime,
    *,
    now: datetime,
    staff: Staff,
    trace: Trace,
) -> bool:
    """A deadline came due: act if it still stands; False when it was stale."""
    if kind == "hold":
        if response.phase != "held" or response.held_until != due:
            return False
        start_paging(response, at=now, staff=staff, trace=trace)
        return True
    assert dispatch_id is not None
    if response.pending_deadline(dispatch_id, kind) != due:
        return False
    escalate_next(
        response,
        reason="ack_timeout" if kind == "ack" else "not_with_student",
        from_dispatch=dispatch_id,
        at=now,
        staff=staff,
        trace=trace,
    )
    return True
