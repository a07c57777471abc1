"""Follows dispatch's own log and delivers each page through the outside channels.

One sender at a time: the notifier runs only in the instance holding the
``notifier`` lease (``plumbing/messaging/host.py``), so two dispatch instances
never both page.  Its position is a :class:`Progress` record written with the
delivery outcomes (``Delivery`` events) in one transaction, so after a restart
it resumes exactly after the last page it recorded.

A page is sent, then recorded.  A crash in between sends it again after the
restart: at least once, never dropped to avoid a duplicate.  Every resend
carries the same id (the paging event's identity, epoch included) as the
webhook's ``Idempotency-Key`` and the e-mail's ``Message-ID``, so a receiver
recognises it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any
from uuid import UUID

import anyio
from eventsourcing.application import AggregateNotFoundError

from plumbing import logs
from plumbing.domain import Trace, rfc3339
from plumbing.interface.requests import utcnow
from plumbing.messaging.progress import Progress, progress_id
from plumbing.messaging.relay import event_identity
from services.dispatch.application import DispatchApplication
from services.dispatch.config import Notifications
from services.dispatch.domain.delivery import Delivery, delivery_id_for
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

    def progress(self) -> Progress:
        name = f"{UPSTREAM}@dispatch:{self.app.epoch.epoch}"
        try:
            found: Progress = self.app.repository.get(progress_id(name))
        except AggregateNotFoundError:
            return Progress.start(name)
        return found

    async def run(self, active: Callable[[], bool]) -> None:
        """Deliver pages while ``active()`` (this instance holds the notifier lease).

        Only a delivered page writes (its outcomes and the advanced progress, in one
        transaction); passing over other events moves a position kept in memory, so
        the notifier never pages itself into a loop over its own writes.
        """
        if not self.channels:
            return
        progress: Progress | None = None
        position = 0
        while active():
            rows: Sequence[tuple[int, Any]] = []
            try:
                if progress is None:
                    progress = await anyio.to_thread.run_sync(self.progress)
                    position = progress.position
                rows = await anyio.to_thread.run_sync(self.app.domain_events_after, position, 100)
                for notification_id, event in rows:
                    if not active():
                        return
                    if isinstance(event, IncidentResponse.ResponderPaged):
                        outcomes = await self._deliver(event)
                        progress.advance(notification_id, processed=1, parked=0)
                        await anyio.to_thread.run_sync(
                            partial(self.app.record, *outcomes, progress)
                        )
                    position = notification_id
            except Exception as exc:  # noqa: BLE001 - store trouble or a race: start again
                log.warning(
                    "notifier round failed; retrying",
                    error=repr(exc),
                    position=position,
                    progress=progress.position if progress else None,
                    name=progress.name if progress else None,
                )
                progress, rows = None, []
                await asyncio.sleep(self.poll_s)
            if not rows:
                with contextlib.suppress(TimeoutError):
                    await asyncio.sleep(self.poll_s)

    async def _deliver(self, event: Any) -> list[Delivery]:
        response: IncidentResponse = await anyio.to_thread.run_sync(
            self.app.repository.get, event.originator_id
        )
        responders = await anyio.to_thread.run_sync(self.app.board.responders)
        responder = next((r for r in responders if r.responder_id == event.responder_id), None)
        page = Page(
            page_id=event_identity("dispatch", self.app.epoch.epoch, event),
            kind=event.kind,
            dispatch_id=str(event.dispatch_id),
            incident_id=str(response.incident_id),
            responder_id=event.responder_id,
            email=responder.email if responder else "",
            school_id=response.school_id,
            risk=response.risk,
            ack_deadline=rfc3339(event.ack_deadline) if event.ack_deadline else None,
        )
        trace = Trace(
            actor="service:dispatch-notifier",
            correlation_id=event.correlation_id,
            causation_id=page.page_id,
        )
        outcomes = []
        for channel in self.channels:
            if await anyio.to_thread.run_sync(
                self.app.exists, delivery_id_for(page.page_id, channel.name)
            ):
                continue  # recorded already (by the previous holder of the lease): not again
            outcomes.append(await self._send(channel, page, response, trace))
        return outcomes

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
