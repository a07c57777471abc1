"""Dispatch's decision steps, as the application takes them, on the pure domain model.

These follow ``DispatchApplication._open_response``, ``_start_paging``,
``_pick``, ``_next``, ``decline`` and ``fire`` step for step.  They differ in
one way only: the roster and the loads are arguments instead of the
application's read models, so a replay can hand in the roster as it was known
at each decision and the loads of the replayed district.  Like the live
board, the loads are those before the decision being taken (a decline does
not lower the decliner's load for the choice it causes).

Why a copy and not a call: the application reads its board and records to its
store; a what-if must do neither.  The fidelity tests replay a month recorded
through the real application and fail the moment the two drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any
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


@dataclass(frozen=True)
class PinnedOnce(Policy):
    """The what-if policy, snapshotted once: a replay pins the same policy thousands of times."""

    def snapshot(self) -> dict[str, Any]:
        cached: dict[str, Any] | None = self.__dict__.get("_snapshot")
        if cached is None:
            cached = super().snapshot()
            object.__setattr__(self, "_snapshot", cached)
        return cached


def pinned_once(policy: Policy) -> PinnedOnce:
    return PinnedOnce(**{f.name: getattr(policy, f.name) for f in fields(Policy)})


def open_response(
    opened: Any,
    policy: Policy,
    *,
    at: datetime,
    responders: Responders,
    loads: Loads,
    trace: Trace,
) -> IncidentResponse:
    """A report reaches dispatch: pin the policy, then hold it or start paging."""
    response = IncidentResponse.open(
        incident_id=opened.incident_id,
        school_id=opened.school_id,
        student_ref=opened.student_ref,
        risk=opened.risk,
        categories=list(opened.categories),
        language=opened.language,
        immediate_danger=opened.immediate_danger,
        reported_at=opened.reported_at,
        policy=policy,
        trace=trace,
    )
    hold_until = None if opened.immediate_danger else policy.hold_until(opened.risk, at)
    if hold_until is not None:
        response.hold(hold_until, at=at, trace=trace)
    else:
        start_paging(response, at=at, responders=responders, loads=loads, trace=trace)
    return response


def start_paging(
    response: IncidentResponse,
    *,
    at: datetime,
    responders: Responders,
    loads: Loads,
    trace: Trace,
) -> None:
    choose = pick(response, at, responders, loads)
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


def pick(response: IncidentResponse, at: datetime, responders: Responders, loads: Loads) -> Pick:
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
    responders: Responders,
    loads: Loads,
    trace: Trace,
) -> None:
    policy = response.policy
    step, skipped = next_step(
        policy.chain, response.position, policy.repeat_limit, pick(response, at, responders, loads)
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
    responders: Responders,
    loads: Loads,
    trace: Trace,
) -> None:
    """A decline moves the chain on at once (raises ``Conflict`` when it no longer can)."""
    response.decline(dispatch_id, responder_id, reason, at=at, trace=trace)
    escalate_next(
        response,
        reason="declined",
        from_dispatch=dispatch_id,
        at=at,
        responders=responders,
        loads=loads,
        trace=trace,
    )


def fire(
    response: IncidentResponse,
    dispatch_id: UUID | None,
    kind: str,
    due: datetime,
    *,
    now: datetime,
    responders: Responders,
    loads: Loads,
    trace: Trace,
) -> bool:
    """A deadline came due: act if it still stands; False when it was stale."""
    if kind == "hold":
        if response.phase != "held" or response.held_until != due:
            return False
        start_paging(response, at=now, responders=responders, loads=loads, trace=trace)
        return True
    assert dispatch_id is not None
    if response.pending_deadline(dispatch_id, kind) != due:
        return False
    escalate_next(
        response,
        reason="ack_timeout" if kind == "ack" else "not_with_student",
        from_dispatch=dispatch_id,
        at=now,
        responders=responders,
        loads=loads,
        trace=trace,
    )
    return True
