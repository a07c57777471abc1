"""Connects one service to NATS and keeps it there: leases, consumer lanes, relay, responders.

The HTTP side of a service never waits for this.  When NATS is down, commands
are still stored and acknowledged; this host keeps retrying.  Once connected it

* checks that the streams and the lease bucket it needs exist (provisioning
  what is missing when its NATS user may, waiting and saying so otherwise);
* serves the request-reply operations (faststream responders, queue group);
* keeps a :class:`~plumbing.messaging.leases.LeaseKeeper` for its units of
  work: one per partition of each feed, the relay, and the singletons (the
  deadline ticker, the pager); each unit runs while its lease is held, so
  several instances share the work and take over a dead one's within seconds.

What it knows of its lanes and relay is what ``/readyz`` and ``/metrics`` show.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import nats
from faststream import AckPolicy
from faststream.nats import NatsBroker
from faststream.nats.annotations import NatsMessage
from faststream.nats.security import NatsSecurity
from nats.aio.client import Client
from nats.js import JetStreamContext

from events.subjects import Subjects
from plumbing import logs, redaction
from plumbing.messaging import natsurl
from plumbing.messaging.consumer import Lane
from plumbing.messaging.deadletters import DeadLetters
from plumbing.messaging.feed import Feed
from plumbing.messaging.leases import LeaseKeeper
from plumbing.messaging.natsurl import inbox_prefix
from plumbing.messaging.relay import OutboxRelay
from plumbing.messaging.streams import missing, provision
from plumbing.settings import nats_servers
from plumbing.store.application import LanternApplication

log = logs.get("lantern.messaging")

#: A core-NATS request-reply handler: raw request bytes in, reply bytes (and headers) out.
Responder = Callable[[bytes, dict[str, str]], Awaitable[bytes | tuple[bytes, dict[str, str]]]]
#: Work that must have one runner at a time (ticker, pager): runs while ``active()``.
Singleton = Callable[[Callable[[], bool]], Awaitable[None]]

RELAY = "relay"
SAY_AT_MOST_EVERY_S = 10.0


@dataclass
class MessagingHost:
    nats_url: str
    subjects: Subjects
    service: str
    app: LanternApplication
    relay: OutboxRelay | None = None
    feeds: list[Feed] = field(default_factory=list)
    responders: dict[str, Responder] = field(default_factory=dict)
    singletons: dict[str, Singleton] = field(default_factory=dict)
    #: Called in the worker thread after each committed batch (catch read models up).
    after_commit: Callable[[], None] | None = None
    batch_size: int = 256
    retry_s: float = 1.0
    connected: bool = False
    connections: int = 0
    waiting_for: str = ""  # what is missing before work can start ("" when nothing)
    lanes: dict[str, Lane] = field(default_factory=dict)
    keeper: LeaseKeeper | None = None
    dead_letters: DeadLetters | None = None
    _tasks: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    _said: dict[str, float] = field(default_factory=dict)

    # -- units of work ---------------------------------------------------------------------------
    def units(self) -> list[str]:
        units = [f.unit(p) for f in self.feeds for p in range(self.subjects.partitions)]
        if self.relay is not None:
            units.append(RELAY)
        units.extend(self.singletons)
        return units

    def needed_streams(self) -> list[str]:
        names = {self.subjects.stream(f.upstream) for f in self.feeds}
        if self.relay is not None:
            names.add(self.subjects.stream(self.service))
        if self.feeds:
            names.add(self.subjects.dlq_stream(self.service))
        return sorted(names)

    def holds(self, unit: str) -> bool:
        return self.keeper is not None and self.keeper.holds(unit)

    # -- connecting --------------------------------------------------------------------------------
    def _broker(self) -> NatsBroker:
        async def on_reconnected() -> None:
            log.warning("nats reconnected")
            self.connected = True

        async def on_disconnected() -> None:
            self.connected = False

        tls = natsurl.tls_context()  # handshake first: no plain-text INFO to tamper with
        security = NatsSecurity(ssl_context=tls, tls_handshake_first=True) if tls else None
        broker = NatsBroker(
            nats_servers(self.nats_url),
            security=security,
            allow_reconnect=True,
            max_reconnect_attempts=-1,
            reconnect_time_wait=1,
            connect_timeout=2,
            inbox_prefix=inbox_prefix(self.nats_url),
            reconnected_cb=on_reconnected,
            disconnected_cb=on_disconnected,
            logger=None,
        )
        for subject, responder in self.responders.items():
            self._respond(broker, subject, responder)
        return broker

    def _respond(self, broker: NatsBroker, subject: str, responder: Responder) -> None:
        async def handler(msg: NatsMessage) -> None:
            reply = await responder(msg.body, dict(msg.headers))
            body, headers = reply if isinstance(reply, tuple) else (reply, {})
            if msg.reply_to:
                await broker.connection.publish(msg.reply_to, body, headers=headers or None)

        broker.subscriber(subject, queue="lantern", ack_policy=AckPolicy.MANUAL)(handler)

    async def run(self, stop: asyncio.Event) -> None:
        singletons = asyncio.create_task(self._supervise_singletons(stop))
        try:
            await self._connect_loop(stop)
        finally:
            await singletons

    async def _connect_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            broker = self._broker()
            try:
                await broker.connect()
                nc: Client = broker.connection
                js = nc.jetstream()
                await self._await_streams(js, stop)
                if stop.is_set():
                    break
                kv = await js.key_value(self.subjects.leases_bucket)
                await broker.start()
            except Exception as exc:  # noqa: BLE001 - any connect failure is retried
                self._say("nats unavailable; will retry", error=repr(exc))
                await _quietly_stop(broker)
                await _sleep_or_stop(stop, self.retry_s)
                continue
            self.connected = True
            self.connections += 1
            self.dead_letters = DeadLetters(js, self.subjects, self.service)
            self.keeper = LeaseKeeper(
                kv=kv,
                js=js,
                bucket=self.subjects.leases_bucket,
                service=self.service,
                units=self.units(),
            )
            log.info("nats connected", units=len(self.keeper.units), owner=self.keeper.owner)
            try:
                await self._supervise(nc, js, self.keeper, stop)
            finally:
                self.connected = False
                await _quietly_stop(broker)

    async def _await_streams(self, js: JetStreamContext, stop: asyncio.Event) -> None:
        """Wait until the streams and the lease bucket exist (provisioning them if allowed)."""
        while not stop.is_set():
            absent = await missing(js, self.needed_streams())
            try:
                await js.key_value(self.subjects.leases_bucket)
            except Exception:  # noqa: BLE001 - not there (yet)
                absent.append(self.subjects.leases_bucket)
            if not absent:
                self.waiting_for = ""
                return
            try:
                await provision(js, self.subjects)
                continue
            except Exception as exc:  # noqa: BLE001 - not allowed here: an operator provisions
                self.waiting_for = f"missing {', '.join(absent)}: run `lantern deploy apply`"
                self._say("waiting for streams", missing=absent, error=repr(exc))
            await _sleep_or_stop(stop, 2.0)

    # -- supervising the units ---------------------------------------------------------------------
    async def _supervise(
        self, nc: Client, js: JetStreamContext, keeper: LeaseKeeper, stop: asyncio.Event
    ) -> None:
        changed = asyncio.Event()
        keeping = asyncio.create_task(keeper.run(stop, changed))
        try:
            while not stop.is_set():
                for unit in keeper.units:
                    if unit in self.singletons:
                        continue
                    self._reap(unit)
                    if unit not in self._tasks and keeper.holds(unit) and self.connected:
                        self._tasks[unit] = asyncio.create_task(self._run_unit(unit, nc, js, stop))
                changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), timeout=0.5)
        finally:
            lanes = [t for u, t in self._tasks.items() if u not in self.singletons]
            await asyncio.gather(*lanes, return_exceptions=True)
            for unit in [u for u in self._tasks if u not in self.singletons]:
                del self._tasks[unit]
            await keeping
            self.keeper = None

    def may_run_singleton(self, unit: str) -> bool:
        """The ticker and the pager run where their lease is held, or anywhere NATS is unreachable.

        Why anywhere: during a NATS outage nobody can know who holds the lease, and
        a missed escalation or page is worse than a duplicate.  Deadlines stay
        exactly-once anyway (firing is optimistic-concurrency checked); a page sent
        twice carries the same idempotency key both times, so receivers drop the
        second.
        """
        keeper = self.keeper
        if keeper is None or not keeper.reachable:
            return True
        return keeper.holds(unit)

    async def _supervise_singletons(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            for unit in self.singletons:
                self._reap(unit)
                if unit not in self._tasks and self.may_run_singleton(unit):
                    self._tasks[unit] = asyncio.create_task(self._run_singleton(unit, stop))
            await _sleep_or_stop(stop, 0.5)
        running = [task for unit, task in self._tasks.items() if unit in self.singletons]
        await asyncio.gather(*running, return_exceptions=True)

    async def _run_singleton(self, unit: str, stop: asyncio.Event) -> None:
        try:
            await self.singletons[unit](lambda: not stop.is_set() and self.may_run_singleton(unit))
        except Exception:
            await asyncio.sleep(1.0)  # restarted by the supervisor, not in a tight loop
            raise

    def _reap(self, unit: str) -> None:
        task = self._tasks.get(unit)
        if task is None or not task.done():
            return
        del self._tasks[unit]
        failure = None if task.cancelled() else task.exception()
        if failure is not None:
            log.error("unit of work failed; it restarts", unit=unit, error=repr(failure))

    async def _run_unit(
        self, unit: str, nc: Client, js: JetStreamContext, stop: asyncio.Event
    ) -> None:
        def active() -> bool:
            return not stop.is_set() and self.holds(unit) and self.connected

        try:
            if unit == RELAY and self.relay is not None:
                await self.relay.run(nc, js, active)
            else:
                await self._lane(unit).run(nc, js, active)
        except Exception:
            await asyncio.sleep(1.0)  # a failing unit is restarted by the supervisor, not in a loop
            raise

    def _lane(self, unit: str) -> Lane:
        lane = self.lanes.get(unit)
        if lane is None:
            feed_name, _, part = unit.rpartition(".p")
            feed = next(f for f in self.feeds if f.name == feed_name)
            assert self.dead_letters is not None
            lane = Lane(
                app=self.app,
                feed=feed,
                partition=int(part),
                subjects=self.subjects,
                dead_letters=self.dead_letters,
                batch_size=self.batch_size,
                after_commit=self.after_commit,
            )
            self.lanes[unit] = lane
        return lane

    def _say(self, what: str, **fields: Any) -> None:
        now = time.monotonic()
        if now - self._said.get(what, 0.0) >= SAY_AT_MOST_EVERY_S:
            self._said[what] = now
            log.warning(what, url=redaction.redact(self.nats_url), **fields)


async def connect(url: str, **options: Any) -> Client:
    """A plain nats-py connection with Lantern's reconnect defaults (tools, tests)."""
    for name, value in natsurl.options(url).items():
        options.setdefault(name, value)
    servers = nats_servers(url)
    return await nats.connect(servers, connect_timeout=2, max_reconnect_attempts=-1, **options)


async def _quietly_stop(broker: NatsBroker) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(broker.stop(), timeout=3)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
