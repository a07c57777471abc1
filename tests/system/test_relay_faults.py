"""The relay under faults: it stops where it must, says so, and never lets a message be skipped.

Each test runs intake and dispatch on a real nats-server, on SQLite and on
PostgreSQL, and ends with the shared invariants (no accepted report lost,
none dispatched twice).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import nats
import psycopg
import pytest
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy
from nats.js.errors import APIError

from events import headers as h
from events.subjects import INTAKE, Subjects
from plumbing.messaging.streams import provision
from tests.harness import Harness, eventually
from tests.invariants import assert_invariants

pytestmark = [pytest.mark.system, pytest.mark.faults]


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


async def readyz(harness: Harness, service: str) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient(timeout=5) as client:
        response = await client.get(f"{harness.running[service].url}/readyz")
    return response.status_code, response.json()


async def unready_because(harness: Harness, service: str, words: str) -> str | None:
    status, body = await readyz(harness, service)
    if status == 503:
        return next((p for p in body["problems"] if words in p), None)
    return None


async def dispatched(harness: Harness, incidents: list[str]) -> bool:
    status, rows = await harness.call("GET", "dispatch", "/dispatches")
    return status == 200 and {r["incident_id"] for r in rows} >= set(incidents)


async def report(harness: Harness, student: str) -> str:
    status, body = await harness.report(student_ref=student)
    assert status == 201, body
    incident: str = body["incident_id"]
    return incident


def invariants(harness: Harness, accepted: list[str]) -> None:
    assert_invariants({s: harness.settings(s) for s in ("intake", "dispatch")}, accepted)


async def test_a_refused_publish_stops_the_relay_at_that_message_and_nothing_passes_it(
    harness: Harness, js: JetStreamContext, subjects: Subjects
) -> None:
    accepted = [await report(harness, "stu-1")]
    await eventually(lambda: dispatched(harness, accepted))
    stream = subjects.stream(INTAKE)
    info = await js.stream_info(stream)
    config = info.config
    config.max_msgs, config.discard = info.state.messages + 1, DiscardPolicy.NEW  # one more
    await js.update_stream(config=config)

    accepted += [await report(harness, f"stu-{n}") for n in (2, 3, 4)]
    problem = await eventually(lambda: unready_because(harness, "intake", "relay stalled"), 20)

    assert "refused" in problem
    refused_at = int(problem.split("position ")[1].split(" ")[0])
    last = await js.get_msg(stream, seq=(await js.stream_info(stream)).state.last_seq)
    assert int((last.headers or {})[h.POSITION]) < refused_at  # nothing after it got through

    config.max_msgs = -1
    await js.update_stream(config=config)
    await eventually(lambda: dispatched(harness, accepted), 30)
    status, _ = await readyz(harness, "intake")
    assert status == 200
    invariants(harness, accepted)


async def test_a_stream_cannot_be_purged_and_a_lost_stream_is_published_again(
    harness: Harness, js: JetStreamContext, subjects: Subjects
) -> None:
    accepted = [await report(harness, f"stu-{n}") for n in range(3)]
    await eventually(lambda: dispatched(harness, accepted))
    stream = subjects.stream(INTAKE)
    with pytest.raises(APIError):
        await js.purge_stream(stream)  # deny_purge: the relay's chain stays where it was

    # Everything lost at once (a wiped server, an operator's mistake): provisioned again.
    held = (await js.stream_info(stream)).state.messages
    await js.delete_stream(stream)
    await provision(js, subjects)
    accepted.append(await report(harness, "stu-after"))

    await eventually(lambda: dispatched(harness, accepted), 30)
    await eventually(lambda: _at_least(js, stream, held + 2), 30)  # the old ones again, and more
    invariants(harness, accepted)


async def _at_least(js: JetStreamContext, stream: str, count: int) -> bool:
    return bool((await js.stream_info(stream)).state.messages >= count)


async def test_a_forged_high_position_stops_the_relay_until_an_operator_starts_a_new_epoch(
    harness: Harness, js: JetStreamContext, subjects: Subjects
) -> None:
    accepted = [await report(harness, "stu-1")]
    await eventually(lambda: dispatched(harness, accepted))
    stream = subjects.stream(INTAKE)
    genuine = await js.get_last_msg(stream, subjects.incident_reported)
    forged = dict(genuine.headers or {})
    forged.update({h.POSITION: "1000000000", h.MSG_ID: "forged-1"})
    forged.pop(h.PREVIOUS)
    forged.pop(h.EXPECTED_LAST_SEQUENCE)
    await js.publish(genuine.subject or "", genuine.data or b"", headers=forged)

    accepted.append(await report(harness, "stu-2"))
    problem = await eventually(lambda: unready_because(harness, "intake", "relay stopped"), 20)
    assert "store regression" in problem
    assert "1000000000" in problem
    assert not await dispatched(harness, accepted)  # held back, visibly: not skipped

    status, body = await harness.call(
        "POST", "intake", "/relay/epoch", {"reason": "a forged message in the stream"}
    )
    assert status == 201, body
    await eventually(lambda: dispatched(harness, accepted), 30)
    assert (await readyz(harness, "intake"))[0] == 200
    parked = await harness.call("GET", "dispatch", "/dlq")
    assert [p["reason"] for p in parked[1]] == [f"missing or bad header {h.PREVIOUS}"]
    invariants(harness, accepted)


async def test_a_store_recreated_under_a_running_system_is_named_and_nothing_is_skipped(
    harness: Harness, js: JetStreamContext, subjects: Subjects, store: dict[str, str]
) -> None:
    before = [await report(harness, f"stu-{n}") for n in range(3)]
    await eventually(lambda: dispatched(harness, before))
    await harness.stop("intake")
    wipe_intake_store(store)
    await harness.start("intake")
    await harness.call("POST", "intake", "/schools", {"school_id": "s0", "name": "S0"})

    after = [await report(harness, "stu-new")]  # position 1 or so of a new store
    problem = await eventually(lambda: unready_because(harness, "intake", "relay stopped"), 20)
    assert "epoch" in problem
    assert not await dispatched(harness, after)

    status, body = await harness.call(
        "POST", "intake", "/relay/epoch", {"reason": "intake's database was recreated"}
    )
    assert status == 201, body
    assert await eventually(lambda: dispatched(harness, after), 30)
    assert (await readyz(harness, "intake"))[0] == 200


def wipe_intake_store(store: dict[str, str]) -> None:
    if store["store"] == "sqlite":
        for name in os.listdir(store["data_dir"]):
            if name.startswith("intake"):
                os.remove(Path(store["data_dir"]) / name)
        return
    with psycopg.connect(store["postgres_dsn"], autocommit=True) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename LIKE %s",
            (store["postgres_schema"], "intake%"),
        ).fetchall()
        for (table,) in rows:
            conn.execute(f'DROP TABLE "{store["postgres_schema"]}"."{table}" CASCADE')
