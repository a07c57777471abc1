"""Chaos: a storm of SIGKILLs across every service while 500 incidents come in.

Intake and follow-up run once, dispatch and records twice (real processes, one
NATS of the test's own, SQLite stores).  While reporters send 500 reports and
responders carry one in ten through to resolution, a random instance that is up
is killed with SIGKILL every couple of seconds and started again, at least 20
times: the second instance of a doubled service as likely as any other.  The
deadline ticker escalates the incidents nobody answers meanwhile.

Then: every accepted report was dispatched, none twice; no page and no
escalation step happened twice; every resolved incident has exactly one plan;
every store's audit chain verifies against its signed checkpoint.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from events.subjects import Subjects
from tests.chaos import (
    Client,
    Fleet,
    dispatched_or_explained,
    plans_open,
    report_many,
    see_through,
    storm,
    timed,
)
from tests.harness import Harness, eventually
from tests.invariants import assert_invariants, read_anchors
from tests.nats_process import OwnNats
from tests.system.dispatch_fixtures import ROSTER, short_policy

pytestmark = [pytest.mark.system, pytest.mark.faults, pytest.mark.chaos]

INCIDENTS = 500
KILLS = 22
SEEN_THROUGH_EVERY = 10  # one incident in ten is acknowledged and resolved: a plan is owed


@pytest.fixture
async def fleet(subjects: Subjects, own_nats: OwnNats, tmp_path: Path) -> AsyncIterator[Fleet]:
    store = {"store": "sqlite", "data_dir": str(tmp_path)}
    harness = Harness(subjects, own_nats.url, store, config_file=short_policy(tmp_path, 15))
    await harness.provision()
    fleet = Fleet(harness)
    fleet.start("intake")
    fleet.start("dispatch", 2)
    fleet.start("records", 2)
    fleet.start("followup")
    try:
        await fleet.ready()
        yield fleet
    finally:
        fleet.stop()


async def test_twenty_sigkills_during_500_incidents_lose_nothing_and_double_nothing(
    fleet: Fleet, own_nats: OwnNats, subjects: Subjects
) -> None:
    harness = fleet.harness
    client = Client(harness, {s: fleet.urls(s) for s in fleet.instances})
    figures: dict[str, float] = {}
    try:
        await client.call("POST", "intake", "/schools", {"school_id": "s0", "name": "S0"})
        status, body = await client.call(
            "POST", "dispatch", "/roster/import", {"responders": ROSTER}
        )
        assert status == 201, body

        accepted: list[str] = []
        seen_through: set[str] = set()

        async def responders() -> None:
            done = 0
            while done < INCIDENTS // SEEN_THROUGH_EVERY:
                target = done * SEEN_THROUGH_EVERY
                if len(accepted) <= target:
                    await asyncio.sleep(0.2)
                    continue
                incident = accepted[target]
                await see_through(client, incident)
                seen_through.add(incident)
                done += 1

        async with timed(figures, "storm_s"):
            await asyncio.gather(
                report_many(client, INCIDENTS, per_s=10, accepted=accepted),
                responders(),
                storm(fleet, KILLS, every_s=2.0, rng=random.Random(12)),
            )
        async with timed(figures, "settle_s"):
            await dispatched_or_explained(fleet, client, accepted, 120)
            await eventually(lambda: plans_open(client, seen_through), 120, interval=1)
    finally:
        await client.close()
        fleet.stop()

    assert len(fleet.kills) >= KILLS
    assert {"dispatch-1", "records-1"} & set(fleet.kills), fleet.kills  # a second instance died
    assert len(set(accepted)) == len(accepted) == INCIDENTS
    import nats

    nc = await nats.connect(own_nats.url)
    try:
        anchors = await read_anchors(nc.jetstream(), subjects)
    finally:
        await nc.close()
    settings = {s: harness.settings(s) for s in ("intake", "dispatch", "followup", "records")}
    found = assert_invariants(settings, accepted, expect_plans=seen_through, anchors=anchors)
    assert found.responses == INCIDENTS
    assert set(found.chains) == set(settings)
    print(f"storm: {len(fleet.kills)} kills {fleet.kills}; {figures}; chains {found.chains}")
