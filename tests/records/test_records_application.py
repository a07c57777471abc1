"""Records' application on the in-memory store: published events in, answers out.

Given the messages the services publish (with their headers), when records
absorbs them, then the timeline, the measures, the audit history and the
record of disclosures are built from them alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import msgspec
import pytest

from events import headers as h
from events.audit import AuditRecordedV1
from events.dispatch import DispatchAcknowledgedV1, ResponderAssignedV1, ResponderEnrolledV1
from events.followup import DisclosureRecordedV1, LegalBasis
from events.intake import IncidentReportedV1
from events.records import ListAuditV1, ShowResponseMeasuresV1, ShowTimelineV1
from events.vocabulary import Category, ResponderRole, RiskLevel
from plumbing.messaging.failures import Poison
from plumbing.messaging.feed import Inbound, inbound
from services.records.application import RecordsApplication
from services.records.consumer import decode
from tests.support import memory

pytestmark = pytest.mark.application

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
INCIDENT = uuid4()


@pytest.fixture
def app() -> Iterator[RecordsApplication]:
    application = RecordsApplication(env=memory())
    yield application
    application.close()


def headers(service: str, n: int, at: datetime, causation: str = "") -> dict[str, str]:
    return {
        h.MSG_ID: f"{service}/{INCIDENT}/{n}",
        h.SOURCE: service,
        h.POSITION: str(n),
        h.RECORDED_AT: at.isoformat(),
        h.CAUSATION_ID: causation,
        h.CORRELATION_ID: "corr-1",
    }


def absorb(
    app: RecordsApplication, service: str, message: msgspec.Struct, hdrs: dict[str, str]
) -> None:
    app.record(*app.on_message(service, message, hdrs))


def story(app: RecordsApplication) -> None:
    absorb(
        app,
        "dispatch",
        ResponderEnrolledV1(
            responder_id="r-a", role=ResponderRole.COUNSELOR, schools=["s0"], available=True
        ),
        headers("dispatch", 1, T0),
    )
    absorb(
        app,
        "intake",
        IncidentReportedV1(
            incident_id=INCIDENT,
            school_id="s0",
            student_ref="stu-1",
            categories=[Category.SELF_HARM],
            risk=RiskLevel.HIGH,
            reported_at=T0,
        ),
        headers("intake", 1, T0, causation="http:req-1"),
    )
    absorb(
        app,
        "intake",
        AuditRecordedV1(
            audit_id=str(uuid4()),
            service="intake",
            actor="t-1",
            role="reporter",
            action="report_incident",
            kind="command",
            interface="http",
            outcome="allowed",
            status=201,
            incident_id=str(INCIDENT),
            student_ref="stu-1",
            school_id="s0",
            at=T0,
        ),
        headers("intake", 2, T0, causation="http:req-1"),
    )
    absorb(
        app,
        "dispatch",
        ResponderAssignedV1(
            incident_id=INCIDENT,
            dispatch_id=uuid4(),
            responder_id="r-a",
            school_id="s0",
            risk=RiskLevel.HIGH,
            assigned_at=T0 + timedelta(seconds=1),
            rule="on_call",
        ),
        headers("dispatch", 2, T0 + timedelta(seconds=1), causation=f"intake/{INCIDENT}/1"),
    )
    absorb(
        app,
        "dispatch",
        DispatchAcknowledgedV1(
            incident_id=INCIDENT,
            dispatch_id=uuid4(),
            responder_id="r-a",
            at=T0 + timedelta(seconds=61),
        ),
        headers("dispatch", 3, T0 + timedelta(seconds=61), causation="http:req-2"),
    )


def test_the_timeline_merges_services_with_actors_roles_and_causes(
    app: RecordsApplication,
) -> None:
    story(app)

    body = app.timeline(ShowTimelineV1(incident_id=INCIDENT))

    rows = [(e["type"], e["service"], e["actor"], e["role"]) for e in body["entries"]]
    assert rows == [
        ("incident_reported", "intake", "t-1", "reporter"),
        ("responder_assigned", "dispatch", "service:dispatch", "system"),
        ("dispatch_acknowledged", "dispatch", "r-a", "counselor"),
    ]
    assert body["entries"][1]["causation_id"] == body["entries"][0]["event_id"]


def test_a_message_seen_twice_is_stored_once(app: RecordsApplication) -> None:
    story(app)
    again = IncidentReportedV1(
        incident_id=INCIDENT,
        school_id="s0",
        student_ref="stu-1",
        categories=[Category.SELF_HARM],
        risk=RiskLevel.HIGH,
        reported_at=T0,
    )

    assert app.on_message("intake", again, headers("intake", 1, T0)) == []


def arriving(schema: str, data: bytes) -> Inbound:
    return inbound(
        "lantern.evt.intake.p0.x",
        data,
        {
            h.POSITION: "1",
            h.PREVIOUS: "0",
            h.PARTITION: "0",
            h.EPOCH: "abcdef012345",
            h.SCHEMA: schema,
        },
        stream_seq=1,
        deliveries=1,
    )


def test_an_unknown_kind_is_passed_over_but_an_unknown_version_of_a_known_one_is_poison() -> None:
    assert decode(arriving("intake.future_thing.v9", b'{"type": "intake.future_thing.v9"}')) is None
    with pytest.raises(Poison, match="unknown schema version"):
        decode(arriving("intake.incident_reported.v9", b'{"type": "intake.incident_reported.v9"}'))


def test_measures_come_from_the_events(app: RecordsApplication) -> None:
    story(app)

    body = app.measures(ShowResponseMeasuresV1(school_id="s0"))

    (row,) = body["incidents"]
    assert (row["to_assign_s"], row["to_acknowledge_s"]) == (1.0, 61.0)
    assert row["responder_id"] == "r-a"
    assert body["summary"]["by_responder"]["r-a"]["to_acknowledge_s"]["median"] == 61.0


def test_audit_history_filters_by_student_and_date(app: RecordsApplication) -> None:
    story(app)

    by_student = app.audit_history(ListAuditV1(student_ref="stu-1"))
    in_range = app.audit_history(ListAuditV1(since=T0, until=T0 + timedelta(hours=1)))
    later = app.audit_history(ListAuditV1(since=T0 + timedelta(days=1)))

    assert [r["action"] for r in by_student] == ["report_incident"]
    assert by_student == in_range
    assert later == []


def test_an_emergency_disclosure_is_in_the_record_with_threat_and_recipients(
    app: RecordsApplication,
) -> None:
    story(app)
    absorb(
        app,
        "followup",
        DisclosureRecordedV1(
            disclosure_id=uuid4(),
            plan_id=uuid4(),
            incident_id=INCIDENT,
            school_id="s0",
            student_ref="stu-1",
            party="mobile-crisis",
            purpose="immediate safety assessment",
            legal_basis=LegalBasis.HEALTH_SAFETY_EMERGENCY,
            consent_id=None,
            threat="stated plan and means for tonight",
            recipients=["mobile-crisis-team-2"],
            by="r-a",
            at=T0 + timedelta(hours=1),
        ),
        headers("followup", 1, T0 + timedelta(hours=1)),
    )

    record = app.record_of_disclosures("stu-1")

    (line,) = record["entries"]
    assert line["legal_basis"] == "health_safety_emergency"
    assert line["threat"] == "stated plan and means for tonight"
    assert line["recipients"] == ["mobile-crisis-team-2"]
    assert line["missing"] == []
    assert UUID(line["incident_id"]) == INCIDENT


def test_the_reporter_is_found_even_when_the_audit_entry_cannot_name_the_incident(
    app: RecordsApplication,
) -> None:
    # Given a report whose audit entry was written before the incident had an id,
    absorb(
        app,
        "intake",
        AuditRecordedV1(
            audit_id=str(uuid4()),
            service="intake",
            actor="t-9",
            role="staff",
            action="report_incident",
            kind="command",
            interface="cli",
            outcome="allowed",
            status=201,
            at=T0,
        ),
        headers("intake", 7, T0, causation="cli:req-9"),
    )
    other = uuid4()
    absorb(
        app,
        "intake",
        IncidentReportedV1(
            incident_id=other,
            school_id="s0",
            student_ref="stu-9",
            categories=[Category.OTHER],
            risk=RiskLevel.LOW,
            reported_at=T0,
        ),
        {**headers("intake", 8, T0, causation="cli:req-9"), h.MSG_ID: f"intake/{other}/1"},
    )

    # when the timeline is read, then the report names its reporter and role.
    (reported,) = app.timeline(ShowTimelineV1(incident_id=other))["entries"]
    assert (reported["actor"], reported["role"]) == ("t-9", "staff")
