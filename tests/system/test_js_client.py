"""An outside client in JavaScript, written from the published AsyncAPI document alone,
reports an incident, receives the assignment and acknowledges it (the official NATS client).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator

import pytest

from events.subjects import Subjects
from tests.harness import Harness
from tests.js import node

pytestmark = pytest.mark.system


@pytest.fixture
async def harness(
    subjects: Subjects, nats_url: str, store: dict[str, str], clean_streams: None
) -> AsyncIterator[Harness]:
    harness = Harness(subjects, nats_url, store)
    for service in ("intake", "dispatch"):
        await harness.start(service)
    await harness.seed()  # school s0, responder r-a
    yield harness
    await harness.stop_all()


async def test_a_javascript_client_reports_receives_the_assignment_and_acknowledges(
    harness: Harness, nats_url: str, subjects: Subjects
) -> None:
    env = {
        **os.environ,
        "LANTERN_URL": harness.running["dispatch"].url,  # any service serves the document
        "NATS_URL": nats_url,
        "LANTERN_PREFIX": subjects.prefix,
        "REPORTER_TOKEN": harness.token("js-reporter", "reporter"),
        "RESPONDER_TOKEN": harness.token("r-a", "responder", ("s0",)),
        "SCHOOL_ID": "s0",
    }

    result = await asyncio.to_thread(node.run, "report-and-acknowledge.mjs", env=env, timeout=60)

    assert result.returncode == 0, result.stdout + result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["report_status"] == 201
    assert outcome["assignment_type"] == "dispatch.responder_assigned.v1"
    assert (outcome["responder_id"], outcome["ack_status"], outcome["state"]) == (
        "r-a",
        200,
        "acknowledged",
    )
    assert outcome["subjects"] == [
        subjects.command("intake", "report_incident"),
        subjects.responder_assigned,
        subjects.command("dispatch", "acknowledge_dispatch"),
    ]
    _, response = await harness.call(
        "GET", "dispatch", f"/incidents/{outcome['incident_id']}/response"
    )
    assert response["current"]["state"] == "acknowledged"
