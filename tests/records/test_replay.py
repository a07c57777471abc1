"""Replay specifications: the incident's state as known at, and as true at, any instant.

Given a timeline of entries (pure data), when folded up to an instant or a
position, then the state is exactly what the record said then, or what is now
known to have been true then.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from plumbing.domain import rfc3339
from services.records.domain import replay
from services.records.domain.entries import ACCESS, Entry, ordered, with_actors

pytestmark = pytest.mark.domain

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def entry(
    n: int,
    kind: str,
    minute: float,
    *,
    effective: float | None = None,
    recorded: float | None = None,
    causation: str = "",
    actor: str = "",
    **data: Any,
) -> Entry:
    return Entry(
        event_id=f"svc/{n}",
        type=kind,
        summary=kind,
        service="intake",
        at=at(minute),
        effective_at=at(minute if effective is None else effective),
        recorded_at=at(minute if recorded is None else recorded),
        actor=actor,
        causation_id=causation,
        data=data,
    )


STORY = [
    entry(
        1,
        "incident_reported",
        0,
        school_id="s0",
        student_ref="stu-1",
        risk="moderate",
        categories=["acute_distress"],
        location="gym",
    ),
    entry(2, "responder_assigned", 0.1, dispatch_id="d1", responder_id="r-a"),
    entry(3, "dispatch_acknowledged", 2, responder_id="r-a"),
    entry(4, "dispatch_status_changed", 5, status="with_student", responder_id="r-a"),
    entry(5, "risk_reclassified", 6, risk="high", by="r-a"),
    # At 30 minutes somebody corrects the location, effective from the report.
    entry(6, "incident_corrected", 30, effective=0, field="location", value="library", by="t-1"),
    entry(7, "dispatch_status_changed", 40, status="resolved", responder_id="r-a"),
    entry(8, "plan_opened", 40.5, plan_id="p1", owner_id="r-a", student_ref="stu-1"),
]


def test_state_as_known_before_anything_happened_is_empty() -> None:
    state = replay.known_at(STORY, at(-1))

    assert state == replay.initial()


def test_state_as_known_right_after_the_assignment() -> None:
    state = replay.known_at(STORY, at(1))

    assert state["incident"]["status"] == "open"
    assert state["incident"]["risk"] == "moderate"
    assert state["dispatch"]["state"] == "assigned"
    assert state["dispatch"]["responder_id"] == "r-a"
    assert state["dispatch"]["acknowledged_at"] is None
    assert state["events_applied"] == 2


def test_state_as_known_with_the_student_after_reclassification() -> None:
    state = replay.known_at(STORY, at(10))

    assert state["dispatch"]["state"] == "with_student"
    assert state["dispatch"]["with_student_at"] == rfc3339(at(5))
    assert state["incident"]["risk"] == "high"
    assert state["followup"]["plan_id"] is None


def test_a_correction_is_shown_both_ways() -> None:
    # When asked about 10 minutes in, before the correction was made,
    known = replay.known_at(STORY, at(10))
    true = replay.true_at(STORY, at(10))

    # then the record then said "gym", and we now know it was the library.
    assert known["incident"]["location"] == "gym"
    assert true["incident"]["location"] == "library"
    assert true["incident"]["corrections"][0]["effective_at"] == rfc3339(at(0))
    # Everything else agrees.
    assert known["dispatch"] == true["dispatch"]


def test_after_the_correction_both_views_agree() -> None:
    assert replay.known_at(STORY, at(35))["incident"] == replay.true_at(STORY, at(35))["incident"]


def test_a_sensitive_correction_is_listed_without_changing_any_value() -> None:
    story = [
        *STORY[:1],
        entry(9, "incident_corrected", 3, field="student_details.name", value=None),
    ]

    state = replay.known_at(story, at(5))

    assert state["incident"]["location"] == "gym"
    assert state["incident"]["corrections"][0]["value"] is None


def test_stepping_event_by_event_by_position() -> None:
    assert replay.after(STORY, 0) == replay.initial()
    assert replay.after(STORY, 3)["dispatch"]["state"] == "acknowledged"
    assert replay.after(STORY, len(STORY))["followup"]["owner_id"] == "r-a"


def test_steps_give_each_entry_with_the_state_right_after_it() -> None:
    steps = replay.steps(STORY)

    assert [e.event_id for e, _ in steps] == [e.event_id for e in STORY]
    assert steps[3][1]["dispatch"]["state"] == "with_student"
    assert steps[-1][1]["dispatch"]["state"] == "resolved"
    assert steps[0][1]["dispatch"]["state"] is None  # each step is its own copy


def test_the_known_view_follows_recording_time_not_event_time() -> None:
    # A check-in held at minute 50 but recorded (entered late) at minute 90.
    late = entry(10, "checkin_recorded", 50, recorded=90, slot="24h", state="completed")
    story = [*STORY, late]

    assert replay.known_at(story, at(60))["followup"]["checkins"] == {}
    assert replay.true_at(story, at(60))["followup"]["checkins"]["24h"]["state"] == "completed"


def test_access_entries_change_no_state() -> None:
    read = Entry(
        event_id="audit/1",
        type="audit",
        summary="read",
        service="intake",
        at=at(1),
        effective_at=at(1),
        recorded_at=at(1),
        kind=ACCESS,
        data={"kind": "read"},
    )

    assert replay.fold([*STORY[:2], read]) == replay.fold(STORY[:2])


def test_actors_come_from_the_audit_entry_of_the_same_request() -> None:
    reported = entry(1, "incident_reported", 0, causation="http:abc")
    command = Entry(
        event_id="audit/2",
        type="audit",
        summary="command",
        service="intake",
        at=at(0),
        effective_at=at(0),
        recorded_at=at(0),
        actor="t-1",
        role="reporter",
        causation_id="http:abc",
        kind=ACCESS,
        data={"kind": "command"},
    )
    automatic = entry(2, "responder_assigned", 0.1, causation="intake/x/1")

    filled = {e.event_id: e for e in with_actors([reported, command, automatic])}

    assert (filled["svc/1"].actor, filled["svc/1"].role) == ("t-1", "reporter")
    assert (filled["svc/2"].actor, filled["svc/2"].role) == ("service:intake", "system")


def test_timeline_order_is_by_event_time_then_recording_time() -> None:
    shuffled = [STORY[3], STORY[0], STORY[2], STORY[1]]

    assert [e.event_id for e in ordered(shuffled)] == ["svc/1", "svc/2", "svc/3", "svc/4"]


def test_entries_round_trip_through_their_stored_form() -> None:
    assert all(Entry.from_dict(e.to_dict()) == e for e in STORY)


def test_a_correction_effective_before_the_report_itself_still_wins_in_the_true_view() -> None:
    story = [
        *STORY[:1],
        entry(11, "incident_corrected", 30, effective=-5, field="location", value="library"),
    ]

    assert replay.true_at(story, at(1))["incident"]["location"] == "library"
    assert replay.known_at(story, at(1))["incident"]["location"] == "gym"
