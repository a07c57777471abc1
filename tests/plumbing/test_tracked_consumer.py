"""The idempotent consumer on a real nats-server: retry with delay, then park, then move on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import nats
import pytest
from eventsourcing.domain import Aggregate
from nats.js import JetStreamContext

from events import headers as h
from events.codec import encode
from events.intake import IncidentReportedV1
from events.subjects import INTAKE, Subjects
from events.vocabulary import Category, RiskLevel
from plumbing.domain import Trace
from plumbing.messaging.consumer import TrackedConsumer
from plumbing.messaging.host import MessagingHost, Subscription
from plumbing.store.application import LanternApplication
from tests.harness import eventually

pytestmark = pytest.mark.system


class Probe(LanternApplication):
    name = "probe"


def event(school: str) -> IncidentReportedV1:
    return IncidentReportedV1(
        incident_id=uuid4(),
        school_id=school,
        student_ref="stu-1",
        categories=[Category.OTHER],
        risk=RiskLevel.LOW,
        reported_at=datetime.now(UTC),
    )


@pytest.fixture
async def js(nats_url: str, clean_streams: None) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(nats_url)
    yield nc.jetstream()
    await nc.close()


async def test_a_failing_message_is_retried_then_parked_and_the_next_one_flows(
    nats_url: str, subjects: Subjects, js: JetStreamContext
) -> None:
    app = Probe(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    attempts: list[str] = []
    processed: list[str] = []

    def decide(message: Any, trace: Trace) -> Sequence[Aggregate]:
        attempts.append(message.school_id)
        if message.school_id == "boom":
            raise RuntimeError("synthetic failure")
        processed.append(message.school_id)
        return []

    consumer = TrackedConsumer(
        app=app,
        name="probe",
        upstream=INTAKE,
        message_type=IncidentReportedV1,
        decide=decide,
        dlq_subject=subjects.dlq("probe"),
        dlq_stream=subjects.dlq_stream,
        max_deliveries=3,
        backoff_s=(0.1, 0.2),
    )
    host = MessagingHost(
        nats_url=nats_url,
        subjects=subjects,
        subscriptions=[
            Subscription(
                consumer,
                subjects.stream(INTAKE),
                subjects.stream_subjects(INTAKE),
                "probe-from-intake",
            )
        ],
    )
    stop = asyncio.Event()
    task = asyncio.create_task(host.run(stop))
    try:
        await eventually(lambda: _true(host.connected))
        for position, school in ((1, "boom"), (2, "fine")):
            await js.publish(
                subjects.incident_reported,
                encode(event(school)),
                headers={h.POSITION: str(position), h.MSG_ID: f"m{position}"},
            )

        await eventually(lambda: _true(processed == ["fine"]), timeout=15)

        assert attempts == ["boom", "boom", "boom", "fine"]  # strictly in order
        parked = await js.get_last_msg(subjects.dlq_stream, subjects.dlq("probe"))
        assert parked.headers is not None
        assert "synthetic failure" in parked.headers[h.ERROR]
        assert parked.headers[h.DELIVERIES] == "3"
        assert app.processed_position(INTAKE) == 2
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        app.close()


async def _true(value: bool) -> bool:
    return value
