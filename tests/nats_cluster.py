"""A three-node JetStream cluster of the test's own: wheel nats-servers on loopback ports.

Each node's configuration is rendered by ``lantern.natscluster`` (the renderer
of ``deploy/nats/cluster/``) with the per-service users of
``lantern.nats_permissions`` for the test's prefix; only addresses, ports,
store directories and TLS (none here) differ from the deployed files.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from events.subjects import Subjects
from lantern import natsserver
from lantern.nats_permissions import USERS, render
from lantern.natscluster import Cluster, Node, local_cluster
from lantern.natscluster import render as render_node


@dataclass
class NatsCluster:
    directory: Path
    subjects: Subjects
    size: int = 3
    passwords: dict[str, str] = field(default_factory=lambda: {u: f"pw-{u}" for u in USERS})
    procs: dict[str, subprocess.Popen[bytes] | None] = field(default_factory=dict)
    cluster: Cluster | None = None

    def __post_init__(self) -> None:
        ports = [
            (natsserver.free_port(), natsserver.free_port(), natsserver.free_port())
            for _ in range(self.size)
        ]
        self.cluster = local_cluster(
            self.size, ports, str(self.directory), permissions=render(self.subjects)
        )
        for node in self.nodes:
            (self.directory / f"{node.name}.conf").write_text(render_node(self.cluster, node))

    @property
    def nodes(self) -> tuple[Node, ...]:
        assert self.cluster is not None
        return self.cluster.nodes

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    def url(self, user: str) -> str:
        """Every node, as ``user``: the comma-separated list a service is given."""
        password = self.passwords[user]
        return ",".join(f"nats://{user}:{password}@127.0.0.1:{n.client_port}" for n in self.nodes)

    def start(self, name: str) -> None:
        node = self.node(name)
        env = dict(os.environ)
        for user, password in self.passwords.items():
            env[f"LANTERN_NATS_{user.upper()}_PASSWORD"] = password
        with (self.directory / f"{name}.log").open("ab") as log:
            self.procs[name] = subprocess.Popen(
                [natsserver.binary(), "-c", str(self.directory / f"{name}.conf")],
                stdout=log,
                stderr=log,
                env=env,
            )
        deadline = time.monotonic() + 10
        while natsserver.port_free(node.client_port):
            proc = self.procs[name]
            assert proc is not None
            assert proc.poll() is None, (self.directory / f"{name}.log").read_text()[-2000:]
            assert time.monotonic() < deadline, f"{name} did not listen"
            time.sleep(0.05)

    def start_all(self) -> None:
        for node in self.nodes:
            self.start(node.name)

    def kill(self, name: str) -> None:
        """SIGKILL: no clean shutdown, no leadership hand-over."""
        proc = self.procs.get(name)
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(10)
        self.procs[name] = None

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.kill(name)

    def running(self) -> list[Node]:
        return [n for n in self.nodes if (p := self.procs.get(n.name)) and p.poll() is None]

    async def jsz(self, node: Node) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=2) as client:
            body: dict[str, Any] = (
                await client.get(f"http://127.0.0.1:{node.monitor_port}/jsz")
            ).json()
            return body

    async def meta_leader(self) -> str | None:
        """The JetStream meta leader, as every running node sees it (None until they agree)."""
        seen = set()
        for node in self.running():
            try:
                seen.add((await self.jsz(node)).get("meta_cluster", {}).get("leader"))
            except httpx.HTTPError:
                return None
        return seen.pop() if len(seen) == 1 and None not in seen and "" not in seen else None
