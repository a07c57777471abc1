"""The store goes away for 30 seconds in the middle of a stream of reports.

PostgreSQL: a cluster of the test's own is stopped and started again (the
shared server stays up).  SQLite: another process holds an exclusive lock on
the services' files for as long (every write times out on the lock).

Then: reporters got a clear "try again" while the store was away, and every
report accepted before, during or after was dispatched exactly once; nothing
was parked; the consumers said they were stalled, and recovered by themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from events.subjects import DISPATCH, Subjects
from tests.harness import Harness, eventually
from tests.invariants import assert_invariants
from tests.pg_process import OwnPostgres, available, own_postgres_store

pytestmark = [pytest.mark.system, pytest.mark.faults]

OUTAGE_S = 30.0


@pytest.fixture(params=["sqlite", "postgres"])
def own_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    if request.param == "sqlite":
        yield {"store": "sqlite", "data_dir": str(tmp_path)}
        return
    if not available():
        pytest.skip("PostgreSQL binaries are not installed")
    with own_postgres_store(tmp_path) as store:
        yield store


@pytest.fixture
async def harness(
    subjects: Subjects, nats_url: str, own_store: dict[str, str], clean_streams: None
) -> AsyncIterator[Harness]:
    harness = Harness(subjects, nats_url, own_store)
    await harness.start("intake")
    await harness.start("dispatch")
    await harness.seed()
    yield harness
    await harness.stop_all()


@contextlib.asynccontextmanager
async def store_away(store: dict[str, str]) -> AsyncIterator[None]:
    """The store is unreachable (PostgreSQL stopped) or locked (SQLite) inside the block."""
    if store["store"] == "postgres":
        pg = OwnPostgres(root=Path(store["_pg"]), port=int(store["_pg_port"]))
        pg.stop("fast")
        try:
            yield
        finally:
            pg.start()
        return
    locks = []
    for service in ("intake", "dispatch"):
        db = sqlite3.connect(Path(store["data_dir"]) / f"{service}.sqlite", timeout=30)
        db.isolation_level = None
        db.execute("BEGIN EXCLUSIVE")
        locks.append(db)
    try:
        yield
    finally:
        for db in locks:
            db.execute("ROLLBACK")
            db.close()


async def report_until(harness: Harness, deadline: float, accepted: list[str]) -> int:
    """A reporter who retries (same idempotency key) until each report is accepted."""
    refused = 0
    url = f"{harness.running['intake'].url}/incidents"
    n = 0
    async with httpx.AsyncClient(timeout=15) as client:
        while time.monotonic() < deadline:
            n += 1
            body = {
                "school_id": "s0",
                "student_ref": f"stu-{n}",
                "categories": ["acute_distress"],
                "risk": "moderate",
                "reporter_id": "t-1",
                "idempotency_key": f"outage-{n}",
            }
            while True:
                try:
                    response = await client.post(url, json=body, headers=harness.headers())
                except httpx.HTTPError:
                    response = None
                if response is not None and response.status_code in (200, 201):
                    accepted.append(response.json()["incident_id"])
                    break
                refused += 1
                if response is not None:
                    assert response.status_code == 503, response.text  # never a 500
                await asyncio.sleep(0.3)
            await asyncio.sleep(0.1)
    return refused


async def test_the_store_away_for_30_s_mid_stream_parks_nothing_and_loses_nothing(
    harness: Harness, own_store: dict[str, str], subjects: Subjects
) -> None:
    accepted: list[str] = []
    reporting = asyncio.create_task(report_until(harness, time.monotonic() + 42, accepted))
    await asyncio.sleep(3)
    lanes = harness.running["dispatch"].process.messaging.lanes

    async with store_away(own_store):
        problems = await watch_readiness(harness, OUTAGE_S)

    refused = await reporting
    await eventually(lambda: all_dispatched(harness, accepted), timeout=60)

    assert refused > 0  # reporters were told to try again while the store was away
    # /readyz said so while the store was away, naming it, and is ready again after
    assert any("store unreachable" in p or "infrastructure" in p for p in problems), problems
    assert await eventually(lambda: all_ready(harness), timeout=30)
    assert all(not lane.status.stalled for lane in lanes.values())
    assert sum(lane.status.parked for lane in lanes.values()) == 0
    nc_parked = await dead_letters(harness, subjects)
    assert nc_parked == 0
    found = assert_invariants({s: harness.settings(s) for s in ("intake", "dispatch")}, accepted)
    assert found.responses == len(accepted) > 50


async def watch_readiness(harness: Harness, seconds: float) -> list[str]:
    """Poll every service's /readyz for ``seconds``; returns every problem it named."""
    seen: list[str] = []
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(timeout=5) as client:
        while time.monotonic() < deadline:
            for running in harness.running.values():
                with contextlib.suppress(httpx.HTTPError):
                    response = await client.get(f"{running.url}/readyz")
                    if response.status_code == 503:
                        seen += response.json()["problems"]
            await asyncio.sleep(1.0)
    return seen


async def all_ready(harness: Harness) -> bool:
    async with httpx.AsyncClient(timeout=5) as client:
        for running in harness.running.values():
            if (await client.get(f"{running.url}/readyz")).status_code != 200:
                return False
    return True


async def all_dispatched(harness: Harness, accepted: list[str]) -> bool:
    status, rows = await harness.call("GET", "dispatch", "/dispatches")
    return status == 200 and {r["incident_id"] for r in rows} >= set(accepted)


async def dead_letters(harness: Harness, subjects: Subjects) -> int:
    import nats

    nc = await nats.connect(harness.nats_url)
    try:
        info = await nc.jetstream().stream_info(subjects.dlq_stream(DISPATCH))
        return int(info.state.messages)
    finally:
        await nc.close()
