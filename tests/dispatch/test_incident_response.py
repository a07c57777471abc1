"""Dispatch domain: the response to one incident (given events, when a command, then events)."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

import pytest

from plumbing.domain import Conflict, Invalid
from services.dispatch.domain.assignment import Candidate, Decision
from services.dispatch.domain.escalation import Position, Step
from services.dispatch.domain.policy import Policy
from services.dispatch.domain.response import IncidentResponse
from tests.support import NOW, TRACE, then, types

pytestmark = pytest.mark.domain

POLICY = Policy(
    ack_deadline_s={"imminent": 60, "high": 120, "moderate": 600, "low": 3600},
    on_scene_deadline_s={"imminent": 300, "high": 300, "moderate": 0, "low": 0},
)
LATER = NOW + timedelta(minutes=3)


def chose(responder: str) -> Decision:
    return Decision(responder, (Candidate(responder, 0),), "least_loaded_eligible", "only one")


def opened(risk: str = "high", policy: Policy = POLICY) -> IncidentResponse:
    response = IncidentResponse.open(
        incident_id=uuid4(),
        school_id="s0",
        student_ref="stu-1",
        risk=risk,
        categories=["self_harm"],
        language="",
        immediate_danger=False,
        reported_at=NOW,
        policy=policy,
        trace=TRACE,
    )
    then(response)
    return response


def assigned(responder: str = "co-a", risk: str = "high") -> tuple[IncidentResponse, UUID]:
    response = opened(risk)
    response.assign(chose(responder), at=NOW, trace=TRACE)
    then(response)
    return response, response.order[-1]


def escalate_to(
    response: IncidentResponse,
    responder: str,
    *,
    reason: str = "ack_timeout",
    name: str = "next_responder",
) -> UUID:
    previous = response.order[-1] if response.order else None
    step = Step(Position(0, 0), name, chose(responder))
    response.escalate(
        step, reason=reason, from_dispatch=previous, skipped=(), at=LATER, trace=TRACE
    )
    then(response)
    return response.order[-1]


# -- assignment and deadlines ------------------------------------------------------------------


def test_assigning_pages_the_responder_with_the_risk_deadline_from_the_pinned_policy() -> None:
    response = opened("high")

    response.assign(chose("co-a"), at=NOW, trace=TRACE)

    assigned_event, paged = then(response)
    assert types([assigned_event, paged]) == [
        "IncidentResponse.ResponderAssigned",
        "IncidentResponse.ResponderPaged",
    ]
    assert assigned_event.ack_deadline == NOW + timedelta(seconds=120)
    assert assigned_event.candidates == [
        {"responder_id": "co-a", "load": 0, "language_match": False}
    ]
    assert paged.kind == "page"


def test_the_policy_in_force_is_pinned_when_the_response_starts() -> None:
    response = opened("high")
    edited = Policy(version="edited", ack_deadline_s={**POLICY.ack_deadline_s, "high": 5})

    assert response.policy.version == POLICY.version
    assert response.policy.ack_deadline_s["high"] == 120
    assert edited.ack_deadline_s["high"] == 5  # a later edit elsewhere changes nothing here


def test_the_ack_deadline_is_pending_until_acknowledged() -> None:
    response, dispatch = assigned()

    assert response.pending_deadline(dispatch, "ack") == NOW + timedelta(seconds=120)
    response.acknowledge(dispatch, "co-a", at=NOW, trace=TRACE)
    assert response.pending_deadline(dispatch, "ack") is None


# -- acknowledgement ---------------------------------------------------------------------------


def test_an_acknowledgement_stops_every_pending_step_and_starts_the_on_scene_clock() -> None:
    response, first = assigned()
    second = escalate_to(response, "co-b")

    response.acknowledge(first, "co-a", at=LATER, trace=TRACE)  # a late ack still counts

    ack, stand_down = then(response)
    assert ack.stood_down == [second]
    assert ack.on_scene_deadline == LATER + timedelta(seconds=300)
    assert (stand_down.kind, stand_down.responder_id) == ("stand_down", "co-b")
    assert response.pending_deadline(second, "ack") is None
    assert response.dispatches[second].state == "stood_down"


def test_a_second_responder_acknowledging_gets_a_conflict_naming_the_winner() -> None:
    response, first = assigned()
    second = escalate_to(response, "co-b")
    response.acknowledge(second, "co-b", at=LATER, trace=TRACE)

    with pytest.raises(Conflict, match="already acknowledged by co-b"):
        response.acknowledge(first, "co-a", at=LATER, trace=TRACE)


def test_acknowledging_twice_by_the_same_responder_changes_nothing() -> None:
    response, dispatch = assigned()
    response.acknowledge(dispatch, "co-a", at=NOW, trace=TRACE)
    then(response)

    assert response.acknowledge(dispatch, "co-a", at=LATER, trace=TRACE) is False
    assert then(response) == []


def test_only_the_paged_responder_can_acknowledge_a_dispatch() -> None:
    response, dispatch = assigned("co-a")

    with pytest.raises(Conflict) as refused:
        response.acknowledge(dispatch, "co-b", at=NOW, trace=TRACE)

    assert refused.value.field == "as"


def test_a_declined_dispatch_cannot_be_acknowledged() -> None:
    response, dispatch = assigned()
    response.decline(dispatch, "co-a", "in a session with another student", at=NOW, trace=TRACE)

    with pytest.raises(Conflict, match="moved on"):
        response.acknowledge(dispatch, "co-a", at=NOW, trace=TRACE)


# -- decline and escalation --------------------------------------------------------------------


def test_a_decline_is_recorded_with_its_reason_and_excludes_the_responder() -> None:
    response, dispatch = assigned()

    response.decline(dispatch, "co-a", "off site today", at=NOW, trace=TRACE)

    [declined] = then(response)
    assert declined.reason == "off site today"
    assert response.declined == {"co-a"}
    assert response.dispatches[dispatch].state == "declined"


def test_escalating_marks_the_timed_out_dispatch_and_pages_the_next_step() -> None:
    response, first = assigned()

    second = escalate_to(response, "sup-d", name="supervisor")

    assert response.dispatches[first].state == "escalated"
    assert response.dispatches[second].responder_id == "sup-d"
    assert response.escalations[-1]["reason"] == "ack_timeout"
    assert response.escalations[-1]["to"] == "sup-d"
    assert response.pending_deadline(first, "ack") is None


def test_an_exhausted_chain_is_recorded_and_nothing_more_is_pending() -> None:
    response, first = assigned()

    response.escalate(
        None,
        reason="ack_timeout",
        from_dispatch=first,
        skipped=("supervisor",),
        at=LATER,
        trace=TRACE,
    )

    [exhausted] = then(response)
    assert exhausted.step == "exhausted"
    assert response.phase == "exhausted"
    assert response.pending_deadline(first, "ack") is None


# -- field statuses ----------------------------------------------------------------------------


def test_field_statuses_move_forward_only_and_with_student_stops_the_on_scene_clock() -> None:
    response, dispatch = assigned()
    response.acknowledge(dispatch, "co-a", at=NOW, trace=TRACE)
    response.report_status(
        dispatch, "co-a", "en_route", handed_off_to="", note="", at=NOW, trace=TRACE
    )
    assert response.pending_deadline(dispatch, "on_scene") is not None

    response.report_status(
        dispatch, "co-a", "with_student", handed_off_to="", note="", at=NOW, trace=TRACE
    )

    assert response.pending_deadline(dispatch, "on_scene") is None
    with pytest.raises(Conflict):
        response.report_status(
            dispatch, "co-a", "en_route", handed_off_to="", note="", at=NOW, trace=TRACE
        )


def test_a_hand_off_needs_to_whom() -> None:
    response, dispatch = assigned()
    response.acknowledge(dispatch, "co-a", at=NOW, trace=TRACE)

    with pytest.raises(Invalid) as refused:
        response.report_status(
            dispatch, "co-a", "handed_off", handed_off_to=" ", note="", at=NOW, trace=TRACE
        )

    assert refused.value.field == "to"


def test_statuses_need_an_acknowledgement_first() -> None:
    response, dispatch = assigned()

    with pytest.raises(Conflict):
        response.report_status(
            dispatch, "co-a", "en_route", handed_off_to="", note="", at=NOW, trace=TRACE
        )


def test_not_with_the_student_by_the_on_scene_deadline_moves_the_chain_on() -> None:
    response, first = assigned()
    response.acknowledge(first, "co-a", at=NOW, trace=TRACE)
    then(response)

    second = escalate_to(response, "sup-d", reason="not_with_student", name="supervisor")

    assert response.dispatches[first].state == "escalated"
    assert response.acknowledged is None
    assert response.pending_deadline(second, "ack") is not None


# -- from intake -------------------------------------------------------------------------------


def test_cancelling_stands_every_open_dispatch_down_and_refuses_later_commands() -> None:
    response, dispatch = assigned()

    response.cancel("false alarm", at=LATER, trace=TRACE)

    cancelled, stand_down = then(response)
    assert cancelled.stood_down == [dispatch]
    assert stand_down.kind == "stand_down"
    assert response.pending_deadline(dispatch, "ack") is None
    with pytest.raises(Conflict):
        response.acknowledge(dispatch, "co-a", at=LATER, trace=TRACE)


def test_a_low_risk_report_after_hours_can_be_held_until_school_opens() -> None:
    response = opened("low")

    response.hold(NOW + timedelta(hours=12), at=NOW, trace=TRACE)

    [held] = then(response)
    assert held.until == NOW + timedelta(hours=12)
    assert response.phase == "held"
