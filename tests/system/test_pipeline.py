"""The pipeline end to end on a real nats-server, on SQLite and on PostgreSQL.

Given intake and dispatch running as real services,
when a report is accepted at intake,
then dispatch assigns a responder; and no re-delivery or re-publish doubles an effect.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import nats
import pytest
from nats.js import JetStreamContext

from events import headers as h
from events.intake import IncidentReportedV1
from events.subjects import DISPATCH, INTAKE, Subjects
from events.vocabulary import Category, RiskLevel
from lantern.services import builder
from plumbing.messaging.relay import Cursor
from services.dispatch.application import DispatchApplication
from services.dispatch.domain.response import IncidentResponse
from tests.harness import Harness, eventually

pytestmark = pytest.mark.system


@pytest.fixture
async def harness(
    subjects: Subjects, nats_url: str, store: dict[str, str], clean_streams: None
) -> AsyncIterator[Harness]:
    harness = Harness(subjects, nats_url, store)
    await harness.start("intake")
    await harness.start("dispatch")
    await harness.seed()
    yield harness
    await harness.stop_all()


@pytest.fixture
async def js(nats_url: str) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(nats_url)
    yield nc.jetstream()
    await nc.close()


def dispatch_app(harness: Harness) -> DispatchApplication:
    app = harness.running["dispatch"].process.app
    assert isinstance(app, DispatchApplication)
    return app


def assignments(harness: Harness) -> list[Any]:
    app = dispatch_app(harness)
    return [
        e
        for _, e in app.domain_events_after(0, 10_000)
        if isinstance(e, IncidentResponse.ResponderAssigned)
    ]


async def assigned_to(harness: Harness, incident_id: str) -> str | None:
    status, body = await harness.call("GET", "dispatch", f"/incidents/{incident_id}/response")
    if status != 200 or body["current"] is None:
        return None
    responder: str = body["current"]["responder_id"]
    return responder


async def settled(js: JetStreamContext, subjects: Subjects) -> bool:
    for partition in range(subjects.partitions):
        durable = f"{DISPATCH}-from-{INTAKE}-p{partition}"
        info = await js.consumer_info(subjects.stream(INTAKE), durable)
        if info.num_pending or info.num_ack_pending:
            return False
    return True


def reported(incident: UUID) -> IncidentReportedV1:
    return IncidentReportedV1(
        incident_id=incident,
        school_id="s0",
        student_ref="stu-9",
        categories=[Category.OTHER],
        risk=RiskLevel.MODERATE,
        reported_at=datetime.now(UTC),
    )


async def test_a_report_gets_a_responder_assigned_within_two_seconds(harness: Harness) -> None:
    status, body = await harness.report()
    assert status == 201

    responder = await eventually(lambda: assigned_to(harness, body["incident_id"]), timeout=2)

    assert responder == "r-a"


async def test_a_relay_that_lost_its_cursor_adopts_the_stream_and_publishes_nothing_twice(
    harness: Harness, js: JetStreamContext, subjects: Subjects
) -> None:
    for student in ("stu-1", "stu-2", "stu-3"):
        _, body = await harness.report(student_ref=student)
        incident_id: str = body["incident_id"]
        await eventually(lambda: assigned_to(harness, incident_id))  # noqa: B023
    stream_before = (await js.stream_info(subjects.stream(INTAKE))).state.messages
    await harness.stop("intake")
    offline = builder("intake")(harness.settings("intake"))  # the store, not running
    relay = offline.messaging.relay
    assert relay is not None
    cursor = relay.load_cursor()
    assert cursor is not None
    relay.save_cursor(Cursor(cursor.epoch, 0, 0, {}))  # as if the cursor row had been lost
    offline.app.close()

    await harness.start("intake")
    restarted = harness.running["intake"].process.messaging.relay
    assert restarted is not None
    await eventually(lambda: _true(restarted.status.state in ("idle", "publishing")))
    await eventually(lambda: settled(js, subjects))

    assert restarted.status.stream_seq == stream_before
    assert (await js.stream_info(subjects.stream(INTAKE))).state.messages == stream_before
    assert len(assignments(harness)) == 3


async def _true(value: bool) -> bool:
    return value


async def test_integration_events_carry_tracing_headers(
    harness: Harness, js: JetStreamContext, subjects: Subjects
) -> None:
    _, body = await harness.report()
    await eventually(lambda: assigned_to(harness, body["incident_id"]))

    reported = await js.get_last_msg(subjects.stream(INTAKE), subjects.incident_reported)
    assigned = await js.get_last_msg(subjects.stream(DISPATCH), subjects.responder_assigned)

    assert reported.headers is not None
    assert assigned.headers is not None
    assert reported.headers[h.INCIDENT_ID] == assigned.headers[h.INCIDENT_ID] == body["incident_id"]
    assert assigned.headers[h.CORRELATION_ID] == reported.headers[h.CORRELATION_ID]
    assert assigned.headers[h.CAUSATION_ID] == reported.headers[h.MSG_ID]
    assert b"note" not in (reported.data or b"")
