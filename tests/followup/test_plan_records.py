"""Follow-up domain: safety plan revisions, guardian notification, re-entry, reassignment."""

from __future__ import annotations

import pytest

from plumbing.domain import Conflict, Invalid
from tests.followup.support import DAYS, HOURS, opened_plan
from tests.support import NOW, TRACE, then, types

pytestmark = pytest.mark.domain

PARTS = {
    "warning_signs": ["withdrawing from friends"],
    "coping_strategies": ["music", "walk the dog"],
    "distractions": ["youth group"],
    "help_contacts": ["older sister"],
    "professionals": ["school counselor", "988 Suicide & Crisis Lifeline"],
    "safe_environment": ["medications locked by guardian"],
}


def test_each_safety_plan_revision_is_an_event_with_its_number() -> None:
    plan = opened_plan()

    first = plan.revise_safety_plan(PARTS, based_on=0, at=NOW, trace=TRACE)
    second = plan.revise_safety_plan(
        {**PARTS, "distractions": ["art club"]}, based_on=1, at=NOW + DAYS, trace=TRACE
    )

    assert (first, second) == (1, 2)
    assert [e.revision for e in then(plan)] == [1, 2]
    assert plan.safety_plan["distractions"] == ["art club"]


def test_a_revision_based_on_an_outdated_one_is_refused() -> None:
    plan = opened_plan()
    plan.revise_safety_plan(PARTS, based_on=0, at=NOW, trace=TRACE)

    with pytest.raises(Conflict) as refused:
        plan.revise_safety_plan(PARTS, based_on=0, at=NOW, trace=TRACE)

    assert refused.value.field == "based_on"


def test_guardian_notified_records_who_whom_when_how() -> None:
    plan = opened_plan()

    plan.guardian_notified(
        notified_by="co-owner",
        guardian="mother",
        method="phone",
        at=NOW - HOURS,
        now=NOW,
        trace=TRACE,
    )

    (notified,) = then(plan)
    assert (notified.notified_by, notified.guardian, notified.method) == (
        "co-owner",
        "mother",
        "phone",
    )
    assert notified.at == NOW - HOURS


def test_not_notifying_a_guardian_is_an_explicit_event_with_its_justification() -> None:
    plan = opened_plan()

    plan.guardian_not_notified(
        reason="suspected_abuse_cps_contacted",
        justification="disclosure of abuse at home",
        agency_contacted="CPS",
        at=NOW,
        now=NOW,
        trace=TRACE,
    )

    assert types(then(plan)) == ["FollowupPlan.GuardianNotNotified"]


def test_suspected_abuse_must_name_the_agency_contacted_instead() -> None:
    with pytest.raises(Invalid) as refused:
        opened_plan().guardian_not_notified(
            reason="suspected_abuse_cps_contacted",
            justification="x",
            agency_contacted="",
            at=NOW,
            now=NOW,
            trace=TRACE,
        )

    assert refused.value.field == "agency_contacted"


def test_a_notification_in_the_future_is_refused() -> None:
    with pytest.raises(Invalid) as refused:
        opened_plan().guardian_notified(
            notified_by="a", guardian="b", method="phone", at=NOW + HOURS, now=NOW, trace=TRACE
        )

    assert refused.value.field == "at"


def test_reentry_meeting_accommodations_and_first_checkin_are_each_an_event() -> None:
    plan = opened_plan("low")

    plan.record_reentry_meeting(
        reason="hospitalization",
        meeting_at=NOW,
        participants=["guardian", "counselor", "nurse"],
        at=NOW,
        trace=TRACE,
    )
    plan.record_accommodations(["reduced workload for two weeks"], at=NOW, trace=TRACE)
    checkin = plan.schedule_reentry_checkin(
        due_at=NOW + DAYS, mode="in_person", at=NOW, trace=TRACE
    )

    assert types(then(plan)) == [
        "FollowupPlan.ReentryMeetingRecorded",
        "FollowupPlan.AccommodationsRecorded",
        "FollowupPlan.CheckinScheduled",
    ]
    assert plan.checkins[checkin].slot == "reentry"


def test_accommodations_need_the_reentry_meeting_first() -> None:
    with pytest.raises(Conflict) as refused:
        opened_plan().record_accommodations(["x"], at=NOW, trace=TRACE)

    assert refused.value.field == "reentry"


def test_a_plan_can_be_reassigned_but_not_to_its_owner() -> None:
    plan = opened_plan()

    plan.reassign("co-other", reason="caseload", at=NOW, trace=TRACE)

    assert plan.owner_id == "co-other"
    with pytest.raises(Conflict):
        plan.reassign("co-other", reason="again", at=NOW, trace=TRACE)
