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
from typing import Any

from faststream import AckPolicy
from faststream.nats import JStream, NatsBroker, PullSub
from faststream.nats.annotations import NatsMessage
from nats.js import JetStreamContext
from nats.js.api import AckPolicy as JsAckPolicy
from nats.js.api import ConsumerConfig, DeliverPolicy

from events.subjects import Subjects
from plumbing import logs
from plumbing.messaging.consumer import Decide, TrackedConsumer
from plumbing.messaging.relay import OutboxRelay
from plumbing.messaging.streams import ensure_streams
from plumbing.store.application import LanternApplication

log = logs.get("lantern.messaging")

#: A core-NATS request-reply handler: raw request bytes in, reply bytes (and headers) out.
Responder = Callable[[bytes, dict[str, str]], Awaitable[bytes | tuple[bytes, dict[str, str]]]]


@dataclass
class Subscription:
    """A durable, strictly ordered pull consumer on another service's stream."""

    consumer: TrackedConsumer
    stream: str
    subject: str
    durable: str


def follow(
    app: LanternApplication,
    *,
    service: str,
    upstream: str,
    message_type: Any,
    decide: Decide,
    subjects: Subjects,
) -> Subscription:
    """``service`` follows ``upstream``'s stream: one durable, ordered, tracked consumer."""
    name = f"{service}-from-{upstream}"
    consumer = TrackedConsumer(
        app=app,
        name=service,
        upstream=upstream,
        message_type=message_type,
        decide=decide,
        dlq_subject=subjects.dlq(name),
        dlq_stream=subjects.dlq_stream,
    )
    return Subscription(
        consumer=consumer,
        stream=subjects.stream(upstream),
        subject=subjects.stream_subjects(upstream),
        durable=name,
    )


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
    _reconnected: asyncio.Event = field(default_factory=asyncio.Event)

    def _broker(self) -> NatsBroker:
        async def on_reconnected() -> None:
            log.warning("nats reconnected; checking streams and consumers")
            self.connected = True
            self._reconnected.set()

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
            ack_wait=10,
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
            body, headers = reply if isinstance(reply, tuple) else (reply, {})
            if msg.reply_to:
                await broker.connection.publish(msg.reply_to, body, headers=headers or None)

        broker.subscriber(subject, queue="lantern", ack_policy=AckPolicy.MANUAL)(handler)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self._reconnected.clear()
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
        """Run the relay until stop; after a reconnection, rebuild only if the server lost state.

        Tearing down healthy pull consumers would strand a message delivered to the
        old subscription until its ack wait expires, so a reconnection to a server
        that still has the streams and consumers keeps them.
        """
        relay_task = asyncio.create_task(self._relay(js, stop))
        stopping = asyncio.create_task(stop.wait())
        try:
            while True:
                reconnected = asyncio.create_task(self._reconnected.wait())
                done, _ = await asyncio.wait(
                    [stopping, reconnected, relay_task], return_when=asyncio.FIRST_COMPLETED
                )
                reconnected.cancel()
                if stopping in done:
                    return
                if relay_task in done:
                    failure = None if relay_task.cancelled() else relay_task.exception()
                    log.warning("relay stopped; reconnecting", error=repr(failure))
                    await _sleep_or_stop(stop, self.retry_s)
                    return
                self._reconnected.clear()
                if not await self._state_intact(js):
                    log.warning("nats lost streams or consumers; rebuilding")
                    return
                relay_task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await relay_task
                relay_task = asyncio.create_task(self._relay(js, stop))
        finally:
            for task in (relay_task, stopping):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _relay(self, js: JetStreamContext, stop: asyncio.Event) -> None:
        if self.relay is None:
            await stop.wait()
            return
        await self.relay.run(js, stop)

    async def _state_intact(self, js: JetStreamContext) -> bool:
        try:
            await ensure_streams(js, self.subjects)
            for sub in self.subscriptions:
                await js.consumer_info(sub.stream, sub.durable)
        except Exception as exc:  # noqa: BLE001 - anything missing means rebuild
            log.info("server state check failed", error=repr(exc))
            return False
        return True


async def _quietly_stop(broker: NatsBroker) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(broker.stop(), timeout=3)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
