"""Connects one service to NATS and keeps it connected: streams, consumers, relay.

The HTTP side of a service never waits for this.  When NATS is down, commands
are still stored and acknowledged; this host keeps retrying, and on every
(re)connection it declares the streams again, re-attaches the durable pull
consumers and restarts the relay from what the stream holds.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from faststream import AckPolicy
from faststream.nats import JStream, NatsBroker, PullSub
from faststream.nats.annotations import NatsMessage
from nats.js import JetStreamContext
from nats.js.api import AckPolicy as JsAckPolicy
from nats.js.api import ConsumerConfig, DeliverPolicy

from events.subjects import Subjects
from plumbing import logs
from plumbing.consumer import TrackedConsumer
from plumbing.relay import OutboxRelay
from plumbing.streams import ensure_streams

log = logs.get("lantern.messaging")

#: A core-NATS request-reply handler: raw request bytes in, reply bytes out.
Responder = Callable[[bytes, dict[str, str]], Awaitable[bytes]]


@dataclass
class Subscription:
    """A durable, strictly ordered pull consumer on another service's stream."""

    consumer: TrackedConsumer
    stream: str
    subject: str
    durable: str


@dataclass
class MessagingHost:
    nats_url: str
    subjects: Subjects
    relay: OutboxRelay | None = None
    subscriptions: list[Subscription] = field(default_factory=list)
    responders: dict[str, Responder] = field(default_factory=dict)
    retry_s: float = 1.0
    connected: bool = False
    connections: int = 0
    _rebuild: asyncio.Event = field(default_factory=asyncio.Event)

    def _broker(self) -> NatsBroker:
        async def on_reconnected() -> None:
            log.warning("nats reconnected; re-declaring streams and consumers")
            self._rebuild.set()

        async def on_disconnected() -> None:
            self.connected = False

        broker = NatsBroker(
            self.nats_url,
            allow_reconnect=True,
            max_reconnect_attempts=-1,
            reconnect_time_wait=1,
            connect_timeout=2,
            reconnected_cb=on_reconnected,
            disconnected_cb=on_disconnected,
            logger=None,
        )
        for sub in self.subscriptions:
            self._subscribe(broker, sub)
        for subject, responder in self.responders.items():
            self._respond(broker, subject, responder)
        return broker

    def _subscribe(self, broker: NatsBroker, sub: Subscription) -> None:
        config = ConsumerConfig(
            durable_name=sub.durable,
            ack_policy=JsAckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            max_ack_pending=1,  # strictly ordered: tracking rejects any position <= the last
            ack_wait=30,
            max_deliver=-1,  # parking after N tries is the consumer's own decision
            filter_subject=sub.subject,
        )

        async def handler(msg: NatsMessage) -> None:
            js = broker.connection.jetstream()
            await sub.consumer.handle(msg.raw_message, js)

        broker.subscriber(
            sub.subject,
            stream=JStream(sub.stream, declare=False),
            durable=sub.durable,
            config=config,
            pull_sub=PullSub(batch_size=1, timeout=1.0),
            ack_policy=AckPolicy.MANUAL,
        )(handler)

    def _respond(self, broker: NatsBroker, subject: str, responder: Responder) -> None:
        async def handler(msg: NatsMessage) -> None:
            reply = await responder(msg.body, dict(msg.headers))
            if msg.reply_to:
                await broker.connection.publish(msg.reply_to, reply)

        broker.subscriber(subject, queue="lantern", ack_policy=AckPolicy.MANUAL)(handler)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self._rebuild.clear()
            broker = self._broker()
            try:
                await broker.connect()
                js: JetStreamContext = broker.connection.jetstream()
                await ensure_streams(js, self.subjects)
                await broker.start()
            except Exception as exc:  # noqa: BLE001 - any connect failure is retried
                log.warning("nats unavailable; will retry", url=self.nats_url, error=repr(exc))
                await _quietly_stop(broker)
                await _sleep_or_stop(stop, self.retry_s)
                continue
            self.connected = True
            self.connections += 1
            log.info("nats connected", url=self.nats_url, consumers=len(self.subscriptions))
            await self._serve(js, stop)
            self.connected = False
            await _quietly_stop(broker)

    async def _serve(self, js: JetStreamContext, stop: asyncio.Event) -> None:
        waiters: list[asyncio.Task[object]] = [
            asyncio.create_task(stop.wait()),
            asyncio.create_task(self._rebuild.wait()),
        ]
        relay_task: asyncio.Task[None] | None = None
        if self.relay is not None:
            relay_task = asyncio.create_task(self.relay.run(js, stop))
            waiters.append(relay_task)
        done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for task in waiters:
            if task not in done:
                task.cancel()
        for task in waiters:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        failure = (
            relay_task.exception()
            if relay_task is not None and relay_task in done and not relay_task.cancelled()
            else None
        )
        if failure is not None:
            log.warning("relay stopped; reconnecting", error=repr(failure))
            await _sleep_or_stop(stop, self.retry_s)


async def _quietly_stop(broker: NatsBroker) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(broker.stop(), timeout=3)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
