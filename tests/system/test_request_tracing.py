"""A caller's correlation id is answered back and carried onto the events its report caused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from events.subjects import Subjects
from tests.harness import Harness, eventually

pytestmark = pytest.mark.system

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture
async def harness(
    subjects: Subjects, nats_url: str, store: dict[str, str], clean_streams: None
) -> AsyncIterator[Harness]:
    harness = Harness(subjects, nats_url, store)
    for service in ("intake", "dispatch", "records"):
        await harness.start(service)
    await harness.seed()
    yield harness
    await harness.stop_all()


async def test_the_callers_correlation_id_comes_back_and_is_on_every_event_it_caused(
    harness: Harness,
) -> None:
    report = {
        "school_id": "s0",
        "student_ref": "stu-7",
        "categories": ["acute_distress"],
        "risk": "moderate",
        "reporter_id": "t-1",
    }
    headers = {
        **harness.headers(),
        "X-Correlation-Id": "district-ticket-4711",
        "traceparent": TRACEPARENT,
    }
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(
            f"{harness.running['intake'].url}/incidents", json=report, headers=headers
        )
    assert response.status_code == 201
    assert response.headers["X-Correlation-Id"] == "district-ticket-4711"
    incident_id = response.json()["incident_id"]

    async def timeline() -> list[dict[str, Any]] | None:
        status, body = await harness.call("GET", "records", f"/incidents/{incident_id}/timeline")
        types = {e["type"] for e in body.get("entries", [])} if status == 200 else set()
        return body["entries"] if {"incident_reported", "responder_assigned"} <= types else None

    entries = await eventually(timeline, timeout=20)
    assert {e["correlation_id"] for e in entries} == {"district-ticket-4711"}


async def test_a_request_without_one_gets_a_fresh_correlation_id(harness: Harness) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(
            f"{harness.running['intake'].url}/schools",
            headers={**harness.headers(), "X-Correlation-Id": "bad id with spaces"},
        )
    assert response.status_code == 200
    given = response.headers["X-Correlation-Id"]
    assert given != "bad id with spaces"
    assert len(given) == 36
