"""The pipeline end to end on a real nats-server, on SQLite and on PostgreSQL.

Given intake and dispatch running as real services,
when a report is accepted at intake,
then dispatch assigns a responder; and no re-delivery or re-publish doubles an effect.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import nats
import pytest
from nats.js import JetStreamContext

from events import headers as h
from events.subjects import DISPATCH, INTAKE, Subjects
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
    info = await js.consumer_info(subjects.stream(INTAKE), f"{DISPATCH}-from-{INTAKE}")
    return bool(info.num_pending == 0 and info.num_ack_pending == 0)


async def test_a_report_gets_a_responder_assigned_within_two_seconds(harness: Harness) -> None:
    status, body = await harness.report()
    assert status == 201

    responder = await eventually(lambda: assigned_to(harness, body["incident_id"]), timeout=2)

    assert responder == "r-a"


async def test_a_message_delivered_twice_changes_nothing(
    harness: Harness, js: JetStreamContext, subjects: Subjects
) -> None:
    _, body = await harness.report()
    await eventually(lambda: assigned_to(harness, body["incident_id"]))
    before = len(assignments(harness))
    original = await js.get_last_msg(subjects.stream(INTAKE), subjects.incident_reported)

    # The same event again, under a new message id so JetStream stores and delivers it.
    again = dict(original.headers or {})
    again[h.MSG_ID] = again[h.MSG_ID] + "/again"
    ack = await js.publish(original.subject or "", original.data or b"", headers=again)
    assert not ack.duplicate
    await eventually(lambda: settled(js, subjects))

    assert len(assignments(harness)) == before == 1


async def test_the_relay_republishing_from_position_zero_has_no_duplicate_effect(
    harness: Harness, js: JetStreamContext, subjects: Subjects
) -> None:
    for student in ("stu-1", "stu-2", "stu-3"):
        _, body = await harness.report(student_ref=student)
        incident_id: str = body["incident_id"]
        await eventually(lambda: assigned_to(harness, incident_id))  # noqa: B023
    stream_before = (await js.stream_info(subjects.stream(INTAKE))).state.messages
    relay = harness.running["intake"].process.messaging.relay
    assert relay is not None

    relay.position = 0
    await relay.publish_pending(js)
    await eventually(lambda: settled(js, subjects))

    # three reports and their audit entries, none of them stored twice
    assert (await js.stream_info(subjects.stream(INTAKE))).state.messages == stream_before
    assert len(assignments(harness)) == 3


async def test_a_malformed_message_is_parked_and_the_next_good_one_is_processed(
    harness: Harness, js: JetStreamContext, subjects: Subjects
) -> None:
    poison_headers = {h.MSG_ID: "poison-1", h.POSITION: "999999", h.SOURCE: INTAKE}
    await js.publish(subjects.incident_reported, b'{"type": "garbage"', headers=poison_headers)

    _, body = await harness.report()

    assert await eventually(lambda: assigned_to(harness, body["incident_id"])) == "r-a"
    parked = await js.get_last_msg(subjects.dlq_stream, subjects.dlq(f"{DISPATCH}-from-{INTAKE}"))
    assert parked.data == b'{"type": "garbage"'
    assert parked.headers is not None
    assert parked.headers[h.ERROR].startswith("malformed")
    assert parked.headers[h.ORIGINAL_SUBJECT] == subjects.incident_reported


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
