"""The crisis workflow at dispatch, on a real nats-server and both stores, with a short policy.

Given a roster (two counselors, a supervisor, a district crisis lead) and a
policy giving one or two seconds to acknowledge, when reports arrive at intake,
then dispatch pages, escalates, stops and re-assigns exactly as the rules say.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import nats
import pytest

from events.codec import decode, encode
from events.common import ErrorV1
from events.dispatch import AcknowledgeDispatchV1, DispatchReplyV1, ResponderPagedV1
from events.subjects import DISPATCH, Subjects
from tests.harness import Harness, admin_headers, eventually
from tests.replies import check_nats_reply
from tests.system.dispatch_fixtures import response, seed_roster, short_policy

pytestmark = pytest.mark.system


async def started(harness: Harness) -> Harness:
    await harness.start("intake")
    await harness.start("dispatch")
    await seed_roster(harness)
    return harness


@pytest.fixture
async def harness(
    subjects: Subjects, nats_url: str, store: dict[str, str], clean_streams: None, tmp_path: Path
) -> AsyncIterator[Harness]:
    harness = Harness(subjects, nats_url, store, config_file=short_policy(tmp_path, 1))
    yield await started(harness)
    await harness.stop_all()


@pytest.fixture
async def slow_harness(
    subjects: Subjects, nats_url: str, store: dict[str, str], clean_streams: None, tmp_path: Path
) -> AsyncIterator[Harness]:
    harness = Harness(subjects, nats_url, store, config_file=short_policy(tmp_path, 3))
    yield await started(harness)
    await harness.stop_all()


async def reported(harness: Harness) -> str:
    status, body = await harness.report(risk="high", categories=["acute_distress"])
    assert status == 201, body
    incident_id: str = body["incident_id"]
    await eventually(lambda: _has_dispatch(harness, incident_id))
    return incident_id


async def _has_dispatch(harness: Harness, incident_id: str) -> bool:
    return bool((await response(harness, incident_id)).get("dispatches"))


def steps(view: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    return [(e["reason"], e["step"], e["to"]) for e in view["escalations"]]


async def test_silence_escalates_along_the_chain_to_the_top(harness: Harness) -> None:
    incident = await reported(harness)

    async def exhausted() -> dict[str, Any] | None:
        view = await response(harness, incident)
        return view if view["phase"] == "exhausted" else None

    view = await eventually(exhausted, timeout=15)
    assert steps(view) == [
        ("ack_timeout", "next_responder", "co-b"),
        ("ack_timeout", "supervisor", "sup-d"),
        ("ack_timeout", "district_crisis_lead", "dcl-e"),
        ("ack_timeout", "exhausted", None),
    ]
    froms = [e["from_dispatch_id"] for e in view["escalations"]]
    assert len(froms) == len(set(froms))  # no deadline fired twice


async def test_an_acknowledgement_stops_the_escalation(slow_harness: Harness) -> None:
    incident = await reported(slow_harness)
    first = (await response(slow_harness, incident))["dispatches"][0]

    status, body = await slow_harness.call(
        "POST",
        "dispatch",
        f"/dispatches/{first['dispatch_id']}/ack",
        {"responder_id": first["responder_id"]},
    )
    await asyncio.sleep(4)  # past the acknowledgement deadline

    assert status == 200, body
    view = await response(slow_harness, incident)
    assert view["escalations"] == []
    assert view["current"]["state"] == "acknowledged"


async def test_a_decline_re_assigns_at_once(slow_harness: Harness) -> None:
    incident = await reported(slow_harness)
    first = (await response(slow_harness, incident))["dispatches"][0]

    status, body = await slow_harness.call(
        "POST",
        "dispatch",
        f"/dispatches/{first['dispatch_id']}/decline",
        {"responder_id": first["responder_id"], "reason": "with another student"},
    )

    assert status == 200, body
    view = await response(slow_harness, incident)
    assert steps(view) == [("declined", "next_responder", "co-b")]
    assert [d["state"] for d in view["dispatches"]] == ["declined", "assigned"]


async def test_two_simultaneous_acknowledgements_have_exactly_one_winner(
    slow_harness: Harness,
) -> None:
    incident = await reported(slow_harness)

    async def escalated_once() -> dict[str, Any] | None:
        view = await response(slow_harness, incident)
        return view if len(view["dispatches"]) == 2 else None

    view = await eventually(escalated_once, timeout=10)
    late, current = view["dispatches"]

    results = await asyncio.gather(
        *(
            slow_harness.call(
                "POST",
                "dispatch",
                f"/dispatches/{d['dispatch_id']}/ack",
                {"responder_id": d["responder_id"]},
            )
            for d in (late, current)
        )
    )

    assert sorted(status for status, _ in results) == [200, 409]
    loser = next(body for status, body in results if status == 409)
    assert "already acknowledged by" in loser["error"]
    states = sorted(d["state"] for d in (await response(slow_harness, incident))["dispatches"])
    assert states in (["acknowledged", "escalated"], ["acknowledged", "stood_down"])


async def test_acknowledging_over_nats_request_reply_is_the_same_operation(
    slow_harness: Harness, nats_url: str, subjects: Subjects
) -> None:
    incident = await reported(slow_harness)
    first = (await response(slow_harness, incident))["dispatches"][0]
    nc = await nats.connect(nats_url)
    try:
        subject = subjects.command(DISPATCH, "acknowledge_dispatch")
        wrong = await nc.request(
            subject,
            encode(
                AcknowledgeDispatchV1(dispatch_id=first["dispatch_id"], responder_id="someone-else")
            ),
            timeout=5,
            headers=admin_headers(),
        )
        right = await nc.request(
            subject,
            encode(
                AcknowledgeDispatchV1(
                    dispatch_id=first["dispatch_id"], responder_id=first["responder_id"]
                )
            ),
            timeout=5,
            headers=admin_headers(),
        )
        malformed = await nc.request(
            subject, b'{"dispatch_id": "nope"}', timeout=5, headers=admin_headers()
        )
    finally:
        await nc.close()

    for answer in (wrong, right, malformed):
        check_nats_reply(
            DISPATCH, "acknowledge_dispatch", answer.headers or {}, decode(answer.data, Any)
        )
    assert decode(wrong.data, ErrorV1).field == "as"
    assert decode(right.data, DispatchReplyV1).state == "acknowledged"
    assert decode(malformed.data, ErrorV1).field == "dispatch_id"


async def test_the_responder_inbox_gets_a_page_without_student_data(
    slow_harness: Harness, nats_url: str, subjects: Subjects
) -> None:
    nc = await nats.connect(nats_url)
    received: list[bytes] = []

    async def on_message(msg: Any) -> None:
        received.append(msg.data)

    await nc.subscribe(subjects.inbox_all("co-a"), cb=on_message)
    try:
        await reported(slow_harness)
        await eventually(lambda: _true(bool(received)), timeout=5)
    finally:
        await nc.close()

    page = decode(received[0], ResponderPagedV1)
    assert page.kind == "page"
    assert page.message == "Open Lantern to view"
    assert b"stu-" not in received[0]


async def _true(value: bool) -> bool:
    return value


async def test_the_openapi_document_describes_every_dispatch_operation(
    slow_harness: Harness,
) -> None:
    status, document = await slow_harness.call("GET", "dispatch", "/openapi.json")

    assert status == 200
    assert document["openapi"].startswith("3.")
    ack = document["paths"]["/dispatches/{dispatch_id}/ack"]["post"]
    assert ack["operationId"] == "acknowledge_dispatch"
    assert "409" in ack["responses"]
    assert {
        "/dispatches",
        "/roster/import",
        "/dispatches/{dispatch_id}/decline",
        "/dispatches/{dispatch_id}/status",
    } <= set(document["paths"])
