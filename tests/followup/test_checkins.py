"""Follow-up domain: a plan's check-ins, from the pinned protocol to completed or missed."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from plumbing.domain import Conflict, Invalid, NotFound
from services.followup.domain.ids import plan_id_for
from services.followup.domain.protocol import (
    DEFAULT_PROTOCOL,
    CheckinStep,
    ProtocolBook,
)
from tests.followup.support import DAYS, HOURS, checkin_ids, opened_plan
from tests.support import NOW, TRACE, then, types

pytestmark = pytest.mark.domain


# -- opening ------------------------------------------------------------------------------------
def test_a_high_risk_plan_schedules_four_checkins_at_the_protocol_offsets() -> None:
    plan = opened_plan("high")

    due = [c.due_at - NOW for c in plan.checkins.values()]

    assert due == [1 * DAYS, 3 * DAYS, 7 * DAYS, 30 * DAYS]
    assert [c.slot for c in plan.checkins.values()] == ["24h", "72h", "7d", "30d"]
    assert all(c.state == "scheduled" for c in plan.checkins.values())


@pytest.mark.parametrize(("risk", "count"), [("imminent", 4), ("moderate", 2), ("low", 1)])
def test_fewer_checkins_for_lower_risk(risk: str, count: int) -> None:
    assert len(opened_plan(risk).checkins) == count


def test_one_plan_per_incident_has_a_deterministic_id() -> None:
    plan = opened_plan()

    assert plan.id == plan_id_for(plan.incident_id)


def test_the_protocol_version_in_force_is_pinned_when_the_plan_opens() -> None:
    book = ProtocolBook.open(TRACE)
    before = opened_plan("high", protocol=book.current())

    quick = (CheckinStep("1d", 86_400),)
    book.publish(
        {"low": quick, "moderate": quick, "high": quick, "imminent": quick},
        grace_s=3600,
        referral_stall_s=86_400,
        trace=TRACE,
    )
    after = opened_plan("high", protocol=book.current())

    assert before.protocol.version == 1
    assert len(before.checkins) == 4  # unchanged by the later edit
    assert after.protocol.version == 2
    assert len(after.checkins) == 1


def test_a_protocol_without_steps_for_a_risk_level_is_refused() -> None:
    book = ProtocolBook.open(TRACE)
    step = (CheckinStep("1d", 86_400),)

    with pytest.raises(Invalid) as refused:
        book.publish(
            {"low": step, "moderate": step, "high": step},
            grace_s=0,
            referral_stall_s=1,
            trace=TRACE,
        )

    assert refused.value.field == "imminent"


# -- coming due and overdue (the clock is injected) ---------------------------------------------
def test_a_checkin_comes_due_at_its_time_and_the_owner_is_notified() -> None:
    plan = opened_plan()
    first = checkin_ids(plan)[0]
    due_at = plan.checkins[first].due_at

    early = plan.mark_due(first, due_at=due_at, now=due_at - timedelta(seconds=1), trace=TRACE)
    on_time = plan.mark_due(first, due_at=due_at, now=due_at, trace=TRACE)

    assert (early, on_time) == (False, True)
    (came_due,) = then(plan)
    assert came_due.notified == "co-owner"
    assert plan.checkins[first].state == "due"


def test_overdue_after_the_grace_notifies_the_supervisor_exactly_once() -> None:
    plan = opened_plan()
    first = checkin_ids(plan)[0]
    overdue_at = plan.checkins[first].overdue_at
    assert overdue_at - plan.checkins[first].due_at == 12 * HOURS

    fired = [
        plan.mark_overdue(
            first,
            overdue_at=overdue_at,
            now=overdue_at + n * HOURS,
            supervisor="sup-1",
            trace=TRACE,
        )
        for n in range(3)
    ]

    assert fired == [True, False, False]
    assert types(then(plan)) == ["FollowupPlan.CheckinCameDue", "FollowupPlan.CheckinBecameOverdue"]
    assert plan.checkins[first].state == "overdue"


def test_a_completed_checkin_never_becomes_overdue() -> None:
    plan = opened_plan()
    first = checkin_ids(plan)[0]
    checkin = plan.checkins[first]
    plan.complete_checkin(
        first,
        outcome="stable",
        note="",
        mode=None,
        risk=None,
        categories=[],
        at=checkin.due_at,
        trace=TRACE,
    )
    plan.collect_events()

    assert not plan.mark_overdue(
        first,
        overdue_at=checkin.overdue_at,
        now=checkin.overdue_at,
        supervisor="sup-1",
        trace=TRACE,
    )
    assert then(plan) == []


# -- completing, missing, rescheduling ---------------------------------------------------------
def test_completing_a_checkin_twice_is_refused_naming_the_state() -> None:
    plan = opened_plan()
    first = checkin_ids(plan)[0]
    plan.complete_checkin(
        first,
        outcome="stable",
        note="talked",
        mode="phone",
        risk=None,
        categories=[],
        at=NOW + DAYS,
        trace=TRACE,
    )

    with pytest.raises(Conflict) as refused:
        plan.complete_checkin(
            first,
            outcome="stable",
            note="",
            mode=None,
            risk=None,
            categories=[],
            at=NOW + DAYS,
            trace=TRACE,
        )

    assert "already completed" in refused.value.message
    assert refused.value.field == "checkin_id"


def test_an_unknown_checkin_is_not_found() -> None:
    with pytest.raises(NotFound) as refused:
        opened_plan().no_show(uuid4(), reason="", at=NOW, trace=TRACE)

    assert refused.value.field == "checkin_id"


def test_a_no_show_settles_the_checkin_and_it_can_then_be_rescheduled() -> None:
    plan = opened_plan()
    first = checkin_ids(plan)[0]
    plan.no_show(first, reason="absent", at=NOW + DAYS, trace=TRACE)

    replacement = plan.reschedule(
        first,
        to=NOW + 2 * DAYS,
        reason="student was absent",
        mode="phone",
        at=NOW + DAYS,
        trace=TRACE,
    )

    assert plan.checkins[first].state == "rescheduled"
    assert plan.checkins[replacement].slot == "24h"
    assert plan.checkins[replacement].replaces == first
    assert plan.checkins[replacement].due_at == NOW + 2 * DAYS
    assert plan.checkins[replacement].mode == "phone"
    with pytest.raises(Conflict):
        plan.no_show(first, reason="", at=NOW + DAYS, trace=TRACE)


def test_rescheduling_into_the_past_is_refused() -> None:
    plan = opened_plan()

    with pytest.raises(Invalid) as refused:
        plan.reschedule(checkin_ids(plan)[0], to=NOW, reason="x", mode=None, at=NOW, trace=TRACE)

    assert refused.value.field == "to"


def test_a_completed_checkin_cannot_be_rescheduled() -> None:
    plan = opened_plan()
    first = checkin_ids(plan)[0]
    plan.complete_checkin(
        first,
        outcome="improving",
        note="",
        mode=None,
        risk=None,
        categories=[],
        at=NOW,
        trace=TRACE,
    )

    with pytest.raises(Conflict):
        plan.reschedule(first, to=NOW + DAYS, reason="x", mode=None, at=NOW, trace=TRACE)


# -- renewed risk ---------------------------------------------------------------------------------
def test_renewed_risk_is_recorded_first_then_reported_once() -> None:
    plan = opened_plan()
    first = checkin_ids(plan)[0]

    plan.complete_checkin(
        first,
        outcome="renewed_risk",
        note="",
        mode=None,
        risk="high",
        categories=["suicidal_ideation"],
        at=NOW,
        trace=TRACE,
    )

    assert types(then(plan)) == ["FollowupPlan.CheckinCompleted", "FollowupPlan.RenewedRiskFound"]
    assert first in plan.pending_reports
    new_incident = plan_id_for(first)
    assert plan.renewed_risk_reported(
        first, incident_id=new_incident, linked=False, at=NOW, trace=TRACE
    )
    assert not plan.renewed_risk_reported(
        first, incident_id=new_incident, linked=False, at=NOW, trace=TRACE
    )
    assert plan.pending_reports == {}


@pytest.mark.parametrize(
    ("risk", "categories", "field"), [(None, ["self_harm"], "risk"), ("high", [], "categories")]
)
def test_a_renewed_risk_outcome_needs_risk_and_categories(
    risk: str | None, categories: list[str], field: str
) -> None:
    plan = opened_plan()

    with pytest.raises(Invalid) as refused:
        plan.complete_checkin(
            checkin_ids(plan)[0],
            outcome="renewed_risk",
            note="",
            mode=None,
            risk=risk,
            categories=categories,
            at=NOW,
            trace=TRACE,
        )

    assert refused.value.field == field


def test_the_default_protocol_is_version_one_with_the_documented_offsets() -> None:
    offsets = [s.offset_s // 3600 for s in DEFAULT_PROTOCOL.steps_for("high")]

    assert offsets == [24, 72, 7 * 24, 30 * 24]
    assert DEFAULT_PROTOCOL.referral_stall_s == 7 * 86_400
