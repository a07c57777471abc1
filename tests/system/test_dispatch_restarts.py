"""Durable timers: a dispatch service killed across a deadline escalates exactly once,
and two dispatch instances on one store never fire the same deadline twice.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from events.subjects import Subjects
from lantern.natsserver import free_port
from lantern.services import builder
from tests.harness import Harness, Running, eventually
from tests.system.dispatch_fixtures import response, seed_roster, short_policy

pytestmark = [pytest.mark.system, pytest.mark.faults]


@pytest.fixture
async def harness(
    subjects: Subjects, nats_url: str, store: dict[str, str], clean_streams: None, tmp_path: Path
) -> AsyncIterator[Harness]:
    harness = Harness(subjects, nats_url, store, config_file=short_policy(tmp_path, 2))
    yield harness
    await harness.stop_all()


def froms(view: dict[str, Any]) -> list[str | None]:
    return [e["from_dispatch_id"] for e in view["escalations"]]


async def test_dispatch_killed_across_a_deadline_escalates_exactly_once_after_restart(
    harness: Harness, subjects: Subjects, store: dict[str, str], nats_url: str
) -> None:
    await harness.start("intake")
    env = {
        **os.environ,
        "LANTERN_NATS_URL": nats_url,
        "LANTERN_PREFIX": subjects.prefix,
        "LANTERN_DATA_DIR": store["data_dir"],
        "LANTERN_STORE": store["store"],
        "LANTERN_POSTGRES_DSN": store.get("postgres_dsn", ""),
        "LANTERN_POSTGRES_SCHEMA": store.get("postgres_schema", ""),
        "LANTERN_CONFIG": harness.config_file,
    }
    port = free_port()
    url = f"http://127.0.0.1:{port}"

    def serve() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "lantern.cli", "serve", "dispatch", "--http-port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    async def healthy() -> bool:
        try:
            async with httpx.AsyncClient() as client:
                return (await client.get(f"{url}/health")).status_code == 200
        except httpx.HTTPError:
            return False

    dispatch = serve()
    try:
        await eventually(healthy, 15)
        harness.running["dispatch"] = Running(None, None, None, url)  # type: ignore[arg-type]
        await seed_roster(harness)
        _, body = await harness.report(risk="high", categories=["other"])
        incident = body["incident_id"]
        await eventually(lambda: _assigned(harness, incident), 10)

        dispatch.send_signal(signal.SIGKILL)
        dispatch.wait(10)
        await asyncio.sleep(3)  # the 2 s deadline passes while dispatch is down
        dispatch = serve()
        await eventually(healthy, 15)

        view = await eventually(lambda: _escalated(harness, incident), 10)
        first = view["escalations"][0]
        assert (first["reason"], first["to"]) == ("ack_timeout", "co-b")
        await asyncio.sleep(0.5)
        view = await response(harness, incident)
        assert len(froms(view)) == len(set(froms(view)))  # no deadline fired twice
    finally:
        harness.running.pop("dispatch", None)
        dispatch.kill()
        dispatch.wait(10)


async def test_two_dispatch_instances_never_fire_a_deadline_twice(
    harness: Harness,
) -> None:
    await harness.start("intake")
    await harness.start("dispatch")
    twin = builder("dispatch")(harness.settings("dispatch"))
    stop = asyncio.Event()
    twin_task = asyncio.create_task(twin.run(stop))
    try:
        await seed_roster(harness)
        incidents = []
        for n in range(3):
            _, body = await harness.report(
                student_ref=f"stu-twin-{n}", risk="high", categories=["other"]
            )
            incidents.append(body["incident_id"])

        for incident in incidents:
            view = await _wait_exhausted(harness, incident)
            assert len(froms(view)) == len(set(froms(view))) == 4
    finally:
        stop.set()
        await asyncio.wait_for(twin_task, 20)


async def _assigned(harness: Harness, incident: str) -> bool:
    return bool((await response(harness, incident)).get("dispatches"))


async def _escalated(harness: Harness, incident: str) -> dict[str, Any] | None:
    view = await response(harness, incident)
    return view if view.get("escalations") else None


async def _wait_exhausted(harness: Harness, incident: str) -> dict[str, Any]:
    return await eventually(lambda: _exhausted(harness, incident), 20)


async def _exhausted(harness: Harness, incident: str) -> dict[str, Any] | None:
    view = await response(harness, incident)
    return view if view.get("phase") == "exhausted" else None
