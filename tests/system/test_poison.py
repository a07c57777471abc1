"""Poison of every kind on every consumed subject: parked at once, and good traffic keeps flowing.

Each upstream stream is fed by hand (as its relay would publish) with one
message of every kind of poison, then with good messages; every consumer of
that stream (each service's feeds) must park each poison message in its own
dead-letter stream and apply the good ones.  Then an operator redrives a fixed
message, which is applied exactly once however often it is asked for.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import nats
import pytest
from nats.js import JetStreamContext

from events import headers as h
from events.audit import AuditRecordedV1
from events.dispatch import DispatchStatusChangedV1, ResponderAssignedV1
from events.followup import PlanOpenedV1
from events.intake import IncidentReportedV1
from events.subjects import DISPATCH, FOLLOWUP, INTAKE, RECORDS, Subjects
from events.vocabulary import Category, RiskLevel
from plumbing.messaging.feed import MAX_PAYLOAD_BYTES
from tests.harness import Harness, eventually
from tests.upstream import Upstream

pytestmark = [pytest.mark.system, pytest.mark.faults]

#: (what, publish keyword arguments); schema ``None`` means "the good message's own tag".
POISON: list[tuple[str, dict[str, Any]]] = [
    ("bad UTF-8", {"raw": b'{"type": "T", "x": "\xff\xfe"}'}),
    ("garbage", {"raw": b"\x00\x01 not json"}),
    ("wrong schema version", {"raw": b'{"type": "T"}', "schema": "V9"}),
    ("missing schema", {"headers": {h.SCHEMA: ""}}),
    ("over the size limit", {"raw": b'{"type": "' + b"x" * (MAX_PAYLOAD_BYTES + 1) + b'"}'}),
    ("missing headers", {"headers": {h.EPOCH: "", h.PREVIOUS: ""}, "in_lane": False}),
]


async def feed_poison(upstream: Upstream, subject: str, good: Any, incident: UUID) -> None:
    tag = str(type(good).__struct_config__.tag)
    for _, kind in POISON:
        raw = kind.get("raw")
        await upstream.publish(
            subject,
            None if raw else good,
            incident,
            raw=raw.replace(b'"T"', f'"{tag}"'.encode()) if raw else None,
            schema=tag.rsplit(".v", 1)[0] + ".v9" if kind.get("schema") == "V9" else tag,
            headers=kind.get("headers"),
            in_lane=kind.get("in_lane", True),
        )


@pytest.fixture
async def js(nats_url: str, clean_streams: None) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(nats_url)
    yield nc.jetstream()
    await nc.close()


@pytest.fixture
async def harness(
    subjects: Subjects, nats_url: str, store: dict[str, str], js: JetStreamContext
) -> AsyncIterator[Harness]:
    harness = Harness(subjects, nats_url, store)
    yield harness
    await harness.stop_all()


async def parked(js: JetStreamContext, subjects: Subjects, service: str) -> list[dict[str, str]]:
    info = await js.stream_info(subjects.dlq_stream(service))
    found = []
    for seq in range(info.state.first_seq or 1, (info.state.last_seq or 0) + 1):
        found.append(dict((await js.get_msg(subjects.dlq_stream(service), seq=seq)).headers or {}))
    return found


async def count_parked(js: JetStreamContext, subjects: Subjects, service: str, n: int) -> bool:
    return len(await parked(js, subjects, service)) >= n


def reported(incident: UUID) -> IncidentReportedV1:
    return IncidentReportedV1(
        incident_id=incident,
        school_id="s0",
        student_ref="stu-3",
        categories=[Category.OTHER],
        risk=RiskLevel.MODERATE,
        reported_at=datetime.now(UTC),
    )


def audit_entry(incident: UUID) -> AuditRecordedV1:
    return AuditRecordedV1(
        audit_id=str(uuid4()),
        service=INTAKE,
        actor="t-1",
        role="reporter",
        action="report_incident",
        kind="command",
        interface="http",
        outcome="allowed",
        status=201,
        purpose="",
        incident_id=str(incident),
        student_ref="stu-3",
        school_id="s0",
        break_glass=False,
        break_glass_reason="",
        at=datetime.now(UTC),
    )


async def test_poison_on_intakes_events_and_audit_is_parked_by_dispatch_and_records(
    harness: Harness, js: JetStreamContext, subjects: Subjects
) -> None:
    await harness.start("dispatch")
    await harness.start("records")
    await harness.seed_roster()
    upstream = Upstream(js, subjects, INTAKE)
    incident = uuid4()
    began = time.monotonic()
    await feed_poison(upstream, subjects.incident_reported, reported(incident), incident)
    await feed_poison(upstream, subjects.audit(INTAKE), audit_entry(incident), incident)
    await upstream.publish(subjects.incident_reported, reported(incident), incident)
    await upstream.publish(subjects.audit(INTAKE), audit_entry(incident), incident)

    await eventually(lambda: count_parked(js, subjects, DISPATCH, len(POISON)), 10)
    await eventually(lambda: count_parked(js, subjects, RECORDS, 2 * len(POISON)), 10)
    assert time.monotonic() - began < 3.0  # every kind parked at once, not after retries
    status, response = await eventually(
        lambda: answered(harness, f"/incidents/{incident}/response")
    )
    assert response["current"]["responder_id"] == "r-a"  # good traffic flowed behind them
    assert {p[h.FAILURE] for p in await parked(js, subjects, DISPATCH)} == {"poison"}
    status, timeline = await harness.call("GET", "records", f"/incidents/{incident}/timeline")
    assert status == 200
    assert "incident_reported" in [e["type"] for e in timeline["entries"]]


async def answered(harness: Harness, path: str, service: str = "dispatch") -> Any:
    status, body = await harness.call("GET", service, path)
    return (status, body) if status == 200 and body.get("current") else None


async def test_poison_on_dispatchs_events_is_parked_by_every_consumer_that_reads_them(
    harness: Harness, js: JetStreamContext, subjects: Subjects
) -> None:
    for service in ("intake", "followup", "records"):
        await harness.start(service)
    upstream = Upstream(js, subjects, DISPATCH)
    incident = uuid4()
    assigned = ResponderAssignedV1(
        incident_id=incident,
        dispatch_id=uuid4(),
        responder_id="co-1",
        school_id="s0",
        risk=RiskLevel.HIGH,
        assigned_at=datetime.now(UTC),
        rule="least_loaded",
    )
    resolved = DispatchStatusChangedV1(
        incident_id=incident,
        dispatch_id=assigned.dispatch_id,
        responder_id="co-1",
        school_id="s0",
        student_ref="stu-3",
        risk=RiskLevel.HIGH,
        status="resolved",
        at=datetime.now(UTC),
    )
    await feed_poison(upstream, subjects.responder_assigned, assigned, incident)
    await feed_poison(upstream, subjects.dispatch_status_changed, resolved, incident)
    await upstream.publish(subjects.responder_assigned, assigned, incident)
    await upstream.publish(subjects.dispatch_status_changed, resolved, incident)

    # Each feed parks what it reads: every kind on the subject it consumes, and on other
    # subjects the three whose fault is in the headers (a feed never parks a payload of a
    # kind it passes over).  Care teams read assignments; plans and records read both.
    every, headers_only = len(POISON), 3
    await eventually(lambda: count_parked(js, subjects, INTAKE, every + headers_only), 10)
    await eventually(
        lambda: count_parked(js, subjects, FOLLOWUP, 2 * every + every + headers_only), 10
    )
    await eventually(lambda: count_parked(js, subjects, RECORDS, 2 * every), 10)
    status, plans = await eventually(lambda: plans_of(harness, incident))
    assert status == 200
    assert len(plans) == 1
    team = await harness.call("GET", "intake", "/dlq")
    assert all(row["failure"] == "poison" for row in team[1])


async def plans_of(harness: Harness, incident: UUID) -> Any:
    status, plans = await harness.call("GET", "followup", f"/plans?incident_id={incident}")
    return (status, plans) if status == 200 and plans else None


async def test_poison_on_followups_events_is_parked_by_records(
    harness: Harness, js: JetStreamContext, subjects: Subjects
) -> None:
    await harness.start("records")
    upstream = Upstream(js, subjects, FOLLOWUP)
    incident = uuid4()
    opened = PlanOpenedV1(
        plan_id=uuid4(),
        incident_id=incident,
        school_id="s0",
        student_ref="stu-3",
        risk=RiskLevel.HIGH,
        owner_id="co-1",
        protocol_version=1,
        checkins=4,
        opened_at=datetime.now(UTC),
    )
    await feed_poison(upstream, subjects.plan_opened, opened, incident)
    await upstream.publish(subjects.plan_opened, opened, incident)

    await eventually(lambda: count_parked(js, subjects, RECORDS, len(POISON)), 10)
    _, timeline = await eventually(lambda: timeline_of(harness, incident))
    assert [e["type"] for e in timeline["entries"]] == ["plan_opened"]


async def timeline_of(harness: Harness, incident: UUID) -> Any:
    status, body = await harness.call("GET", "records", f"/incidents/{incident}/timeline")
    return (status, body) if status == 200 else None


async def test_a_redriven_fixed_message_is_applied_exactly_once(
    harness: Harness, js: JetStreamContext, subjects: Subjects
) -> None:
    await harness.start("dispatch")
    await harness.seed_roster()
    upstream = Upstream(js, subjects, INTAKE)
    incident = uuid4()
    broken = {"type": "intake.incident_reported.v1", "incident_id": str(incident)}  # no school
    await upstream.publish(
        subjects.incident_reported,
        raw=msgspec_json(broken),
        schema="intake.incident_reported.v1",
        incident=incident,
    )
    await eventually(lambda: count_parked(js, subjects, DISPATCH, 1), 10)
    status, rows = await harness.call("GET", "dispatch", "/dlq")
    assert status == 200
    (row,) = rows
    assert row["failure"] == "poison"
    assert row["settled"] is None
    assert row["reason"].startswith("does not fit the contract: school_id")

    fixed = {**broken, **msgspec_builtins(reported(incident)), "incident_id": str(incident)}
    redrive = f"/dlq/{row['seq']}/redrive"
    both = await asyncio.gather(  # two operators at once: one applies it, the other is told
        harness.call("POST", "dispatch", redrive, {"payload": fixed}),
        harness.call("POST", "dispatch", redrive, {"payload": fixed}),
    )
    assert sorted(status for status, _ in both) == [201, 409], both
    body = next(reply for status, reply in both if status == 201)
    assert body["action"] == "redriven"
    assert body["changed"] >= 1
    again, refusal = await harness.call("POST", "dispatch", f"/dlq/{row['seq']}/redrive", {})

    assert again == 409
    assert refusal["field"] == "seq"
    _, response = await eventually(lambda: answered(harness, f"/incidents/{incident}/response"))
    assert response["current"]["responder_id"] == "r-a"
    assert len(response["dispatches"]) == 1  # applied once
    _, rows = await harness.call("GET", "dispatch", "/dlq")
    assert rows[0]["settled"] == "redriven"


def msgspec_json(data: dict[str, Any]) -> bytes:
    import msgspec

    return msgspec.json.encode(data)


def msgspec_builtins(message: Any) -> dict[str, Any]:
    import msgspec

    built: dict[str, Any] = msgspec.to_builtins(message)
    return built
