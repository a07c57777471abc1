"""Intake application on the in-memory store: load -> decide -> record."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from events.intake import AddSchoolV1, ReportIncidentV1
from events.vocabulary import Category, RiskLevel
from plumbing.domain import Conflict, Invalid, NotFound
from services.intake.application import IntakeApplication
from tests.support import NOW, TRACE, memory

pytestmark = pytest.mark.application


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


def test_an_accepted_report_is_stored_and_readable(intake: IntakeApplication) -> None:
    accepted = intake.report_incident(command(), at=NOW, trace=TRACE)

    view = intake.incident_view(accepted.incident_id)
    assert view["risk"] == "moderate"
    assert view["categories"] == ["acute_distress"]
    assert view["state"] == "open"
    assert not accepted.duplicate


def test_a_report_for_an_unknown_school_is_refused_and_nothing_is_stored(
    intake: IntakeApplication,
) -> None:
    before = stored(intake)

    with pytest.raises(Invalid) as refused:
        intake.report_incident(command(school_id="nowhere"), at=NOW, trace=TRACE)

    assert refused.value.field == "school_id"
    assert stored(intake) == before


def test_a_retried_submission_returns_the_same_incident(intake: IntakeApplication) -> None:
    first = intake.report_incident(command(idempotency_key="wifi-1"), at=NOW, trace=TRACE)
    before = stored(intake)

    second = intake.report_incident(command(idempotency_key="wifi-1"), at=NOW, trace=TRACE)

    assert second.incident_id == first.incident_id
    assert second.duplicate
    assert stored(intake) == before


def test_reusing_an_idempotency_key_for_another_student_is_a_conflict(
    intake: IntakeApplication,
) -> None:
    intake.report_incident(command(idempotency_key="k"), at=NOW, trace=TRACE)

    with pytest.raises(Conflict) as refused:
        intake.report_incident(
            command(idempotency_key="k", student_ref="stu-2"), at=NOW, trace=TRACE
        )

    assert refused.value.field == "idempotency_key"


def test_an_unknown_incident_is_not_found(intake: IntakeApplication) -> None:
    from uuid import uuid4

    with pytest.raises(NotFound):
        intake.incident_view(uuid4())


def test_schools_are_listed_with_id_and_name(intake: IntakeApplication) -> None:
    assert intake.schools() == [{"id": "s0", "name": "School Zero"}]
