"""Intake application on the in-memory store: load -> decide -> record."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import Aggregate

from events.intake import (
    AddNoteV1,
    AddSchoolV1,
    CancelIncidentV1,
    CloseIncidentV1,
    CorrectIncidentV1,
    DangerKind,
    ReclassifyRiskV1,
    ReportIncidentV1,
    ScreenerV1,
    StudentDetailsV1,
)
from events.vocabulary import Category, RiskLevel
from plumbing.domain import Conflict, Invalid, NotFound, rfc3339
from services.intake.application import IntakeApplication
from services.intake.domain.incident import Incident
from services.intake.domain.student_file import StudentFile, student_file_id
from tests.support import NOW, TRACE, memory

pytestmark = pytest.mark.application

LATER = NOW + timedelta(minutes=10)


@pytest.fixture
def intake() -> Iterator[IntakeApplication]:
    app = IntakeApplication(env=memory())
    app.add_school(AddSchoolV1(school_id="s0", name="School Zero"), trace=TRACE)
    yield app
    app.close()


def command(**overrides: object) -> ReportIncidentV1:
    fields: dict[str, object] = {
        "school_id": "s0",
        "student_ref": "stu-1",
        "categories": [Category.ACUTE_DISTRESS],
        "risk": RiskLevel.MODERATE,
        "reporter_id": "staff-1",
    }
    fields.update(overrides)
    return ReportIncidentV1(**fields)  # type: ignore[arg-type]


def stored(app: IntakeApplication) -> int:
    return app.recorder.max_notification_id() or 0


def events_of(app: IntakeApplication, kind: type[Any]) -> list[Any]:
    return [e for _, e in app.domain_events_after(0, 10_000) if isinstance(e, kind)]


def reported(app: IntakeApplication, **overrides: object) -> UUID:
    return app.report_incident(command(**overrides), at=NOW, trace=TRACE).incident_id


# -- reports ------------------------------------------------------------------------------------
def test_an_accepted_report_is_stored_and_readable(intake: IntakeApplication) -> None:
    accepted = intake.report_incident(
        command(location="hall B", warning_signs=["crying"], reporter_role="teacher"),
        at=NOW,
        trace=TRACE,
    )

    view = intake.incident_view(accepted.incident_id)
    assert view["risk"] == "moderate"
    assert view["categories"] == ["acute_distress"]
    assert view["state"] == "open"
    assert (view["location"], view["warning_signs"], view["reporter_role"]) == (
        "hall B",
        ["crying"],
        "teacher",
    )
    assert view["linked_reports"] == []
    assert not accepted.duplicate
    assert not accepted.linked


def test_a_report_for_an_unknown_school_is_refused_and_nothing_is_stored(
    intake: IntakeApplication,
) -> None:
    before = stored(intake)

    with pytest.raises(Invalid) as refused:
        intake.report_incident(command(school_id="nowhere"), at=NOW, trace=TRACE)

    assert refused.value.field == "school_id"
    assert stored(intake) == before


def test_a_report_without_risk_or_screener_is_refused_and_nothing_is_stored(
    intake: IntakeApplication,
) -> None:
    before = stored(intake)

    with pytest.raises(Invalid) as refused:
        intake.report_incident(command(risk=None), at=NOW, trace=TRACE)

    assert refused.value.field == "risk"
    assert stored(intake) == before


def test_a_screener_sets_the_risk_and_the_view_shows_suggestion_and_choice(
    intake: IntakeApplication,
) -> None:
    screener = ScreenerV1(q1=True, q2=True, q3=True, q4=True, q5=False, q6=False)

    accepted = intake.report_incident(command(risk=None, screener=screener), at=NOW, trace=TRACE)

    assert accepted.triage is not None
    assert accepted.triage.risk == "high"
    view = intake.incident_view(accepted.incident_id)
    assert view["risk"] == "high"
    assert view["screener"]["suggested"] == view["screener"]["chosen"] == "high"
    assert view["overrides"] == []


def test_an_unexplained_override_is_refused_and_an_explained_one_is_on_record(
    intake: IntakeApplication,
) -> None:
    screener = ScreenerV1(q1=True, q2=False, q6=False)
    with pytest.raises(Invalid) as refused:
        intake.report_incident(command(risk="high", screener=screener), at=NOW, trace=TRACE)
    assert refused.value.field == "risk_override_reason"

    incident_id = reported(
        intake, risk="high", screener=screener, risk_override_reason="plan disclosed to a friend"
    )

    view = intake.incident_view(incident_id)
    assert view["screener"] == {
        "answers": {
            "q1": True,
            "q2": False,
            "q3": None,
            "q4": None,
            "q5": None,
            "q6": False,
            "q6_past_3_months": None,
        },
        "suggested": "low",
        "chosen": "high",
    }
    assert view["overrides"][0]["reason"] == "plan disclosed to a friend"
    assert len(events_of(intake, Incident.ScreenerOverridden)) == 1


def test_immediate_danger_makes_the_incident_imminent(intake: IntakeApplication) -> None:
    accepted = intake.report_incident(
        command(risk="low", immediate_danger=DangerKind.WEAPON), at=NOW, trace=TRACE
    )

    assert accepted.triage is not None
    assert accepted.triage.immediate_danger == "weapon"
    view = intake.incident_view(accepted.incident_id)
    assert (view["risk"], view["immediate_danger"]) == ("imminent", "weapon")


def test_identifying_details_stay_in_the_student_file_not_on_the_incident(
    intake: IntakeApplication,
) -> None:
    details = StudentDetailsV1(name="Ada Example", grade="9")

    incident_id = reported(intake, student_details=details)

    [reported_event] = events_of(intake, Incident.Reported)
    assert "Ada Example" not in repr(reported_event.__dict__)
    file: StudentFile = intake.repository.get(student_file_id("stu-1"))
    assert file.details == {"name": "Ada Example", "grade": "9"}
    view = intake.incident_view(incident_id)
    assert view["student_details_on_file"] is True
    assert "Ada Example" not in repr(view)
    assert "Ada" not in repr(details)  # not even a log line of the command shows them


def test_a_linked_incident_must_exist(intake: IntakeApplication) -> None:
    with pytest.raises(NotFound) as refused:
        intake.report_incident(command(linked_incident_id=uuid4()), at=NOW, trace=TRACE)

    assert refused.value.field == "linked_incident_id"


# -- idempotency -------------------------------------------------------------------------------
def test_a_retried_submission_returns_the_same_incident(intake: IntakeApplication) -> None:
    first = intake.report_incident(command(idempotency_key="wifi-1"), at=NOW, trace=TRACE)
    before = stored(intake)

    second = intake.report_incident(command(idempotency_key="wifi-1"), at=NOW, trace=TRACE)

    assert second.incident_id == first.incident_id
    assert second.duplicate
    assert stored(intake) == before


def test_a_retried_immediate_danger_report_is_told_to_call_911_again(
    intake: IntakeApplication,
) -> None:
    danger = command(idempotency_key="k", immediate_danger=DangerKind.ATTEMPT_IN_PROGRESS)
    intake.report_incident(danger, at=NOW, trace=TRACE)

    again = intake.report_incident(danger, at=NOW, trace=TRACE)

    assert again.duplicate
    assert again.triage is not None
    assert again.triage.immediate_danger == "attempt_in_progress"


def test_reusing_an_idempotency_key_for_another_student_is_a_conflict(
    intake: IntakeApplication,
) -> None:
    intake.report_incident(command(idempotency_key="k"), at=NOW, trace=TRACE)

    with pytest.raises(Conflict) as refused:
        intake.report_incident(
            command(idempotency_key="k", student_ref="stu-2"), at=NOW, trace=TRACE
        )

    assert refused.value.field == "idempotency_key"


# -- linking ------------------------------------------------------------------------------------
def test_a_second_report_for_a_student_with_an_open_incident_is_linked(
    intake: IntakeApplication,
) -> None:
    first = reported(intake)

    second = intake.report_incident(command(reporter_id="staff-2"), at=LATER, trace=TRACE)

    assert second.linked
    assert second.incident_id == first
    assert second.report_id != first
    assert len(events_of(intake, Incident.Reported)) == 1
    [linked] = events_of(intake, Incident.ReportLinked)
    assert linked.report_id == second.report_id
    assert intake.incident_view(first)["linked_reports"][0]["reporter_id"] == "staff-2"


def test_renewed_risk_linked_to_the_open_incident_opens_a_new_incident_to_dispatch(
    intake: IntakeApplication,
) -> None:
    first = reported(intake)

    renewed = intake.report_incident(
        command(reporter_id="followup", linked_incident_id=first), at=LATER, trace=TRACE
    )

    assert not renewed.linked
    assert renewed.incident_id != first
    assert len(events_of(intake, Incident.Reported)) == 2
    assert intake.incident_view(renewed.incident_id)["linked_incident_id"] == str(first)


def test_a_retried_linked_report_is_linked_once(intake: IntakeApplication) -> None:
    reported(intake)
    first = intake.report_incident(command(idempotency_key="k2"), at=LATER, trace=TRACE)
    before = stored(intake)

    again = intake.report_incident(command(idempotency_key="k2"), at=LATER, trace=TRACE)

    assert (again.incident_id, again.linked, again.duplicate) == (first.incident_id, True, True)
    assert stored(intake) == before


@pytest.mark.parametrize("end", ["cancel", "close"])
def test_a_cancelled_or_closed_incident_frees_the_student_for_a_new_one(
    intake: IntakeApplication, end: str
) -> None:
    first = reported(intake)
    if end == "cancel":
        intake.cancel_incident(
            CancelIncidentV1(incident_id=first, by="lead-1", reason="false alarm"),
            at=LATER,
            trace=TRACE,
        )
    else:
        intake.close_incident(CloseIncidentV1(incident_id=first, by="psy-1"), at=LATER, trace=TRACE)

    again = intake.report_incident(command(), at=LATER, trace=TRACE)

    assert not again.linked
    assert again.incident_id != first
    assert len(events_of(intake, Incident.Reported)) == 2


class RacingIntake(IntakeApplication):
    """Both racers have loaded the student's file before either records (a forced race)."""

    def __init__(self, env: dict[str, str]) -> None:
        super().__init__(env)
        self.barrier = threading.Barrier(2, timeout=5)
        self.racing = 0  # how many of the next records meet at the barrier
        self.lock = threading.Lock()

    def record(self, *aggregates: Aggregate | None, **kwargs: Any) -> int:
        with self.lock:
            meet, self.racing = self.racing > 0, max(self.racing - 1, 0)
        if meet:
            self.barrier.wait()
        return super().record(*aggregates, **kwargs)


def test_two_simultaneous_reports_for_one_student_make_one_incident_and_one_link() -> None:
    app = RacingIntake(env=memory())
    app.add_school(AddSchoolV1(school_id="s0", name="School Zero"), trace=TRACE)
    app.racing = 2

    def report(reporter: str) -> Any:
        return app.report_incident(command(reporter_id=reporter), at=NOW, trace=TRACE)

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(report, ["staff-1", "staff-2"]))
    app.close()

    assert sorted(r.linked for r in results) == [False, True]
    assert results[0].incident_id == results[1].incident_id
    assert len(events_of(app, Incident.Reported)) == 1
    assert len(events_of(app, Incident.ReportLinked)) == 1


# -- later changes -------------------------------------------------------------------------------
def test_later_changes_are_events_and_show_in_the_view(intake: IntakeApplication) -> None:
    incident_id = reported(intake, note="first")
    before = NOW - timedelta(hours=2)

    intake.add_note(
        AddNoteV1(incident_id=incident_id, by="psy-1", text="calmer", warning_signs=["pacing"]),
        at=LATER,
        trace=TRACE,
    )
    intake.reclassify(
        ReclassifyRiskV1(incident_id=incident_id, by="psy-1", risk=RiskLevel.HIGH, reason="plan"),
        at=LATER,
        trace=TRACE,
    )
    intake.correct(
        CorrectIncidentV1(
            incident_id=incident_id,
            by="staff-1",
            field="location",
            value="gym",
            reason="misheard",
            effective_at=before,
        ),
        at=LATER,
        trace=TRACE,
    )
    changed = intake.close_incident(
        CloseIncidentV1(incident_id=incident_id, by="psy-1"), at=LATER, trace=TRACE
    )

    assert (changed.state, changed.risk) == ("closed", "high")
    view = intake.incident_view(incident_id)
    assert (view["notes"], view["warning_signs"], view["risk"]) == (2, ["pacing"], "high")
    assert view["location"] == "gym"
    assert view["corrections"][0]["effective_at"] == rfc3339(before)
    assert view["reclassifications"] == [
        {"from": "moderate", "to": "high", "reason": "plan", "by": "psy-1", "at": rfc3339(LATER)}
    ]
    assert view["state"] == "closed"
    assert view["closed"]["by"] == "psy-1"


def test_correcting_a_detail_updates_the_student_file(intake: IntakeApplication) -> None:
    incident_id = reported(intake)

    intake.correct(
        CorrectIncidentV1(
            incident_id=incident_id,
            by="staff-1",
            field="student_details.grade",
            value="10",
            reason="wrong year",
        ),
        at=LATER,
        trace=TRACE,
    )

    file: StudentFile = intake.repository.get(student_file_id("stu-1"))
    assert file.details == {"grade": "10"}
    assert intake.incident_view(incident_id)["corrections"][0]["value"] is None


def test_a_change_after_cancellation_is_a_conflict_and_stores_nothing(
    intake: IntakeApplication,
) -> None:
    incident_id = reported(intake)
    intake.cancel_incident(
        CancelIncidentV1(incident_id=incident_id, by="lead-1", reason="false alarm"),
        at=LATER,
        trace=TRACE,
    )
    before = stored(intake)

    with pytest.raises(Conflict) as refused:
        intake.add_note(
            AddNoteV1(incident_id=incident_id, by="psy-1", text="x"), at=LATER, trace=TRACE
        )

    assert (refused.value.field, refused.value.message) == ("state", "incident is cancelled")
    assert stored(intake) == before


def test_a_change_to_an_unknown_incident_is_not_found(intake: IntakeApplication) -> None:
    with pytest.raises(NotFound) as refused:
        intake.close_incident(CloseIncidentV1(incident_id=uuid4(), by="a"), at=LATER, trace=TRACE)

    assert refused.value.field == "incident_id"


def test_the_student_file_is_not_an_incident(intake: IntakeApplication) -> None:
    reported(intake)

    with pytest.raises(NotFound):
        intake.incident_view(student_file_id("stu-1"))


def test_schools_are_listed_with_id_and_name(intake: IntakeApplication) -> None:
    assert intake.schools() == [{"id": "s0", "name": "School Zero"}]


def test_a_school_another_instance_added_is_known_at_once(tmp_path: Any) -> None:
    """Two instances on one store: the reading instance has already seen the directory."""
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(tmp_path / "intake.sqlite"),
    }
    reading, adding = IntakeApplication(env=env), IntakeApplication(env=env)
    try:
        adding.add_school(AddSchoolV1(school_id="s0", name="School Zero"), trace=TRACE)
        reading.report_incident(command(student_ref="stu-a"), at=NOW, trace=TRACE)

        adding.add_school(AddSchoolV1(school_id="s1", name="School One"), trace=TRACE)

        accepted = reading.report_incident(
            command(school_id="s1", student_ref="stu-b"), at=NOW, trace=TRACE
        )
        assert adding.exists(accepted.incident_id)
        with pytest.raises(Invalid) as refused:
            reading.report_incident(command(school_id="s9"), at=NOW, trace=TRACE)
        assert refused.value.field == "school_id"
    finally:
        reading.close()
        adding.close()
