"""Dispatch application on the in-memory store, with the clock driven by the test."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from events.dispatch import AddResponderV1
from events.intake import IncidentCancelledV1, IncidentReportedV1
from events.vocabulary import Category, ResponderRole, RiskLevel
from plumbing.domain import Conflict, rfc3339
from services.dispatch.application import DispatchApplication
from services.dispatch.domain.policy import Policy, SchoolHours
from services.dispatch.projections import DispatchTimers
from tests.support import NOW, TRACE, memory

pytestmark = pytest.mark.application

POLICY = Policy(
    ack_deadline_s={"imminent": 60, "high": 120, "moderate": 600, "low": 3600},
    repeat_limit=0,
)


def add(app: DispatchApplication, rid: str, role: ResponderRole, schools: list[str]) -> None:
    app.enroll_responders(
        [AddResponderV1(responder_id=rid, name=rid, role=role, schools=schools)], trace=TRACE
    )


@pytest.fixture
def dispatch() -> Iterator[DispatchApplication]:
    app = DispatchApplication(env=memory(), policy=POLICY)
    add(app, "co-a", ResponderRole.COUNSELOR, ["s0"])
    add(app, "co-b", ResponderRole.COUNSELOR, ["s0"])
    add(app, "sup-d", ResponderRole.SUPERVISOR, ["s0"])
    add(app, "dcl-e", ResponderRole.DISTRICT_CRISIS_LEAD, [])
    yield app
    app.close()


def report(
    app: DispatchApplication,
    *,
    school: str = "s0",
    risk: RiskLevel = RiskLevel.HIGH,
    at: datetime = NOW,
) -> UUID:
    event = IncidentReportedV1(
        incident_id=uuid4(),
        school_id=school,
        student_ref="stu-1",
        categories=[Category.ACUTE_DISTRESS],
        risk=risk,
        reported_at=at,
    )
    app.record(*app.on_intake_event(event, TRACE, at=at))
    return event.incident_id


def view(app: DispatchApplication, incident_id: UUID) -> dict[str, Any]:
    return app.response_view(incident_id)


def tick(app: DispatchApplication, now: datetime) -> int:
    """What the ticker does: fire every due timer once."""
    app.timers.catch_up()
    return sum(app.fire(key, due, now) for key, due in app.timers.due(now))


def current(app: DispatchApplication, incident_id: UUID) -> dict[str, Any]:
    row: dict[str, Any] = view(app, incident_id)["current"]
    return row


def test_a_reported_incident_is_assigned_and_load_spreads_assignments(
    dispatch: DispatchApplication,
) -> None:
    first, second = report(dispatch), report(dispatch)

    assert current(dispatch, first)["responder_id"] == "co-a"
    assert current(dispatch, second)["responder_id"] == "co-b"
    assert current(dispatch, first)["ack_deadline"] == rfc3339(NOW + timedelta(seconds=120))


def test_silence_walks_the_chain_to_the_top_then_stops(dispatch: DispatchApplication) -> None:
    incident = report(dispatch)
    deadline = timedelta(seconds=120)

    fired = [tick(dispatch, NOW + deadline * n + timedelta(seconds=1)) for n in (1, 2, 3, 4, 5)]

    steps = [(e["reason"], e["step"], e["to"]) for e in view(dispatch, incident)["escalations"]]
    assert steps == [
        ("ack_timeout", "next_responder", "co-b"),
        ("ack_timeout", "supervisor", "sup-d"),
        ("ack_timeout", "district_crisis_lead", "dcl-e"),
        ("ack_timeout", "exhausted", None),
    ]
    assert fired == [1, 1, 1, 1, 0]
    assert view(dispatch, incident)["phase"] == "exhausted"


def test_a_timer_that_came_due_while_down_fires_once_at_start(
    dispatch: DispatchApplication,
) -> None:
    incident = report(dispatch)
    dispatch.timers = DispatchTimers(dispatch)  # rebuilt from the store, as after a restart

    late = NOW + timedelta(hours=1)

    assert tick(dispatch, late) == 1
    assert tick(dispatch, late) == 0
    assert len(view(dispatch, incident)["escalations"]) == 1


def test_an_acknowledgement_makes_the_pending_deadline_stale(
    dispatch: DispatchApplication,
) -> None:
    incident = report(dispatch)
    dispatch_id = UUID(current(dispatch, incident)["dispatch_id"])

    dispatch.acknowledge(dispatch_id, "co-a", at=NOW + timedelta(seconds=30), trace=TRACE)

    assert tick(dispatch, NOW + timedelta(seconds=121)) == 0
    assert view(dispatch, incident)["escalations"] == []
    assert current(dispatch, incident)["state"] == "acknowledged"


def test_acknowledged_but_never_with_the_student_re_escalates(
    dispatch: DispatchApplication,
) -> None:
    incident = report(dispatch)
    dispatch_id = UUID(current(dispatch, incident)["dispatch_id"])
    dispatch.acknowledge(dispatch_id, "co-a", at=NOW, trace=TRACE)
    dispatch.report_status(
        dispatch_id, "co-a", "en_route", handed_off_to="", note="", at=NOW, trace=TRACE
    )

    assert tick(dispatch, NOW + timedelta(seconds=601)) == 1

    [step] = view(dispatch, incident)["escalations"]
    assert (step["reason"], step["to"]) == ("not_with_student", "co-b")


def test_with_the_student_in_time_nothing_re_escalates(dispatch: DispatchApplication) -> None:
    incident = report(dispatch)
    dispatch_id = UUID(current(dispatch, incident)["dispatch_id"])
    dispatch.acknowledge(dispatch_id, "co-a", at=NOW, trace=TRACE)

    dispatch.report_status(
        dispatch_id,
        "co-a",
        "with_student",
        handed_off_to="",
        note="",
        at=NOW + timedelta(seconds=300),
        trace=TRACE,
    )

    assert tick(dispatch, NOW + timedelta(hours=3)) == 0


def test_a_decline_moves_the_dispatch_on_at_once(dispatch: DispatchApplication) -> None:
    incident = report(dispatch)
    first = UUID(current(dispatch, incident)["dispatch_id"])

    dispatch.decline(first, "co-a", "already with another student", at=NOW, trace=TRACE)

    assert current(dispatch, incident)["responder_id"] == "co-b"
    assert view(dispatch, incident)["escalations"][0]["reason"] == "declined"
    assert [d["state"] for d in view(dispatch, incident)["dispatches"]] == ["declined", "assigned"]


def test_with_nobody_eligible_the_supervisor_on_call_is_paged_straight_away(
    dispatch: DispatchApplication,
) -> None:
    add(dispatch, "sup-z", ResponderRole.SUPERVISOR, ["s9"])

    incident = report(dispatch, school="s9")

    [step] = view(dispatch, incident)["escalations"]
    assert (step["reason"], step["step"], step["to"]) == (
        "no_eligible_responder",
        "supervisor",
        "sup-z",
    )
    assert step["skipped"] == ["next_responder"]


def test_a_late_acknowledgement_from_the_first_responder_wins_and_stands_the_next_down(
    dispatch: DispatchApplication,
) -> None:
    incident = report(dispatch)
    first = UUID(current(dispatch, incident)["dispatch_id"])
    tick(dispatch, NOW + timedelta(seconds=121))

    dispatch.acknowledge(first, "co-a", at=NOW + timedelta(seconds=130), trace=TRACE)

    states = {d["responder_id"]: d["state"] for d in view(dispatch, incident)["dispatches"]}
    assert states == {"co-a": "acknowledged", "co-b": "stood_down"}
    second = UUID(view(dispatch, incident)["dispatches"][1]["dispatch_id"])
    with pytest.raises(Conflict, match="already acknowledged by co-a"):
        dispatch.acknowledge(second, "co-b", at=NOW + timedelta(seconds=131), trace=TRACE)


def test_a_cancelled_incident_stands_down_and_never_escalates(
    dispatch: DispatchApplication,
) -> None:
    incident = report(dispatch)

    cancel = IncidentCancelledV1(incident_id=incident, reason="false alarm", by="staff-1", at=NOW)
    dispatch.record(*dispatch.on_intake_event(cancel, TRACE, at=NOW))

    assert tick(dispatch, NOW + timedelta(hours=2)) == 0
    assert view(dispatch, incident)["phase"] == "cancelled"
    assert current(dispatch, incident)["state"] == "cancelled"


def test_low_risk_after_hours_is_held_until_school_opens_when_the_policy_says_so() -> None:
    policy = Policy(
        low_risk_after_hours="hold",
        school_hours=SchoolHours(timezone="UTC", start="07:30", end="16:30"),
    )
    app = DispatchApplication(env=memory(), policy=policy)
    add(app, "co-a", ResponderRole.COUNSELOR, ["s0"])
    friday_night = datetime.fromisoformat("2026-11-27T22:00:00+00:00")

    incident = report(app, risk=RiskLevel.LOW, at=friday_night)

    assert view(app, incident)["phase"] == "held"
    assert view(app, incident)["held_until"] == "2026-11-30T07:30:00Z"
    assert tick(app, datetime.fromisoformat("2026-11-30T07:30:01+00:00")) == 1
    assert current(app, incident)["responder_id"] == "co-a"
    app.close()


def test_a_policy_edit_does_not_change_a_running_escalation(
    dispatch: DispatchApplication,
) -> None:
    incident = report(dispatch)

    dispatch.escalation_policy = Policy(
        version="edited", ack_deadline_s={"imminent": 5, "high": 5, "moderate": 5, "low": 5}
    )

    assert tick(dispatch, NOW + timedelta(seconds=60)) == 0  # still the pinned 120 s
    assert view(dispatch, incident)["policy_version"] == POLICY.version
