"""The whole path: intake -> dispatch -> follow-up -> intake -> dispatch (real NATS, both stores).

Given intake, dispatch and follow-up running as real services,
when a reported incident is acknowledged and resolved by its responder,
then follow-up opens the plan from dispatch's own events; and a check-in that
finds renewed risk reports a new incident linked to the first, which dispatch
picks up like any report.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from events.subjects import Subjects
from tests.harness import Harness, eventually

pytestmark = pytest.mark.system


@pytest.fixture
async def harness(
    subjects: Subjects, nats_url: str, store: dict[str, str], clean_streams: None
) -> AsyncIterator[Harness]:
    harness = Harness(subjects, nats_url, store)
    for service in ("intake", "dispatch", "followup"):
        await harness.start(service)
    await harness.seed()
    await harness.call(
        "POST",
        "dispatch",
        "/roster/responders",
        {
            "responder_id": "psy-1",
            "name": "Synthetic Psychologist",
            "role": "school_psychologist",
            "schools": ["s0"],
            "skills": ["suicide_risk_assessment"],
        },
    )
    yield harness
    await harness.stop_all()


async def current_dispatch(harness: Harness, incident_id: str) -> dict[str, Any] | None:
    status, body = await harness.call("GET", "dispatch", f"/incidents/{incident_id}/response")
    if status != 200 or not body.get("current"):
        return None
    current: dict[str, Any] = body["current"]
    return current


async def plan_for(harness: Harness, incident_id: str) -> dict[str, Any] | None:
    _, plans = await harness.call("GET", "followup", f"/plans?incident_id={incident_id}")
    return plans[0] if plans else None


async def linked(harness: Harness, incident_id: str) -> list[dict[str, Any]] | None:
    plan = await plan_for(harness, incident_id)
    return (plan or {}).get("linked_incidents") or None


async def test_renewed_risk_at_a_checkin_opens_a_linked_incident_that_dispatch_picks_up(
    harness: Harness,
) -> None:
    # Given an incident reported, assigned, acknowledged and resolved.
    status, reported = await harness.report(risk="high", categories=["self_harm"])
    assert status == 201, reported
    incident = reported["incident_id"]
    dispatch = await eventually(lambda: current_dispatch(harness, incident))
    path = f"/dispatches/{dispatch['dispatch_id']}"
    responder = dispatch["responder_id"]
    status, body = await harness.call(
        "POST",
        "dispatch",
        f"{path}/ack",
        {"dispatch_id": dispatch["dispatch_id"], "responder_id": responder},
    )
    assert status == 200, body
    for state in ("en_route", "with_student", "stabilized", "resolved"):
        status, body = await harness.call(
            "POST", "dispatch", f"{path}/status", {"responder_id": responder, "state": state}
        )
        assert status == 200, (state, body)

    # Then follow-up opened the plan from dispatch's events, owned by the responder.
    plan = await eventually(lambda: plan_for(harness, incident), timeout=10)
    assert plan["owner_id"] == responder
    assert [c["slot"] for c in plan["checkins"]] == ["24h", "72h", "7d", "30d"]

    # When the incident is closed at intake and a later check-in finds renewed risk,
    status, body = await harness.call(
        "POST", "intake", f"/incidents/{incident}/close", {"by": responder}
    )
    assert status == 200, body
    checkin = plan["checkins"][0]["checkin_id"]
    status, body = await harness.call(
        "POST",
        "followup",
        f"/checkins/{checkin}/complete",
        {
            "by": responder,
            "outcome": "renewed_risk",
            "risk": "high",
            "categories": ["suicidal_ideation"],
        },
    )
    assert status == 200, body

    # then intake holds a new incident linked to the first, and dispatch assigns it.
    (link,) = await eventually(lambda: linked(harness, incident), timeout=10)
    assert link["incident_id"] != incident
    assert link["linked_to_open"] is False
    new = await eventually(lambda: current_dispatch(harness, link["incident_id"]), timeout=10)
    assert new["responder_id"] == "psy-1"
    status, shown = await harness.call("GET", "intake", f"/incidents/{link['incident_id']}")
    assert status == 200
    assert shown.get("linked_incident_id", incident) == incident
