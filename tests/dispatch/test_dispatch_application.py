"""Dispatch application on the in-memory store."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import uuid4

import pytest

from events.dispatch import AddResponderV1
from events.intake import IncidentReportedV1
from events.vocabulary import Category, ResponderRole, RiskLevel
from services.dispatch.application import DispatchApplication
from tests.support import NOW, TRACE, memory

pytestmark = pytest.mark.application


@pytest.fixture
def dispatch() -> Iterator[DispatchApplication]:
    app = DispatchApplication(env=memory())
    for rid in ("r-a", "r-b"):
        app.enroll_responder(
            AddResponderV1(
                responder_id=rid, name=rid, role=ResponderRole.COUNSELOR, schools=["s0"]
            ),
            trace=TRACE,
        )
    yield app
    app.close()


def reported(school: str = "s0") -> IncidentReportedV1:
    return IncidentReportedV1(
        incident_id=uuid4(),
        school_id=school,
        student_ref="stu-1",
        categories=[Category.OTHER],
        risk=RiskLevel.LOW,
        reported_at=NOW,
    )


def test_a_reported_incident_is_assigned_to_an_eligible_responder(
    dispatch: DispatchApplication,
) -> None:
    event = reported()

    dispatch.record(*dispatch.on_incident_reported(event, TRACE, at=NOW))

    view = dispatch.response_view(event.incident_id)
    assert view["current"]["responder_id"] == "r-a"
    assert view["current"]["state"] == "assigned"


def test_load_spreads_assignments_across_responders(dispatch: DispatchApplication) -> None:
    first, second = reported(), reported()

    dispatch.record(*dispatch.on_incident_reported(first, TRACE, at=NOW))
    dispatch.record(*dispatch.on_incident_reported(second, TRACE, at=NOW))

    assert dispatch.response_view(second.incident_id)["current"]["responder_id"] == "r-b"
    assert {d["responder_id"] for d in dispatch.dispatches()} == {"r-a", "r-b"}


def test_the_same_report_twice_changes_nothing(dispatch: DispatchApplication) -> None:
    event = reported()
    dispatch.record(*dispatch.on_incident_reported(event, TRACE, at=NOW))

    assert dispatch.on_incident_reported(event, TRACE, at=NOW) == []


def test_an_incident_at_an_uncovered_school_is_marked_unassigned(
    dispatch: DispatchApplication,
) -> None:
    event = reported(school="s9")

    dispatch.record(*dispatch.on_incident_reported(event, TRACE, at=NOW))

    view = dispatch.response_view(event.incident_id)
    assert view["unassigned"] is True
    assert view["current"] is None


def test_dispatches_can_be_filtered_by_responder(dispatch: DispatchApplication) -> None:
    for _ in range(3):
        dispatch.record(*dispatch.on_incident_reported(reported(), TRACE, at=NOW))

    assert len(dispatch.dispatches(responder="r-a")) == 2
    assert len(dispatch.dispatches(responder="r-b", state="assigned")) == 1
