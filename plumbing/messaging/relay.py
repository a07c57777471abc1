"""The outbox relay: follows a service's notification log and publishes to JetStream.

Why it is safe:

* The store is the outbox.  A command is acknowledged once its events are
  committed; publishing happens afterwards, from the log, so a broker outage
  never refuses a report and a crash between commit and publish loses nothing.
* Each message carries ``Nats-Msg-Id`` = the event's identity, so JetStream drops
  a re-publish inside its duplicate window, and ``Lantern-Position`` = the
  notification id, which consumers track, so a re-publish outside the window
  is still without effect.
* The resume point is never kept locally: at every (re)start it is read from the
  last message the stream actually holds.  If a NATS crash lost an un-synced
  tail, the relay simply publishes that tail again.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import anyio
from nats.js import JetStreamContext
from structlog.contextvars import bound_contextvars

from events import headers as h
from events.codec import encode
from plumbing import logs
from plumbing.envelope import Outgoing, Translator
from plumbing.store.application import LanternApplication

log = logs.get("lantern.relay")


def event_identity(service: str, domain_event: Any) -> str:
    """Stable id of a stored event: the same in every store and on every re-publish."""
    return f"{service}/{domain_event.originator_id}/{domain_event.originator_version}"


class OutboxRelay:
    def __init__(
        self,
        *,
        app: LanternApplication,
        service: str,
        stream: str,
        translate: Translator,
        batch_size: int = 500,
        idle_poll_s: float = 0.5,
        ack_timeout_s: float = 10.0,
    ) -> None:
        self.app = app
        self.service = service
        self.stream = stream
        self.translate = translate
        self.batch_size = batch_size
        self.idle_poll_s = idle_poll_s
        self.ack_timeout_s = ack_timeout_s
        self.position = 0
        self.published = 0
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- wake-up -------------------------------------------------------------------
    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Be woken right after each commit (called from any thread)."""
        self._loop = loop
        self.app.add_listener(self.wake)

    def wake(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake.set)

    # -- resume point ------------------------------------------------------------------
    async def resume_point(self, js: JetStreamContext) -> int:
        """Position of the last event the stream holds (0 for an empty stream)."""
        info = await js.stream_info(self.stream)
        last_seq = info.state.last_seq
        if not last_seq:
            return 0
        last = await js.get_msg(self.stream, seq=last_seq)
        return int((last.headers or {}).get(h.POSITION, "0"))

    # -- publishing ----------------------------------------------------------------------
    async def run(self, js: JetStreamContext, stop: asyncio.Event) -> None:
        """Publish until ``stop`` is set; errors propagate so the host can reconnect."""
        self.position = await self.resume_point(js)
        log.info("relay resumed", stream=self.stream, position=self.position)
        while not stop.is_set():
            sent = await self.publish_pending(js)
            if sent == 0:
                self._wake.clear()
                if await self._has_more():
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.idle_poll_s)

    async def _has_more(self) -> bool:
        rows = await anyio.to_thread.run_sync(self.app.domain_events_after, self.position, 1)
        return bool(rows)

    async def publish_pending(self, js: JetStreamContext) -> int:
        """Publish one batch after the current position; returns how many rows were read.

        The batch is pipelined: every message is sent, then every acknowledgement
        awaited, so a backlog costs one round trip (and one fsync wait) per batch
        rather than per message.  JetStream stores a connection's publishes in the
        order sent, so stream order stays notification order.  The position only
        advances once the whole batch is acknowledged; a failure leaves it for the
        resume point (read from the stream) to settle.
        """
        rows = await anyio.to_thread.run_sync(
            self.app.domain_events_after, self.position, self.batch_size
        )
        sent: list[tuple[asyncio.Future[Any], dict[str, str], Outgoing, int]] = []
        for position, domain_event in rows:
            outgoing = self.translate(domain_event)
            if outgoing is not None:
                headers = self._headers(position, domain_event, outgoing)
                future = await js.publish_async(
                    outgoing.subject,
                    encode(outgoing.message),
                    stream=self.stream,
                    headers=headers,
                )
                sent.append((future, headers, outgoing, position))
        for future, headers, outgoing, position in sent:
            ack = await asyncio.wait_for(future, timeout=self.ack_timeout_s)
            self.published += 1
            with bound_contextvars(
                incident_id=outgoing.incident_id,
                correlation_id=headers[h.CORRELATION_ID],
                causation_id=headers[h.CAUSATION_ID],
            ):
                log.debug(
                    "published",
                    subject=outgoing.subject,
                    event_id=headers[h.MSG_ID],
                    position=position,
                    seq=ack.seq,
                    duplicate=ack.duplicate,
                )
        if rows:
            self.position = rows[-1][0]
        return len(rows)

    def _headers(self, position: int, domain_event: Any, outgoing: Outgoing) -> dict[str, str]:
        headers = {
            h.MSG_ID: event_identity(self.service, domain_event),
            h.SOURCE: self.service,
            h.POSITION: str(position),
            h.SCHEMA: type(outgoing.message).__struct_config__.tag or "",
            h.CORRELATION_ID: str(getattr(domain_event, "correlation_id", "")),
            h.CAUSATION_ID: str(getattr(domain_event, "causation_id", "")),
            h.RECORDED_AT: domain_event.timestamp.isoformat(),
        }
        if outgoing.incident_id:
            headers[h.INCIDENT_ID] = outgoing.incident_id
        return headers
