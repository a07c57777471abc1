"""Chaos: the infrastructure goes away under load, and comes back.

* NATS is stopped for 30 seconds while reports keep coming: intake goes on
  accepting every report over HTTP (stored, its relay holding them), and once
  NATS is back every one of them flows through to dispatch.
* The services' PostgreSQL (a cluster of the test's own) crashes and restarts
  under load: reporters are told to try again meanwhile, never given a 500,
  and every report accepted is dispatched once.

Intake runs once and dispatch twice (real processes).  The shared invariants
close each scenario, the audit chains included.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import nats
import psycopg
import pytest

from events.subjects import Subjects
from plumbing.integrity.verify import Checkpoint
from tests.chaos import Client, Fleet, dispatched_or_explained, report_many, timed
from tests.harness import Harness, eventually
from tests.invariants import assert_invariants, read_anchors
from tests.nats_process import OwnNats
from tests.pg_process import OwnPostgres, available, own_postgres_store
from tests.system.dispatch_fixtures import ROSTER, short_policy

pytestmark = [pytest.mark.system, pytest.mark.faults, pytest.mark.chaos]

OUTAGE_S = 30.0


async def started(harness: Harness) -> tuple[Fleet, Client]:
    await harness.provision()
    fleet = Fleet(harness)
    fleet.start("intake")
    fleet.start("dispatch", 2)
    await fleet.ready()
    client = Client(harness, {s: fleet.urls(s) for s in fleet.instances})
    await client.call("POST", "intake", "/schools", {"school_id": "s0", "name": "S0"})
    status, body = await client.call("POST", "dispatch", "/roster/import", {"responders": ROSTER})
    assert status == 201, body
    return fleet, client


async def anchors_of(url: str, subjects: Subjects) -> dict[str, Checkpoint]:
    nc = await nats.connect(url)
    try:
        return dict(await read_anchors(nc.jetstream(), subjects))
    finally:
        await nc.close()


async def test_nats_down_for_30_s_under_load_intake_accepts_and_everything_flows_after(
    subjects: Subjects, own_nats: OwnNats, tmp_path: Path
) -> None:
    store = {"store": "sqlite", "data_dir": str(tmp_path)}
    harness = Harness(subjects, own_nats.url, store, config_file=short_policy(tmp_path, 600))
    fleet, client = await started(harness)
    figures: dict[str, float] = {}
    try:
        accepted: list[str] = []
        load = asyncio.create_task(report_many(client, 200, per_s=5, accepted=accepted))
        await asyncio.sleep(4)
        before = len(accepted)
        own_nats.stop()
        await asyncio.sleep(OUTAGE_S)
        during = len(accepted) - before
        own_nats.start()
        async with timed(figures, "flowing_again_s"):
            await load
            await dispatched_or_explained(fleet, client, accepted, 90)
        anchors = await eventually(lambda: _anchored(own_nats.url, subjects), 30)
    finally:
        await client.close()
        fleet.stop()

    assert during >= 100  # about 5 a second for 30 s, while NATS was down
    assert [r for r in client.refusals if r[0] == "intake"] == []  # none refused, none retried
    found = assert_invariants(
        {s: harness.settings(s) for s in ("intake", "dispatch")}, accepted, anchors=anchors
    )
    assert found.responses == len(accepted) == 200
    print(f"nats outage: {during} reports accepted while down; {figures}")


async def _anchored(url: str, subjects: Subjects) -> dict[str, Checkpoint] | None:
    anchors = await anchors_of(url, subjects)
    return anchors if {"intake", "dispatch"} <= set(anchors) else None


@pytest.fixture
def own_postgres(tmp_path: Path) -> Iterator[dict[str, str]]:
    if not available():
        pytest.skip("PostgreSQL binaries are not installed")
    with own_postgres_store(tmp_path) as store:
        yield store


@pytest.fixture
def pg_harness(
    subjects: Subjects, own_nats: OwnNats, own_postgres: dict[str, str], tmp_path: Path
) -> Harness:
    return Harness(subjects, own_nats.url, own_postgres, config_file=short_policy(tmp_path, 600))


async def test_postgresql_crashes_and_restarts_under_load_and_nothing_is_lost_or_doubled(
    pg_harness: Harness, own_postgres: dict[str, str], own_nats: OwnNats, subjects: Subjects
) -> None:
    harness = pg_harness
    fleet, client = await started(harness)
    pg = OwnPostgres(root=Path(own_postgres["_pg"]), port=int(own_postgres["_pg_port"]))
    figures: dict[str, float] = {}
    try:
        accepted: list[str] = []
        load = asyncio.create_task(report_many(client, 150, per_s=6, accepted=accepted))
        started_at = [postmaster_started(pg)]
        for mode in ("immediate", "fast"):  # a crash (WAL replay at start), then a clean restart
            await asyncio.sleep(6)
            pg.stop(mode)
            await asyncio.sleep(3)
            pg.start()
            started_at.append(postmaster_started(pg))
        async with timed(figures, "settled_s"):
            await load
            await dispatched_or_explained(fleet, client, accepted, 90)
        anchors = await eventually(lambda: _anchored(own_nats.url, subjects), 30)
    finally:
        await client.close()
        fleet.stop()

    assert len(set(started_at)) == 3  # the server really went away twice
    assert all(status in (0, 503) for _, status in client.refusals), client.refusals
    found = assert_invariants(
        {s: harness.settings(s) for s in ("intake", "dispatch")}, accepted, anchors=anchors
    )
    assert found.responses == len(accepted) == 150
    print(f"postgres restarts: {len(client.refusals)} calls retried; {figures}")


def postmaster_started(pg: OwnPostgres) -> str:
    with psycopg.connect(pg.dsn) as conn:
        row = conn.execute("SELECT pg_postmaster_start_time()::text").fetchone()
    assert row is not None
    return str(row[0])
