"""Outages: NATS stops, services are killed mid-way; nothing is lost, nothing happens twice.

These tests run their own nats-server (the 2.15 wheel) so they can stop it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import nats
import pytest

from events.subjects import INTAKE, Subjects
from lantern.natsserver import free_port
from services.dispatch.domain.response import IncidentResponse
from tests.harness import Harness, admin_headers, eventually, install_keys
from tests.nats_process import OwnNats

pytestmark = [pytest.mark.system, pytest.mark.faults]


@pytest.fixture
async def harness(
    subjects: Subjects, own_nats: OwnNats, store: dict[str, str]
) -> AsyncIterator[Harness]:
    harness = Harness(subjects, own_nats.url, store)
    yield harness
    await harness.stop_all()


async def assigned_count(harness: Harness, incident_id: str) -> int:
    app = harness.running["dispatch"].process.app
    return sum(
        1
        for _, e in app.domain_events_after(0, 10_000)
        if isinstance(e, IncidentResponse.ResponderAssigned)
        and str(app.repository.get(e.originator_id).incident_id) == incident_id
    )


async def current_responder(harness: Harness, incident_id: str) -> str | None:
    status, body = await harness.call("GET", "dispatch", f"/incidents/{incident_id}/response")
    return body["current"]["responder_id"] if status == 200 and body["current"] else None


async def test_a_report_accepted_while_nats_is_down_is_dispatched_after_it_returns(
    harness: Harness, own_nats: OwnNats
) -> None:
    await harness.start("intake")
    await harness.start("dispatch")
    await harness.seed()
    own_nats.stop()

    status, body = await harness.report()
    assert status == 201  # accepted and durable although the broker is down

    own_nats.start()
    assert await eventually(lambda: current_responder(harness, body["incident_id"]), 30) == "r-a"
    assert await assigned_count(harness, body["incident_id"]) == 1


async def test_services_start_while_nats_is_down_and_catch_up(
    harness: Harness, own_nats: OwnNats
) -> None:
    own_nats.stop()
    await harness.start("intake")
    await harness.start("dispatch")
    await harness.seed()
    _, body = await harness.report()

    own_nats.start()

    assert await eventually(lambda: current_responder(harness, body["incident_id"]), 30) == "r-a"


def serve(service: str, settings_env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, **settings_env}
    return subprocess.Popen(
        [sys.executable, "-m", "lantern.cli", "serve", service, "--http-port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def test_intake_killed_between_storing_and_publishing_delivers_exactly_once(
    harness: Harness, own_nats: OwnNats, subjects: Subjects, store: dict[str, str], tmp_path: Path
) -> None:
    await harness.start("dispatch")
    env = {
        "LANTERN_NATS_URL": own_nats.url,
        "LANTERN_PREFIX": subjects.prefix,
        "LANTERN_DATA_DIR": str(tmp_path / "intake"),
        "LANTERN_JWKS": str(install_keys(tmp_path / "intake")),
        "LANTERN_STORE": store["store"],
        "LANTERN_POSTGRES_DSN": store.get("postgres_dsn", ""),
        "LANTERN_POSTGRES_SCHEMA": store.get("postgres_schema", ""),
    }
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    own_nats.stop()  # the relay cannot publish: the report stays stored-but-unpublished
    intake = serve(INTAKE, env, port)
    try:
        async with httpx.AsyncClient(timeout=5, headers=admin_headers()) as client:

            async def up() -> bool:
                try:
                    return (await client.get(f"{url}/health")).status_code == 200
                except httpx.HTTPError:
                    return False

            await eventually(up, 15)
            await client.post(f"{url}/schools", json={"school_id": "s0", "name": "S0"})
            report = await client.post(
                f"{url}/incidents",
                json={
                    "school_id": "s0",
                    "student_ref": "stu-9",
                    "categories": ["other"],
                    "risk": "low",
                    "reporter_id": "t-1",
                },
            )
            assert report.status_code == 201
            incident_id = report.json()["incident_id"]

            intake.send_signal(signal.SIGKILL)  # stored, never published
            intake.wait(10)
            own_nats.start()
            await harness.call(
                "POST",
                "dispatch",
                "/roster/responders",
                {"responder_id": "r-a", "name": "A", "role": "counselor", "schools": ["s0"]},
            )
            intake = serve(INTAKE, env, port)
            await eventually(up, 15)

            assert await eventually(lambda: current_responder(harness, incident_id), 30) == "r-a"
            nc = await nats.connect(own_nats.url)
            js = nc.jetstream()
            info = await js.stream_info(subjects.stream(INTAKE))
            published = [
                subjects.family((await js.get_msg(subjects.stream(INTAKE), seq=seq)).subject or "")
                for seq in range(1, info.state.last_seq + 1)
            ]
            await nc.close()
            assert published.count(subjects.incident_reported) == 1  # audit entries aside
            assert await assigned_count(harness, incident_id) == 1
    finally:
        intake.kill()
        intake.wait(10)


async def test_dispatch_killed_and_restarted_resumes_without_doubling(
    harness: Harness, own_nats: OwnNats
) -> None:
    await harness.start("intake")
    await harness.start("dispatch")
    await harness.seed()
    _, first = await harness.report(student_ref="stu-1")
    await eventually(lambda: current_responder(harness, first["incident_id"]))
    await harness.stop("dispatch")

    _, second = await harness.report(student_ref="stu-2")
    await harness.start("dispatch")

    await eventually(lambda: current_responder(harness, second["incident_id"]), 30)
    assert await assigned_count(harness, first["incident_id"]) == 1
    assert await assigned_count(harness, second["incident_id"]) == 1
