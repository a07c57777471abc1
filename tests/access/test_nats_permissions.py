"""Specification: on NATS itself, every user can do its job and nothing more.

A wheel nats-server runs with ``deploy/nats/permissions.conf`` and every test
connects as the deployment's users, over real connections:

* nobody reads another user's replies: each user subscribes only to its own
  ``_INBOX_<user>.>``, and ``_INBOX.>`` is refused to all;
* no user but the operator creates, updates, purges or deletes any stream
  (the operator provisions them, as ``lantern up`` does);
* the ``client`` user only sends commands;
* the ``integrator`` user only reads, through ephemeral ordered consumers.

A refused publish never reaches its subscriber (for the JetStream API: the
server), so a refused API request gets no answer at all; the streams are then
checked, as the operator, to be exactly as they were.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js.api import ConsumerConfig

from events.subjects import SERVICES, Subjects
from lantern import natsserver
from lantern.nats_permissions import USERS
from plumbing.messaging import natsurl
from plumbing.messaging.streams import provision, stream_configs

pytestmark = pytest.mark.system

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "nats"
PASSWORDS = {u: f"pw-{u}-test" for u in USERS}
NOT_OPERATOR = [u for u in USERS if u != "operator"]
SUBJECTS = Subjects("lantern")
STREAM_OPS = ("CREATE", "UPDATE", "PURGE", "DELETE")


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


def url_of(server: str, user: str) -> str:
    return f"nats://{user}:{PASSWORDS[user]}@{server.removeprefix('nats://')}"


async def connect(server: str, user: str, errors: list[str], **options: object) -> Client:
    """As Lantern connects: the user's own reply-inbox prefix (natsurl.options)."""

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    url = url_of(server, user)
    return await nats.connect(
        url,
        error_cb=on_error,
        allow_reconnect=False,
        **{**natsurl.options(url), **options},
    )


@pytest.fixture
async def provisioned(secured_nats: str) -> str:
    """The streams, as the operator provisions them, each service stream with one event."""
    operator = await connect(secured_nats, "operator", [])
    js = operator.jetstream()
    await provision(js, SUBJECTS)
    await js.publish(SUBJECTS.incident_reported, b'{"n":1}')
    await js.publish(SUBJECTS.responder_assigned, b'{"n":1}')
    await js.publish(f"{SUBJECTS.prefix}.evt.followup.plan_opened", b'{"n":1}')
    await operator.close()
    return secured_nats


def violations(errors: list[str], kind: str) -> str:
    """The server's refusals of that kind (nats-py reports them in lower case)."""
    return "\n".join(e.lower() for e in errors if f"permissions violation for {kind}" in e.lower())


async def snapshot(server: str) -> dict[str, tuple[str, int]]:
    """Every stream's configuration and message count, as the operator sees them."""
    operator = await connect(server, "operator", [])
    try:
        js = operator.jetstream()
        return {
            s.config.name: (json.dumps(s.config.as_dict(), sort_keys=True), s.state.messages)
            for s in await js.streams_info()
            if s.config.name
        }
    finally:
        await operator.close()


async def answered(nc: Client, subject: str, body: bytes = b"") -> bool:
    """Whether anything answered a request (a refused one is never delivered)."""
    try:
        await nc.request(subject, body, timeout=0.75)
    except (TimeoutError, NatsError):
        return False
    return True


async def test_a_service_publishes_its_own_events_and_nothing_else(provisioned: str) -> None:
    errors: list[str] = []
    nc = await connect(provisioned, "intake", errors)
    try:
        js = nc.jetstream()
        ack = await js.publish(SUBJECTS.incident_reported, b"{}", stream=SUBJECTS.stream("intake"))
        assert ack.seq == 2

        await nc.publish(SUBJECTS.responder_assigned, b"{}")  # dispatch's subject
        await nc.subscribe(SUBJECTS.command("dispatch", "acknowledge_dispatch"))
        await nc.flush()
        await asyncio.sleep(0.2)
    finally:
        await nc.close()
    assert "evt.dispatch" in violations(errors, "publish"), errors
    assert "cmd.dispatch" in violations(errors, "subscription"), errors


async def test_nobody_reads_another_users_replies(provisioned: str) -> None:
    # Given intake answering a command, and the client asking it
    errors: list[str] = []
    intake = await connect(provisioned, "intake", errors)
    command = SUBJECTS.command("intake", "report_incident")

    async def answer(msg: Msg) -> None:
        await msg.respond(b"reply for the client only")

    await intake.subscribe(command, cb=answer)
    client = await connect(provisioned, "client", errors)

    # When every other user tries to listen to the client's replies, or to all replies
    eavesdropped: list[bytes] = []
    others = {}
    refusals: dict[str, list[str]] = {}
    for user in NOT_OPERATOR:
        if user == "client":
            continue
        refusals[user] = []
        others[user] = await connect(provisioned, user, refusals[user])

        async def overhear(msg: Msg) -> None:
            eavesdropped.append(msg.data)

        await others[user].subscribe("_INBOX.>", cb=overhear)
        await others[user].subscribe("_INBOX_client.>", cb=overhear)
        await others[user].flush()
    await asyncio.sleep(0.2)
    try:
        reply = await client.request(command, b"{}", timeout=2)
        # and the client itself connects without its own inbox prefix
        default = await connect(provisioned, "client", errors, inbox_prefix="_INBOX")
        unanswered = not await answered(default, command, b"{}")
        await default.close()
    finally:
        for nc in (intake, client, *others.values()):
            await nc.close()

    # Then the client gets its reply, and nobody else saw it
    assert reply.data == b"reply for the client only"
    assert eavesdropped == []
    for user in others:
        refused = violations(refusals[user], "subscription")
        assert '"_inbox.>"' in refused, (user, refused)
        assert '"_inbox_client.>"' in refused, (user, refused)
    # and a connection that does not use its own prefix cannot receive replies at all
    assert unanswered
    assert '"_inbox.' in violations(errors, "subscription")


@pytest.mark.parametrize("user", NOT_OPERATOR)
async def test_no_user_but_the_operator_creates_changes_purges_or_deletes_a_stream(
    provisioned: str, user: str
) -> None:
    before = await snapshot(provisioned)
    configs = {c.name: c for c in stream_configs(SUBJECTS)}
    errors: list[str] = []
    nc = await connect(provisioned, user, errors)
    try:
        attempts = []
        for name in [*before, "LANTERN_ROGUE"]:
            config = configs.get(name)
            body = {**(config.as_dict() if config else {"name": name}), "max_msgs": 1}
            body.setdefault("subjects", [f"{name.lower()}.>"])
            for op in STREAM_OPS:
                raw = json.dumps(body).encode() if op in ("CREATE", "UPDATE") else b""
                attempts.append((f"$JS.API.STREAM.{op}.{name}", raw))
            attempts.append((f"$JS.API.STREAM.MSG.DELETE.{name}", b'{"seq":1}'))
        outcomes = await asyncio.gather(*(answered(nc, s, b) for s, b in attempts))
    finally:
        await nc.close()

    assert [s for (s, _), got in zip(attempts, outcomes, strict=True) if got] == []
    assert await snapshot(provisioned) == before  # same streams, same settings, same messages
    assert violations(errors, "publish").count("$js.api.stream.") >= len(attempts)


async def test_the_client_user_only_sends_commands(provisioned: str) -> None:
    before = await snapshot(provisioned)
    errors: list[str] = []
    intake = await connect(provisioned, "intake", [])
    command = SUBJECTS.command("intake", "report_incident")

    async def answer(msg: Msg) -> None:
        await msg.respond(b"accepted")

    await intake.subscribe(command, cb=answer)
    await intake.flush()
    client = await connect(provisioned, "client", errors)
    heard: list[bytes] = []

    async def hear(msg: Msg) -> None:
        heard.append(msg.data)

    try:
        reply = await client.request(command, b"{}", timeout=2)
        for subject in (f"{SUBJECTS.prefix}.evt.>", f"{SUBJECTS.prefix}.inbox.*.>", ">"):
            await client.subscribe(subject, cb=hear)
        await client.publish(SUBJECTS.incident_reported, b'{"forged":true}')
        await client.publish(f"{SUBJECTS.prefix}.audit.intake.read", b"{}")
        reads = [
            "$JS.API.INFO",
            f"$JS.API.STREAM.INFO.{SUBJECTS.stream('intake')}",
            f"$JS.API.CONSUMER.CREATE.{SUBJECTS.stream('intake')}",
            f"$JS.API.STREAM.MSG.GET.{SUBJECTS.stream('intake')}",
        ]
        answers = [await answered(client, s, b'{"seq":1}') for s in reads]
        await client.flush()
        await asyncio.sleep(0.2)
    finally:
        await client.close()
        await intake.close()

    assert reply.data == b"accepted"
    assert answers == [False] * len(reads)  # no JetStream at all
    assert heard == []
    assert await snapshot(provisioned) == before  # nothing it published was stored
    refused = violations(errors, "publish")
    assert "evt.intake" in refused, errors
    assert "audit.intake" in refused, errors
    assert violations(errors, "subscription").count("subscription to") >= 3, errors


async def test_the_integrator_user_only_reads(provisioned: str) -> None:
    before = await snapshot(provisioned)
    errors: list[str] = []
    nc = await connect(provisioned, "integrator", errors)
    js = nc.jetstream()
    try:
        # It follows each published stream with an ephemeral ordered consumer
        seen: dict[str, bytes] = {}
        for service in SERVICES:
            sub = await js.subscribe("", stream=SUBJECTS.stream(service), ordered_consumer=True)
            msg = await sub.next_msg(timeout=2)
            seen[service] = msg.data
            await sub.unsubscribe()

        # but publishes nothing: no event, no command, no audit entry
        await nc.publish(SUBJECTS.incident_reported, b'{"forged":true}')
        await nc.publish(SUBJECTS.command("intake", "report_incident"), b"{}")
        await nc.publish(f"{SUBJECTS.prefix}.audit.dispatch.read", b"{}")
        # creates no durable consumer, on either API
        stream = SUBJECTS.stream("dispatch")
        legacy = await answered(
            nc,
            f"$JS.API.CONSUMER.DURABLE.CREATE.{stream}.mine",
            json.dumps({"stream_name": stream, "config": {"durable_name": "mine"}}).encode(),
        )
        with pytest.raises(NatsError):
            await js.add_consumer(stream, ConsumerConfig(durable_name="mine2"))
        # and neither pulls nor deletes the services' durable consumers
        durable = "followup-from-dispatch-p0"
        pulled = await answered(nc, f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}", b"1")
        deleted = await answered(nc, f"$JS.API.CONSUMER.DELETE.{stream}.{durable}")
        await nc.flush()
        await asyncio.sleep(0.2)
    finally:
        await nc.close()

    assert seen == {"intake": b'{"n":1}', "dispatch": b'{"n":1}', "followup": b'{"n":1}'}
    assert (legacy, pulled, deleted) == (False, False, False)
    assert await snapshot(provisioned) == before
    refused = violations(errors, "publish")
    for subject in ("evt.intake", "cmd.intake", "audit.dispatch", "durable.create"):
        assert subject in refused, errors
    operator = await connect(provisioned, "operator", [])
    try:
        consumers = await operator.jetstream().consumers_info(SUBJECTS.stream("dispatch"))
    finally:
        await operator.close()
    assert [c.name for c in consumers if c.config.durable_name] == []


async def test_a_wrong_password_is_refused(secured_nats: str) -> None:
    host = secured_nats.removeprefix("nats://")
    with pytest.raises((NatsError, OSError)):
        await nats.connect(
            f"nats://intake:wrong@{host}", allow_reconnect=False, max_reconnect_attempts=0
        )


def test_every_user_subscribes_only_to_its_own_inbox() -> None:
    conf = (DEPLOY / "permissions.conf").read_text()
    assert '"_INBOX.>"' not in conf
    for user in NOT_OPERATOR:
        assert f'"_INBOX_{user}.>"' in conf
    for service in ("intake", "dispatch", "followup", "records"):
        assert f'"lantern.evt.{service}.>"' in conf
    assert '"lantern.evt.>"' not in conf


@pytest.mark.parametrize(
    ("url", "prefix"),
    [
        ("nats://client:pw@127.0.0.1:4222", "_INBOX_client"),
        ("nats://127.0.0.1:4222", "_INBOX"),
        ("nats://a-secret-token@127.0.0.1:4222", "_INBOX"),  # a token never enters a subject
        ("nats://we.ird:pw@127.0.0.1:4222", "_INBOX"),
    ],
)
def test_a_connection_asks_for_replies_in_its_users_own_inbox(url: str, prefix: str) -> None:
    assert natsurl.inbox_prefix(url) == prefix


def test_the_deploy_file_is_the_generated_permissions() -> None:
    """`lantern up` generates the same grants for its embedded server (lantern/nats_permissions)."""
    from lantern.nats_permissions import render

    assert (DEPLOY / "permissions.conf").read_text() == render(Subjects("lantern"))
    assert "user: console" in render(Subjects("lantern"))
    assert "user: integrator" in render(Subjects("lantern"))
    assert '"lantern.cmd.followup.list_plans"' in render(Subjects("lantern"))  # the calendar
