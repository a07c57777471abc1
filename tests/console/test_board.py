"""Specification of the board's read model: events in, what a supervisor sees out."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from events import dispatch as d
from events import intake as i
from events.vocabulary import Category, RiskLevel
from services.console.board import Board

pytestmark = pytest.mark.domain
NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)


def reported(incident: uuid.UUID, school: str = "s0", risk: str = "high") -> i.IncidentReportedV1:
    return i.IncidentReportedV1(
        incident_id=incident,
        school_id=school,
        student_ref="stu-1",
        categories=[Category("self_harm")],
        risk=RiskLevel(risk),
        reported_at=NOW,
        location="Gym",
    )


def assigned(incident: uuid.UUID, dispatch: uuid.UUID, who: str = "r-a") -> d.ResponderAssignedV1:
    return d.ResponderAssignedV1(
        incident_id=incident,
        dispatch_id=dispatch,
        responder_id=who,
        school_id="s0",
        risk=RiskLevel("high"),
        assigned_at=NOW,
        rule="least_loaded",
        ack_deadline=NOW + timedelta(minutes=5),
    )


def test_a_reported_and_assigned_incident_waits_with_its_time_left() -> None:
    board, incident, dispatch = Board(), uuid.uuid4(), uuid.uuid4()
    board.apply(reported(incident))
    board.apply(assigned(incident, dispatch))

    [row] = board.visible(("s0",))
    assert (row.dispatch_state, row.responder_id, row.location) == ("assigned", "r-a", "Gym")
    assert row.seconds_left(NOW + timedelta(minutes=1)) == 240
    assert board.visible(("s1",)) == []  # another school's supervisor sees nothing of it


def test_an_acknowledgement_stops_the_countdown() -> None:
    board, incident, dispatch = Board(), uuid.uuid4(), uuid.uuid4()
    board.apply(reported(incident))
    board.apply(assigned(incident, dispatch))
    board.apply(
        d.DispatchAcknowledgedV1(
            incident_id=incident, dispatch_id=dispatch, responder_id="r-a", at=NOW
        )
    )
    [row] = board.visible(None)
    assert row.dispatch_state == "acknowledged"
    assert row.seconds_left(NOW) is None
    assert not row.unheld


def test_an_exhausted_chain_means_nobody_holds_the_incident_and_comes_first() -> None:
    board, calm, lost, dispatch = Board(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    board.apply(reported(calm, risk="imminent"))
    board.apply(reported(lost, risk="low"))
    board.apply(assigned(lost, dispatch))
    board.apply(
        d.DispatchEscalatedV1(
            incident_id=lost,
            from_dispatch_id=dispatch,
            reason="ack_timeout",
            step="exhausted",
            to_responder_id=None,
            to_dispatch_id=None,
            at=NOW,
        )
    )
    first, second = board.visible(None)
    assert first.incident_id == str(lost)
    assert first.exhausted
    assert first.responder_id is None
    assert second.incident_id == str(calm)


def test_an_escalation_to_the_next_person_takes_its_deadline_from_their_page() -> None:
    board, incident, first, second = Board(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    board.apply(reported(incident))
    board.apply(assigned(incident, first))
    board.apply(
        d.DispatchEscalatedV1(
            incident_id=incident,
            from_dispatch_id=first,
            reason="declined",
            step="next_responder",
            to_responder_id="r-b",
            to_dispatch_id=second,
            at=NOW,
        )
    )
    board.apply(
        d.ResponderPagedV1(
            dispatch_id=second,
            incident_id=incident,
            responder_id="r-b",
            kind="escalation",
            school_id="s0",
            risk=RiskLevel("high"),
            ack_deadline=NOW + timedelta(minutes=2),
        )
    )
    [row] = board.visible(None)
    assert (row.responder_id, row.dispatch_id, row.escalations) == ("r-b", str(second), 1)
    assert row.seconds_left(NOW) == 120


def test_cancelled_and_closed_incidents_leave_the_board() -> None:
    board, a, b = Board(), uuid.uuid4(), uuid.uuid4()
    board.apply(reported(a))
    board.apply(reported(b))
    board.apply(i.IncidentCancelledV1(incident_id=a, reason="false alarm", by="sup", at=NOW))
    board.apply(i.IncidentClosedV1(incident_id=b, by="sup", at=NOW))
    board.apply(
        d.DispatchAcknowledgedV1(incident_id=b, dispatch_id=uuid.uuid4(), responder_id="r", at=NOW)
    )  # a late event about a closed incident does not bring it back
    assert board.visible(None) == []
    assert board.rows == {}
