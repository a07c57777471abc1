"""The idempotent consumer: exactly-once effect from at-least-once delivery.

For each message of one upstream service, in order (the durable pull consumer
allows one unacknowledged message at a time):

1. a position already tracked is acknowledged and ignored (redelivery, re-publish);
2. the payload is decoded against the contract; a malformed message cannot get
   better by retrying, so it is parked in the dead-letter stream at once;
3. the service decides, and the new events are stored in one transaction with
   the tracking record (upstream name, position);
4. a failure is retried with a growing delay; after ``max_deliveries`` the
   message is parked with its error, and the consumer moves on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Tracking
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from structlog.contextvars import bound_contextvars

from events import headers as h
from events.codec import ContractError, decode
from plumbing import logs
from plumbing.domain import Trace
from plumbing.store.application import LanternApplication

log = logs.get("lantern.consumer")

#: Decide what to store for one upstream event; returns the changed aggregates.
Decide = Callable[[Any, Trace], Sequence[Aggregate]]


@dataclass(frozen=True)
class Outcome:
    action: str  # "processed" | "duplicate" | "parked" | "retry"
    reason: str = ""


class TrackedConsumer:
    def __init__(
        self,
        *,
        app: LanternApplication,
        name: str,
        upstream: str,
        message_type: Any,
        decide: Decide,
        dlq_subject: str,
        dlq_stream: str,
        max_deliveries: int = 5,
        backoff_s: Sequence[float] = (0.5, 1.0, 2.0, 5.0, 10.0),
    ) -> None:
        self.app = app
        self.name = name
        self.upstream = upstream
        self.message_type = message_type
        self.decide = decide
        self.dlq_subject = dlq_subject
        self.dlq_stream = dlq_stream
        self.max_deliveries = max_deliveries
        self.backoff_s = backoff_s
        self.consumes = tags_of(message_type)

    def delay_for(self, deliveries: int) -> float:
        return self.backoff_s[min(deliveries, len(self.backoff_s)) - 1]

    async def handle(self, msg: Msg, js: JetStreamContext) -> Outcome:
        """Process one message and settle it (ack, nak with delay, or park+ack)."""
        headers = msg.headers or {}
        deliveries = _deliveries(msg)
        with bound_contextvars(
            incident_id=headers.get(h.INCIDENT_ID),
            correlation_id=headers.get(h.CORRELATION_ID),
            causation_id=headers.get(h.MSG_ID),
            upstream=self.upstream,
        ):
            outcome = await self._handle(msg, headers, deliveries, js)
            log.info(
                "consumed",
                consumer=self.name,
                subject=msg.subject,
                action=outcome.action,
                reason=outcome.reason or None,
                deliveries=deliveries,
            )
            return outcome

    async def _handle(
        self, msg: Msg, headers: dict[str, str], deliveries: int, js: JetStreamContext
    ) -> Outcome:
        try:
            position = int(headers[h.POSITION])
        except (KeyError, ValueError):
            return await self._park(msg, js, deliveries, f"missing or bad {h.POSITION} header")
        schema = headers.get(h.SCHEMA, "")
        if schema and self.consumes and schema not in self.consumes:
            await msg.ack()  # a kind this consumer does not read (audit entries...): not poison
            return Outcome("ignored", schema)
        try:
            event = decode(msg.data, self.message_type)
        except ContractError as exc:
            return await self._park(msg, js, deliveries, f"malformed: {exc}")
        trace = Trace(
            actor=f"service:{self.name}",
            correlation_id=headers.get(h.CORRELATION_ID, ""),
            causation_id=headers.get(h.MSG_ID, ""),
        )
        tracking = Tracking(application_name=self.upstream, notification_id=position)
        try:
            fresh = await anyio.to_thread.run_sync(self._process, event, trace, tracking)
        except IntegrityError:
            if await anyio.to_thread.run_sync(self.app.is_processed, self.upstream, position):
                await msg.ack()
                return Outcome("duplicate", "processed concurrently")
            return await self._retry_or_park(msg, js, deliveries, "write conflict")
        except Exception as exc:  # noqa: BLE001 - any failure is retried, then parked
            log.warning("handler failed", consumer=self.name, error=repr(exc))
            return await self._retry_or_park(msg, js, deliveries, repr(exc))
        await msg.ack()
        return Outcome("processed" if fresh else "duplicate")

    def _process(self, event: Any, trace: Trace, tracking: Tracking) -> bool:
        """Decide and record with the tracking record, in one worker-thread hop.

        Returns False when the position was already processed (nothing done).
        """
        if self.app.is_processed(self.upstream, tracking.notification_id):
            return False
        aggregates = self.decide(event, trace)
        self.app.record(*aggregates, tracking=tracking)
        return True

    async def _retry_or_park(
        self, msg: Msg, js: JetStreamContext, deliveries: int, reason: str
    ) -> Outcome:
        if deliveries >= self.max_deliveries:
            return await self._park(msg, js, deliveries, reason)
        await msg.nak(delay=self.delay_for(deliveries))
        return Outcome("retry", reason)

    async def _park(self, msg: Msg, js: JetStreamContext, deliveries: int, reason: str) -> Outcome:
        """Copy the message into the dead-letter stream with why, then take it off the queue."""
        headers = dict(msg.headers or {})
        stream_seq = _stream_seq(msg)
        headers.pop(h.MSG_ID, None)
        headers.update(
            {
                h.MSG_ID: f"dlq/{self.name}/{msg.subject}/{stream_seq}",
                h.ERROR: reason[:1000],
                h.DELIVERIES: str(deliveries),
                h.ORIGINAL_SUBJECT: msg.subject,
            }
        )
        await js.publish(self.dlq_subject, msg.data, stream=self.dlq_stream, headers=headers)
        await msg.ack()
        log.error("parked in dead-letter stream", consumer=self.name, reason=reason)
        return Outcome("parked", reason)


def tags_of(message_type: Any) -> frozenset[str]:
    """The contract tags a consumer decodes (empty when they cannot be told)."""
    kinds = getattr(message_type, "__args__", None) or (message_type,)
    tags = {getattr(getattr(k, "__struct_config__", None), "tag", None) for k in kinds}
    return frozenset(t for t in tags if isinstance(t, str))


def _deliveries(msg: Msg) -> int:
    try:
        return int(msg.metadata.num_delivered)
    except Exception:  # noqa: BLE001 - not a JetStream message (in-memory tests)
        return 1


def _stream_seq(msg: Msg) -> int:
    try:
        return int(msg.metadata.sequence.stream)
    except Exception:  # noqa: BLE001
        return 0
