"""Follows dispatch's own log and delivers each page through the outside channels.

The position it has handled is a tracking record written with the delivery
outcomes (``Delivery`` events) in one transaction, so after a restart it
resumes exactly after the last page it recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from uuid import UUID

import anyio
from eventsourcing.persistence import Tracking

from plumbing import logs
from plumbing.domain import Trace
from plumbing.interface.requests import utcnow
from plumbing.messaging.relay import event_identity
from services.dispatch.application import DispatchApplication
from services.dispatch.config import Notifications
from services.dispatch.domain.delivery import Delivery
from services.dispatch.domain.response import IncidentResponse
from services.dispatch.notify.channels import Channel, Page, SmtpChannel, WebhookChannel

log = logs.get("lantern.dispatch.notify")
UPSTREAM = "dispatch.notifier"


class Notifier:
    def __init__(
        self,
        app: DispatchApplication,
        channels: list[Channel],
        poll_s: float = 0.25,
        attempts: int = 3,
    ) -> None:
        self.app = app
        self.channels = channels
        self.poll_s = poll_s
        self.attempts = attempts

    async def run(self, stop: asyncio.Event) -> None:
        if not self.channels:
            return
        position = await anyio.to_thread.run_sync(self.app.processed_position, UPSTREAM)
        while not stop.is_set():
            try:
                rows = await anyio.to_thread.run_sync(self.app.domain_events_after, position, 100)
                for notification_id, event in rows:
                    if isinstance(event, IncidentResponse.ResponderPaged):
                        await self._deliver(notification_id, event)
                    position = notification_id
            except Exception as exc:
                log.exception("notifier failed; retrying", error=repr(exc))
                rows = []
                position = await anyio.to_thread.run_sync(self.app.processed_position, UPSTREAM)
            if not rows:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.poll_s)

    async def _deliver(self, notification_id: int, event: Any) -> None:
        response: IncidentResponse = await anyio.to_thread.run_sync(
            self.app.repository.get, event.originator_id
        )
        responders = await anyio.to_thread.run_sync(self.app.board.responders)
        responder = next((r for r in responders if r.responder_id == event.responder_id), None)
        page = Page(
            page_id=event_identity("dispatch", event),
            kind=event.kind,
            dispatch_id=str(event.dispatch_id),
            incident_id=str(response.incident_id),
            responder_id=event.responder_id,
            email=responder.email if responder else "",
            school_id=response.school_id,
            risk=response.risk,
            ack_deadline=event.ack_deadline.isoformat() if event.ack_deadline else None,
        )
        trace = Trace(
            actor="service:dispatch-notifier",
            correlation_id=event.correlation_id,
            causation_id=page.page_id,
        )
        outcomes = [await self._send(channel, page, response, trace) for channel in self.channels]
        await anyio.to_thread.run_sync(
            lambda: self.app.record(*outcomes, tracking=Tracking(UPSTREAM, notification_id))
        )

    async def _send(
        self, channel: Channel, page: Page, response: IncidentResponse, trace: Trace
    ) -> Delivery:
        outcome, detail, attempt = "failed", "", 0
        for attempt in range(1, self.attempts + 1):
            try:
                detail = await anyio.to_thread.run_sync(channel.send, page)
            except Exception as exc:  # noqa: BLE001 - any channel failure is an outcome
                detail = repr(exc)[:500]
                await asyncio.sleep(0.2 * attempt)
                continue
            outcome = "skipped" if detail.startswith("skip:") else "delivered"
            break
        log.info(
            "page delivery",
            channel=channel.name,
            outcome=outcome,
            kind=page.kind,
            responder_id=page.responder_id,
            incident_id=page.incident_id,
        )
        return Delivery.record(
            page_id=page.page_id,
            incident_id=response.incident_id,
            dispatch_id=UUID(page.dispatch_id),
            responder_id=page.responder_id,
            kind=page.kind,
            channel=channel.name,
            outcome=outcome,
            detail=detail,
            attempts=attempt,
            at=utcnow(),
            trace=trace,
        )


def build_notifier(app: DispatchApplication, config: Notifications) -> Notifier:
    channels: list[Channel] = []
    if config.webhook is not None:
        channels.append(WebhookChannel(config.webhook.url, config.webhook.timeout_seconds))
    if config.smtp is not None:
        channels.append(SmtpChannel(config.smtp.host, config.smtp.port, config.smtp.sender))
    return Notifier(app, channels)
