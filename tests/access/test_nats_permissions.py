"""Specification: on NATS itself, a service can publish only its own subjects.

A wheel nats-server runs with ``deploy/nats/permissions.conf``.  The intake user
declares the streams and publishes its own events (JetStream acknowledges
them), but the server refuses it publishing a dispatch event or listening to
dispatch's commands, and refuses a wrong password outright.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client
from nats.errors import Error as NatsError

from events.subjects import Subjects
from lantern import natsserver
from plumbing.messaging.streams import provision

pytestmark = pytest.mark.system

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "nats"
USERS = natsserver.USERS
PASSWORDS = {u: f"pw-{u}-test" for u in USERS}


@pytest.fixture
def secured_nats(tmp_path: Path) -> Iterator[str]:
    port = natsserver.free_port()
    shutil.copy(DEPLOY / "permissions.conf", tmp_path / "permissions.conf")
    config = tmp_path / "server.conf"
    config.write_text(
        f"listen: 127.0.0.1:{port}\n"
        f'jetstream {{\n  store_dir: "{tmp_path / "js"}"\n}}\n'
        "include permissions.conf\n"
    )
    env = {**os.environ, **{f"LANTERN_NATS_{u.upper()}_PASSWORD": p for u, p in PASSWORDS.items()}}
    log = (tmp_path / "nats.log").open("wb")
    proc = subprocess.Popen(
        [natsserver.binary(), "-c", str(config)], stdout=log, stderr=log, env=env
    )
    try:
        for _ in range(100):
            if not natsserver.port_free(port):
                break
            assert proc.poll() is None, (tmp_path / "nats.log").read_text()
            time.sleep(0.05)
        yield f"nats://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


async def connect(url: str, user: str, errors: list[str]) -> Client:
    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    host = url.removeprefix("nats://")
    return await nats.connect(
        f"nats://{user}:{PASSWORDS[user]}@{host}", error_cb=on_error, allow_reconnect=False
    )


async def test_a_service_publishes_its_own_events_and_nothing_else(secured_nats: str) -> None:
    errors: list[str] = []
    subjects = Subjects("lantern")
    operator = await connect(secured_nats, "operator", errors)
    await provision(operator.jetstream(), subjects)  # as `lantern up` does before services start
    await operator.close()
    nc = await connect(secured_nats, "intake", errors)
    try:
        js = nc.jetstream()
        ack = await js.publish(subjects.incident_reported, b"{}", stream=subjects.stream("intake"))
        assert ack.seq == 1

        await nc.publish(subjects.responder_assigned, b"{}")  # dispatch's subject
        await nc.subscribe(subjects.command("dispatch", "acknowledge_dispatch"))
        await nc.flush()
        await asyncio.sleep(0.2)
    finally:
        await nc.close()
    assert any(
        "permissions violation for publish" in e.lower() and "evt.dispatch" in e for e in errors
    ), errors
    assert any(
        "permissions violation for subscription" in e.lower() and "cmd.dispatch" in e
        for e in errors
    ), errors


async def test_a_wrong_password_is_refused(secured_nats: str) -> None:
    host = secured_nats.removeprefix("nats://")
    with pytest.raises((NatsError, OSError)):
        await nats.connect(
            f"nats://intake:wrong@{host}", allow_reconnect=False, max_reconnect_attempts=0
        )


def test_every_service_has_a_user_limited_to_its_own_events() -> None:
    conf = (DEPLOY / "permissions.conf").read_text()
    for service in ("intake", "dispatch", "followup", "records"):
        assert f"user: {service}" in conf
        assert f'"lantern.evt.{service}.>"' in conf
    assert '"lantern.evt.>"' not in conf


def test_the_deploy_file_is_the_generated_permissions() -> None:
    """`lantern up` generates the same grants for its embedded server (lantern/nats_permissions)."""
    from lantern.nats_permissions import render

    assert (DEPLOY / "permissions.conf").read_text() == render(Subjects("lantern"))
    assert "user: console" in render(Subjects("lantern"))
    assert '"lantern.cmd.followup.list_plans"' in render(Subjects("lantern"))  # the calendar
