"""Specification: `lantern deploy apply` provisions JetStream like a reviewed migration.

Given an empty nats-server, ``--dry-run`` prints the plan and changes nothing;
``apply`` creates every stream, the lease bucket and one durable consumer per
feed and partition, configured exactly as the services' lanes create them; a
second ``apply`` has nothing to do; an unreachable NATS is one line, exit 3.
"""

from __future__ import annotations

from pathlib import Path

import nats
import pytest
from nats.aio.client import Client

from events.subjects import FEEDS, Subjects
from lantern.natscluster import default_cluster, render
from plumbing.messaging.consumer import Lane
from plumbing.messaging.feed import Feed
from plumbing.messaging.streams import stream_configs
from plumbing.settings import nats_servers
from tests.lantern_cli import as_json, lantern
from tests.nats_process import OwnNats

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


@pytest.mark.system
async def test_plan_then_apply_then_nothing_to_do(
    own_nats: OwnNats, subjects: Subjects, tmp_path: Path
) -> None:
    args = ("deploy", "apply", "--json", "--nats-url", own_nats.url, "--prefix", subjects.prefix)
    streams = [c.name for c in stream_configs(subjects)]
    consumers = len(FEEDS) * subjects.partitions

    plan = as_json(lantern(tmp_path, *args, "--dry-run"))
    assert plan["applied"] is False
    assert len(plan["changes"]) == len(streams) + 1 + consumers  # streams, leases, consumers
    assert all(c.startswith("would create") for c in plan["changes"])
    nc = await nats.connect(own_nats.url)
    try:
        assert await _names(nc) == []  # the plan changed nothing

        applied = as_json(lantern(tmp_path, *args))
        assert applied["applied"] is True
        assert [c.removeprefix("would ") for c in plan["changes"]] == [
            c.replace("created", "create") for c in applied["changes"]
        ]
        assert set(streams) <= set(await _names(nc))

        # what a service's lane would create is what is there: starting it changes nothing
        js = nc.jetstream()
        consumer, name, upstream, family = FEEDS[1]
        feed = Feed(consumer, name, upstream, family, decode=lambda m: m, decide=lambda a, m: [])
        lane = Lane(
            app=None,  # type: ignore[arg-type]
            feed=feed,
            partition=2,
            subjects=subjects,
            dead_letters=None,  # type: ignore[arg-type]
        )
        info = await js.consumer_info(lane.stream, lane.durable)
        assert info.config.filter_subject == lane.consumer_config().filter_subject
        assert info.config.max_ack_pending == lane.consumer_config().max_ack_pending
    finally:
        await nc.close()

    again = lantern(tmp_path, *args[:2], "--nats-url", own_nats.url, "--prefix", subjects.prefix)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "up to date: nothing to do"


async def _names(nc: Client) -> list[str]:
    return [str(info.config.name) for info in await nc.jetstream().streams_info()]


@pytest.mark.system
def test_an_unreachable_nats_is_one_line_and_exit_3(tmp_path: Path) -> None:
    result = lantern(tmp_path, "deploy", "apply", "--nats-url", "nats://127.0.0.1:1", "--json")
    assert result.returncode == 3
    assert "Traceback" not in result.stderr + result.stdout


def test_replicas_must_leave_a_majority(tmp_path: Path) -> None:
    result = lantern(tmp_path, "deploy", "apply", "--replicas", "2", "--json")
    assert result.returncode == 2
    assert "replicas" in result.stdout + result.stderr


def test_the_cluster_files_are_the_rendered_configuration() -> None:
    cluster = default_cluster(3)
    for node in cluster.nodes:
        text = (DEPLOY / "nats" / "cluster" / f"{node.name}.conf").read_text()
        assert text == render(cluster, node)
        assert "include ../permissions.conf" in text  # the tested per-service users
        assert "no_advertise: true" in text  # clients keep to the nodes (and users) given
        assert all(f"nats-route://{n.route_host}:6222" in text for n in cluster.nodes)


def test_a_nats_url_may_list_every_node_of_a_cluster() -> None:
    assert nats_servers("nats://a:p@n0:4222, nats://a:p@n1:4222,") == [
        "nats://a:p@n0:4222",
        "nats://a:p@n1:4222",
    ]
    assert nats_servers("nats://127.0.0.1:4222") == ["nats://127.0.0.1:4222"]


def test_logs_never_show_the_password_of_any_node() -> None:
    from plumbing.redaction import redact

    shown = redact("nats://dispatch:secret1@n0:4222,nats://dispatch:secret2@n1:4222")
    assert "secret" not in shown
    assert shown.count("n0:4222") == shown.count("n1:4222") == 1
