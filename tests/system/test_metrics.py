"""Each service's ``/metrics`` after a scripted run holds the figures of that run.

The script: three reports; one acknowledged and resolved (so a follow-up plan
opens, with a one-second check-in that goes overdue), one acknowledged, one
left waiting.  Then every service is scraped and the figures compared with
what the script did.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from events.subjects import Subjects
from tests.harness import Harness, eventually
from tests.system.dispatch_fixtures import ROSTER, short_policy

pytestmark = pytest.mark.system


@pytest.fixture
async def harness(
    subjects: Subjects, nats_url: str, store: dict[str, str], clean_streams: None, tmp_path: Path
) -> AsyncIterator[Harness]:
    harness = Harness(subjects, nats_url, store, config_file=short_policy(tmp_path, 600))
    for service in ("intake", "dispatch", "followup"):
        await harness.start(service)
    yield harness
    await harness.stop_all()


async def scrape(harness: Harness, service: str) -> dict[tuple[str, tuple[Any, ...]], float]:
    """Every sample of a service's /metrics, by name and sorted labels."""
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(f"{harness.running[service].url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


async def first_dispatch(harness: Harness, incident_id: str) -> dict[str, Any]:
    async def found() -> dict[str, Any] | None:
        status, body = await harness.call("GET", "dispatch", f"/incidents/{incident_id}/response")
        return body["dispatches"][0] if status == 200 and body["dispatches"] else None

    return await eventually(found, timeout=15)


async def test_metrics_after_a_scripted_run_hold_its_figures(harness: Harness) -> None:
    await harness.call("POST", "intake", "/schools", {"school_id": "s0", "name": "S0"})
    await harness.call("POST", "dispatch", "/roster/import", {"responders": ROSTER})
    step = [{"label": "soon", "offset_s": 1}]
    status, _ = await harness.call(
        "POST",
        "followup",
        "/protocols",
        {
            "by": "admin",
            **dict.fromkeys(("low", "moderate", "high", "imminent"), step),
            "grace_s": 1,
            "referral_stall_s": 86400,
        },
    )
    assert status == 201
    incidents = []
    for student in ("stu-1", "stu-2", "stu-3"):
        status, body = await harness.report(student_ref=student)
        assert status == 201
        incidents.append(body["incident_id"])
    resolved, acknowledged, _waiting = [await first_dispatch(harness, i) for i in incidents]
    for row in (resolved, acknowledged):
        ack = {"responder_id": row["responder_id"]}
        status, _ = await harness.call(
            "POST", "dispatch", f"/dispatches/{row['dispatch_id']}/ack", ack
        )
        assert status == 200
    status, _ = await harness.call(
        "POST",
        "dispatch",
        f"/dispatches/{resolved['dispatch_id']}/status",
        {"responder_id": resolved["responder_id"], "state": "resolved"},
    )
    assert status == 200

    async def overdue() -> dict[tuple[str, tuple[Any, ...]], float] | None:
        samples = await scrape(harness, "followup")
        return samples if samples.get(("lantern_checkins_overdue", ())) == 1 else None

    followup = await eventually(overdue, timeout=20)
    intake = await scrape(harness, "intake")
    dispatch = await scrape(harness, "dispatch")

    report = (("method", "POST"), ("operation", "report_incident"), ("status", "201"))
    assert intake[("lantern_http_requests_total", report)] == 3
    assert intake[("lantern_service_info", (("service", "intake"),))] == 1
    assert intake[("lantern_events_stored", ())] >= 4  # the school and three reports, audit too
    states = {
        labels[0][1]: value
        for (name, labels), value in dispatch.items()
        if name == "lantern_dispatches"
    }
    assert (states["resolved"], states["acknowledged"], states["assigned"]) == (1, 1, 1)
    assert sum(states.values()) == 3
    acks = ("lantern_dispatch_time_to_acknowledge_seconds_count", ())
    assert dispatch[acks] == 2
    within_a_minute = ("lantern_dispatch_time_to_acknowledge_seconds_bucket", (("le", "60.0"),))
    assert dispatch[within_a_minute] == 2
    assert followup[("lantern_checkins", (("state", "overdue"),))] == 1

    # The pipeline's own figures: what intake's relay published, what dispatch's lanes decided.
    assert intake[("lantern_relay_published_total", ())] >= 4  # three reports, their audit
    assert intake[("lantern_relay_lag_events", ())] == 0
    assert intake[("lantern_relay_stopped", ())] == 0
    decided = sum(
        value
        for (name, labels), value in dispatch.items()
        if name == "lantern_consumer_processed_total"
        and dict(labels)["unit"].startswith("dispatch-from-intake")
    )
    assert decided == 3
    parked = [v for (n, _), v in dispatch.items() if n == "lantern_dead_letters_total"]
    assert parked
    assert set(parked) == {0}
