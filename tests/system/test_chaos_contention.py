"""Chaos: 1,000 conflicting acknowledgements at once, exactly one winner per incident.

Fifty incidents are reported and left unanswered until each has escalated to a
second responder, so each has two (or more) dispatches that may be
acknowledged, and only one of them can be.  Then 1,000 acknowledgements go out
at once: twenty per incident, spread over its dispatches (each from that
dispatch's own responder, several taps each) and over two dispatch instances
(separate processes on one PostgreSQL schema), so the writers race across
processes as well as inside one.

Then: for each incident exactly one acknowledgement changed anything; every
other answer is a 200 "already yours" for a repeated tap on the winning
dispatch or a 409 naming the conflict, never an error; the store holds exactly
one ``Acknowledged`` per response and exactly one dispatch is acknowledged.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from events.subjects import Subjects
from services.dispatch.domain.response import IncidentResponse
from tests.chaos import Client, Fleet, report
from tests.conftest import PG_DSN
from tests.harness import Harness, eventually
from tests.invariants import assert_invariants, events, open_app
from tests.nats_process import OwnNats
from tests.system.dispatch_fixtures import ROSTER, short_policy

pytestmark = [pytest.mark.system, pytest.mark.faults, pytest.mark.chaos]

INCIDENTS = 50
ACKS = 1000


@pytest.fixture
async def fleet(
    subjects: Subjects, own_nats: OwnNats, pg_schema: str, tmp_path: Path
) -> AsyncIterator[Fleet]:
    store = {
        "store": "postgres",
        "data_dir": str(tmp_path),
        "postgres_dsn": PG_DSN,
        "postgres_schema": pg_schema,
    }
    harness = Harness(subjects, own_nats.url, store, config_file=short_policy(tmp_path, 4))
    await harness.provision()
    fleet = Fleet(harness)
    fleet.start("intake")
    fleet.start("dispatch", 2)
    try:
        await fleet.ready()
        yield fleet
    finally:
        fleet.stop()


async def dispatches_of(client: Client, incident: str) -> list[dict[str, Any]]:
    status, body = await client.call("GET", "dispatch", f"/incidents/{incident}/response")
    return list(body.get("dispatches", [])) if status == 200 else []


async def all_escalated(client: Client, incidents: list[str]) -> dict[str, list[dict[str, Any]]]:
    seen = {i: await dispatches_of(client, i) for i in incidents}
    return seen if all(len(d) >= 2 for d in seen.values()) else {}


async def test_a_thousand_simultaneous_conflicting_acknowledgements_have_one_winner_each(
    fleet: Fleet,
) -> None:
    harness = fleet.harness
    client = Client(harness, {s: fleet.urls(s) for s in fleet.instances})
    try:
        await client.call("POST", "intake", "/schools", {"school_id": "s0", "name": "S0"})
        await client.call("POST", "dispatch", "/roster/import", {"responders": ROSTER})
        accepted: list[str] = []
        await asyncio.gather(*(report(client, n, accepted) for n in range(INCIDENTS)))
        dispatches = await eventually(lambda: all_escalated(client, accepted), 30, interval=0.5)

        # 1,000 taps, twenty per incident, over its dispatches and over both instances
        instances = itertools.cycle(fleet.urls("dispatch"))
        taps = [
            (incident, d, next(instances))
            for incident, ds in dispatches.items()
            for d in itertools.islice(itertools.cycle(ds), ACKS // INCIDENTS)
        ]
        assert len(taps) == ACKS
        limits = httpx.Limits(max_connections=ACKS, max_keepalive_connections=0)
        async with httpx.AsyncClient(timeout=60, limits=limits) as http:

            async def tap(dispatch: dict[str, Any], url: str) -> tuple[int, Any]:
                response = await http.post(
                    f"{url}/dispatches/{dispatch['dispatch_id']}/ack",
                    json={"responder_id": dispatch["responder_id"]},
                    headers=harness.headers(),
                )
                return response.status_code, response.json()

            answers = await asyncio.gather(*(tap(d, url) for _, d, url in taps))
        final = {i: await dispatches_of(client, i) for i in accepted}
    finally:
        await client.close()
        fleet.stop()

    winners: Counter[str] = Counter()
    for (incident, _, _), (status, body) in zip(taps, answers, strict=True):
        assert status in (200, 409), (status, body)  # never an error, never "try again"
        if status == 200 and body["changed"]:
            winners[incident] += 1
        elif status == 409:
            assert body["field"] == "dispatch_id", body
            assert "already acknowledged" in body["error"] or "moved on" in body["error"], body
    assert winners == dict.fromkeys(accepted, 1)
    for incident, ds in final.items():
        assert [d["state"] for d in ds].count("acknowledged") == 1, (incident, ds)

    acknowledged: Counter[str] = Counter()
    app = open_app(harness.settings("dispatch"))
    try:
        for e in events(app):
            if isinstance(e, IncidentResponse.Acknowledged):
                acknowledged[str(e.originator_id)] += 1
    finally:
        app.close()
    assert len(acknowledged) == INCIDENTS
    assert set(acknowledged.values()) == {1}
    assert_invariants({s: harness.settings(s) for s in ("intake", "dispatch")}, accepted)
    print(f"contention: {Counter(s for s, _ in answers)} over {INCIDENTS} incidents")
