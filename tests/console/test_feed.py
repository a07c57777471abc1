"""Specification of the live feed: resume positions, nothing missed, nothing twice, who hears."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import msgspec
import pytest

from events import intake as i
from events.audit import AuditRecordedV1
from events.subjects import Subjects
from events.vocabulary import Category, RiskLevel
from services.console import feed as f
from services.console.feed import Feed

pytestmark = pytest.mark.domain
NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)


def report(school: str = "s0") -> bytes:
    return msgspec.json.encode(
        i.IncidentReportedV1(
            incident_id=uuid.uuid4(),
            school_id=school,
            student_ref="stu-1",
            categories=[Category("other")],
            risk=RiskLevel("low"),
            reported_at=NOW,
        )
    )


def test_positions_round_trip_and_nonsense_is_refused() -> None:
    assert f.decode_positions(f.encode_positions({"intake": 3, "dispatch": 9})) == {
        "intake": 3,
        "dispatch": 9,
    }
    assert f.decode_positions("intake=x") is None
    assert f.decode_positions("bogus=1") is None
    assert f.decode_positions("") is None


def test_a_reconnecting_page_gets_exactly_what_it_missed() -> None:
    feed = Feed(Subjects("t"))
    for seq in (1, 2, 3):
        feed.take("intake", seq, report())
    missed, lost = feed.since({"intake": 1})
    assert [c.seq for c in missed] == [2, 3]
    assert not lost
    assert feed.take("intake", 3, report()) is None  # a redelivery changes nothing


def test_audit_entries_and_unknown_messages_advance_the_position_but_change_nothing() -> None:
    feed = Feed(Subjects("t"))
    entry = AuditRecordedV1(
        audit_id="a",
        service="intake",
        actor="x",
        role="admin",
        action="show_incident",
        kind="read",
        interface="nats",
        outcome="allowed",
        status=200,
        at=NOW,
    )
    assert feed.take("intake", 1, msgspec.json.encode(entry)) is None
    assert feed.take("intake", 2, b'{"type": "intake.something_new.v9"}') is None
    assert feed.positions["intake"] == 2
    assert feed.board.rows == {}


def test_a_page_away_longer_than_the_window_is_told_to_reset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(f, "WINDOW", 2)
    feed = Feed(Subjects("t"))
    for seq in (1, 2, 3):
        feed.take("intake", seq, report())
    _, lost = feed.since({"intake": 0})
    assert lost
    _, lost = feed.since({"intake": 1})
    assert not lost


def test_who_hears_of_a_change() -> None:
    feed = Feed(Subjects("t"))
    change = feed.take("intake", 1, report("s0"))
    assert change is not None
    assert f.visible_to(change, "supervisor", "sup", ("s0",))
    assert not f.visible_to(change, "supervisor", "sup", ("s1",))
    assert f.visible_to(change, "admin", "adm", ())
    assert not f.visible_to(change, "responder", "r-a", ("s0",))  # not dispatched to it
    assert not f.visible_to(change, "reporter", "t-1", ())


def test_a_responder_hears_that_the_incident_escalated_away_from_them() -> None:
    from events import dispatch as d

    feed = Feed(Subjects("t"))
    incident, first = uuid.uuid4(), uuid.uuid4()
    assigned = d.ResponderAssignedV1(
        incident_id=incident,
        dispatch_id=first,
        responder_id="r-a",
        school_id="s0",
        risk=RiskLevel("low"),
        assigned_at=NOW,
        rule="least_loaded",
    )
    feed.take("dispatch", 1, msgspec.json.encode(assigned))
    escalated = d.DispatchEscalatedV1(
        incident_id=incident,
        from_dispatch_id=first,
        reason="ack_timeout",
        step="next_responder",
        to_responder_id="r-b",
        to_dispatch_id=uuid.uuid4(),
        at=NOW,
    )
    change = feed.take("dispatch", 2, msgspec.json.encode(escalated))
    assert change is not None
    assert f.visible_to(change, "responder", "r-a", ())
    assert f.visible_to(change, "responder", "r-b", ())
    assert not f.visible_to(change, "responder", "r-c", ())
