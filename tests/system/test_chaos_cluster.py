"""Chaos: a three-node JetStream cluster with R3 streams loses a node and both kinds of leader.

Three wheel nats-servers run the cluster configuration of ``deploy/nats/cluster``
(rendered per node with loopback ports) with the per-service users; every
service is given every node, as its own user.  ``lantern deploy apply``'s code
provisions the streams, the lease bucket and every consumer with three
replicas (and a second run finds nothing to do).  Intake runs once and
dispatch twice; under a steady stream of reports:

1. a node that is not the meta leader is killed (SIGKILL) and brought back;
2. the leader of intake's stream (which intake publishes to and dispatch
   consumes) is killed, a follower takes over, the node comes back;
3. the JetStream meta leader is killed, the others elect a new one, it comes back.

Each returning node catches up (its replicas current).  Then every report was
dispatched exactly once and the invariants hold, the audit chains included.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from nats.aio.client import Client as Nats

from events.subjects import Subjects
from plumbing.messaging.deployment import Topology, apply
from plumbing.messaging.host import connect
from tests.chaos import Client, Fleet, dispatched_or_explained, report_many, timed
from tests.harness import Harness, eventually
from tests.invariants import assert_invariants, read_anchors
from tests.nats_cluster import NatsCluster
from tests.system.dispatch_fixtures import ROSTER, short_policy

pytestmark = [pytest.mark.system, pytest.mark.faults, pytest.mark.chaos]

REPORTS = 300


@pytest.fixture
async def cluster(tmp_path: Path, subjects: Subjects) -> AsyncIterator[NatsCluster]:
    (tmp_path / "nats").mkdir()
    cluster = NatsCluster(tmp_path / "nats", subjects)
    cluster.start_all()
    try:
        await eventually(cluster.meta_leader, 30, interval=0.2)
        yield cluster
    finally:
        cluster.stop_all()


async def stream_cluster(nc: Nats, stream: str) -> Any:
    try:
        return (await nc.jetstream().stream_info(stream)).cluster
    except Exception:  # noqa: BLE001 - no leader for a moment: ask again
        return None


async def caught_up(nc: Nats, stream: str) -> bool:
    """The stream has a leader and two followers, both current."""
    info = await stream_cluster(nc, stream)
    if info is None or not info.leader or len(info.replicas or []) != 2:
        return False
    return all(peer.current and not peer.offline for peer in info.replicas)


async def test_a_three_node_cluster_survives_a_node_and_both_leaders_lost_under_load(
    cluster: NatsCluster, subjects: Subjects, tmp_path: Path
) -> None:
    operator = await connect(cluster.url("operator"))
    figures: dict[str, float] = {}
    store = {"store": "sqlite", "data_dir": str(tmp_path)}
    harness = Harness(
        subjects, cluster.url("operator"), store, config_file=short_policy(tmp_path, 600)
    )
    fleet = Fleet(harness, nats_urls={s: cluster.url(s) for s in ("intake", "dispatch")})
    client: Client | None = None
    intake_stream = subjects.stream("intake")
    try:
        # streams and consumers as code, three replicas each; applying again changes nothing
        changes = await apply(operator.jetstream(), Topology(subjects, replicas=3))
        assert f"created stream {intake_stream} (replicas 3)" in changes
        assert any(c.startswith("created consumer") for c in changes)
        assert await apply(operator.jetstream(), Topology(subjects, replicas=3)) == []
        assert (await operator.jetstream().stream_info(intake_stream)).config.num_replicas == 3
        harness.provisioned = True

        fleet.start("intake")
        fleet.start("dispatch", 2)
        await fleet.ready()
        client = Client(harness, {s: fleet.urls(s) for s in fleet.instances})
        await client.call("POST", "intake", "/schools", {"school_id": "s0", "name": "S0"})
        status, body = await client.call(
            "POST", "dispatch", "/roster/import", {"responders": ROSTER}
        )
        assert status == 201, body

        accepted: list[str] = []
        load = asyncio.create_task(report_many(client, REPORTS, per_s=6, accepted=accepted))
        await asyncio.sleep(4)

        # 1. a node that leads nothing in particular
        meta = await eventually(cluster.meta_leader, 20)
        follower = next(n.name for n in cluster.nodes if n.name != meta)
        async with timed(figures, "node_lost_and_back_s"):
            cluster.kill(follower)
            await asyncio.sleep(6)
            cluster.start(follower)
            await eventually(lambda: caught_up(operator, intake_stream), 60, interval=0.5)

        # 2. the leader of intake's stream
        leader = (await stream_cluster(operator, intake_stream)).leader
        async with timed(figures, "stream_leader_lost_and_back_s"):
            cluster.kill(leader)

            async def new_leader() -> str | None:
                info = await stream_cluster(operator, intake_stream)
                return info.leader if info and info.leader and info.leader != leader else None

            elected = await eventually(new_leader, 30, interval=0.2)
            await asyncio.sleep(3)
            cluster.start(leader)
            await eventually(lambda: caught_up(operator, intake_stream), 60, interval=0.5)

        # 3. the meta leader
        meta = await eventually(cluster.meta_leader, 20)
        async with timed(figures, "meta_leader_lost_and_back_s"):
            cluster.kill(meta)

            async def new_meta() -> str | None:
                now = await cluster.meta_leader()
                return now if now and now != meta else None

            await eventually(new_meta, 30, interval=0.2)
            await asyncio.sleep(3)
            cluster.start(meta)
            await eventually(cluster.meta_leader, 30, interval=0.2)

        async with timed(figures, "settled_s"):
            await load
            await dispatched_or_explained(fleet, client, accepted, 90)
        anchors = await read_anchors(operator.jetstream(), subjects)
    finally:
        if client is not None:
            await client.close()
        fleet.stop()
        await operator.close()

    assert elected != leader
    for served in fleet.all():  # every reconnection went to a node it was given, as itself
        assert "Authorization Violation" not in served.log.read_text(), served.log
    found = assert_invariants(
        {s: harness.settings(s) for s in ("intake", "dispatch")}, accepted, anchors=anchors
    )
    assert found.responses == len(accepted) == REPORTS
    print(f"cluster: {figures}; stream leader {leader} -> {elected}; chains {found.chains}")
