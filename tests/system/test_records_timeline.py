"""Timeline and replay across intake, dispatch and follow-up (real NATS, both stores).

Given the four services running, when an incident is reported, assigned,
acknowledged, reached, corrected, resolved and given a follow-up plan, then
records holds one merged timeline in order, with actors and causation links,
and replays the incident's exact state as of any chosen instant, both as it
was known then and as it is now known to have been true then.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from lantern import runfile
from lantern.cli import main
from tests.harness import Harness, eventually

pytestmark = pytest.mark.system

SERVICES = ("intake", "dispatch", "followup", "records")


@pytest.fixture
async def harness(
    subjects: Any, nats_url: str, store: dict[str, str], clean_streams: None
) -> AsyncIterator[Harness]:
    harness = Harness(subjects, nats_url, store)
    for service in SERVICES:
        await harness.start(service)
    await harness.seed()
    runfile.write(
        Path(store["data_dir"]),
        {
            "nats_url": nats_url,
            "prefix": subjects.prefix,
            "services": {s: harness.running[s].url for s in SERVICES},
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


async def timeline_with(
    harness: Harness, incident_id: str, kind: str, query: str = ""
) -> dict[str, Any] | None:
    status, body = await harness.call("GET", "records", f"/incidents/{incident_id}/timeline{query}")
    if status != 200 or not any(e["type"] == kind for e in body["entries"]):
        return None
    return body  # type: ignore[no-any-return]


async def complete_timeline(harness: Harness, incident_id: str) -> dict[str, Any] | None:
    """The timeline once every service's part of the story has reached records."""
    body = await timeline_with(harness, incident_id, "plan_opened")
    wanted = {"incident_corrected": 1, "dispatch_status_changed": 4, "plan_opened": 1}
    if body is None:
        return None
    counts = {k: sum(1 for e in body["entries"] if e["type"] == k) for k in wanted}
    return body if counts == wanted else None


def now() -> datetime:
    return datetime.now(UTC)


async def cli(*argv: str) -> tuple[int, Any]:
    """Run the ``lantern`` command (off the loop that runs the services)."""
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = await asyncio.to_thread(main, list(argv))
    return code, json.loads(out.getvalue() or "null")


async def test_an_incident_across_three_services_has_one_ordered_traced_timeline_and_replays(
    harness: Harness, store: dict[str, str]
) -> None:
    # Given an incident reported at intake (in the gym) and assigned by dispatch,
    before_report = now()
    status, reported = await harness.report(location="gym")
    assert status == 201, reported
    incident = reported["incident_id"]
    dispatch = await eventually(lambda: current_dispatch(harness, incident))
    responder, path = dispatch["responder_id"], f"/dispatches/{dispatch['dispatch_id']}"
    instant_assigned = now()

    # when the responder acknowledges and reaches the student,
    await asyncio.sleep(0.05)
    status, body = await harness.call(
        "POST", "dispatch", f"{path}/ack", {"responder_id": responder}
    )
    assert status == 200, body
    for state in ("en_route", "with_student"):
        status, body = await harness.call(
            "POST", "dispatch", f"{path}/status", {"responder_id": responder, "state": state}
        )
        assert status == 200, body
    await asyncio.sleep(0.05)
    instant_with_student = now()
    await asyncio.sleep(0.05)

    # intake corrects the location (it was the library all along),
    status, body = await harness.call(
        "POST",
        "intake",
        f"/incidents/{incident}/corrections",
        {
            "by": "t-1",
            "field": "location",
            "value": "library",
            "reason": "misheard on the phone",
            "effective_at": before_report.isoformat(),
        },
    )
    assert status == 200, body

    # and the responder resolves it, so follow-up opens a plan,
    for state in ("stabilized", "resolved"):
        status, body = await harness.call(
            "POST", "dispatch", f"{path}/status", {"responder_id": responder, "state": state}
        )
        assert status == 200, body
    plan = await eventually(lambda: plan_for(harness, incident), timeout=10)
    await asyncio.sleep(0.05)
    instant_planned = now()

    # then records holds one merged timeline, in order, with who and why.
    body = await eventually(lambda: complete_timeline(harness, incident), timeout=10)
    entries = body["entries"]
    by_type: dict[str, list[dict[str, Any]]] = {}
    for e in entries:
        by_type.setdefault(e["type"], []).append(e)
    story = [
        (e["type"], e["data"].get("status"))
        for e in entries
        if e["type"]
        in {
            "incident_reported",
            "responder_assigned",
            "dispatch_acknowledged",
            "dispatch_status_changed",
            "incident_corrected",
            "plan_opened",
        }
    ]
    assert story == [
        ("incident_reported", None),
        ("responder_assigned", None),
        ("dispatch_acknowledged", None),
        ("dispatch_status_changed", "en_route"),
        ("dispatch_status_changed", "with_student"),
        ("incident_corrected", None),
        ("dispatch_status_changed", "stabilized"),
        ("plan_opened", None),  # follow-up opens the plan once the student is stabilized
        ("dispatch_status_changed", "resolved"),
    ]
    assert [e["at"] for e in entries] == sorted(e["at"] for e in entries)
    assert all(e["recorded_at"] for e in entries)
    assert {e["service"] for e in entries} >= {"intake", "dispatch", "followup"}

    (reported_e,) = by_type["incident_reported"]
    (assigned_e,) = by_type["responder_assigned"]
    (acked_e,) = by_type["dispatch_acknowledged"]
    (corrected_e,) = by_type["incident_corrected"]
    (plan_e,) = by_type["plan_opened"]
    stabilized_e = by_type["dispatch_status_changed"][2]
    # Who reported: the authenticated caller of the request (the harness acts as test-admin),
    # found through the audit entry of that request, with its role.
    assert (reported_e["actor"], reported_e["role"]) == ("test-admin", "admin")
    assert (assigned_e["actor"], assigned_e["role"]) == ("service:dispatch", "system")
    assert (acked_e["actor"], acked_e["role"]) == (responder, "counselor")
    assert corrected_e["actor"] == "t-1"
    assert plan_e["actor"] == "service:followup"
    assert {e["actor"] for e in by_type["dispatch_status_changed"]} == {responder}
    # Causation: dispatch acted on intake's report; follow-up on dispatch's "stabilized".
    assert assigned_e["causation_id"] == reported_e["event_id"]
    assert assigned_e["correlation_id"] == reported_e["correlation_id"]
    assert plan_e["causation_id"] == stabilized_e["event_id"]
    service, epoch, aggregate, version = reported_e["event_id"].split("/")
    assert (service, aggregate, version) == ("intake", incident, "1")  # and the store's epoch
    assert len(epoch) == 12

    # Replay as of three chosen instants gives the exact states.
    def at(e: dict[str, Any]) -> str:
        return str(e["at"])

    with_student_e = by_type["dispatch_status_changed"][1]
    quiet_dispatch = {
        "dispatch_id": dispatch["dispatch_id"],
        "responder_id": responder,
        "assigned_at": at(assigned_e),
        "handed_off_to": "",
        "escalations": 0,
        "declines": 0,
        "no_responder_eligible": False,
    }
    expected = {
        instant_assigned: {
            **quiet_dispatch,
            "state": "assigned",
            "acknowledged_at": None,
            "with_student_at": None,
        },
        instant_with_student: {
            **quiet_dispatch,
            "state": "with_student",
            "acknowledged_at": at(acked_e),
            "with_student_at": at(with_student_e),
        },
        instant_planned: {
            **quiet_dispatch,
            "state": "resolved",
            "acknowledged_at": at(acked_e),
            "with_student_at": at(with_student_e),
        },
    }
    states = {}
    for instant, dispatch_state in expected.items():
        code, shown = await cli(
            "--data-dir",
            store["data_dir"],
            "timeline",
            incident,
            "--as-of",
            instant.isoformat(),
            "--json",
        )
        assert code == 0
        assert shown["incident_id"] == incident
        assert shown["state"]["dispatch"] == dispatch_state
        assert all(e["recorded_at"] <= instant.isoformat() for e in shown["entries"])
        states[instant] = shown
    assigned_state = states[instant_assigned]["state"]
    assert assigned_state["incident"]["status"] == "open"
    assert assigned_state["followup"]["plan_id"] is None
    planned = states[instant_planned]["state"]["followup"]
    assert (planned["plan_id"], planned["owner_id"]) == (plan["plan_id"], responder)

    # The correction is shown both ways: known then (gym) and true then (library).
    then = states[instant_with_student]
    assert then["state"]["incident"]["location"] == "gym"
    assert then["true_state"]["incident"]["location"] == "library"
    assert states[instant_planned]["state"]["incident"]["location"] == "library"
