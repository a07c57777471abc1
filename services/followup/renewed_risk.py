"""Reports renewed risk found at a check-in to intake, as a new incident linked to the first.

Reliable without a distributed transaction: the check-in records the renewed
risk first (durable, in follow-up's store); this worker then submits the
report through intake's public request-reply subject, with an idempotency key
derived from the check-in id, and records the incident id intake answers.  A
crash or a timeout anywhere means the next round submits again.  Intake
answers a repeated key with the same incident, so nothing is reported twice.

Who sends it: follow-up's delegation token (``report_incident`` only, issued
at deploy time; ``plumbing.access.trust.delegation_headers``), never a token
follow-up made: it holds no signing key.  The report's ``reporter_id`` is the
person who recorded the check-in, and intake's audit entry records both, the
delegation as actor and "on behalf of" that person.  A 401 (no delegation, or
an expired one) is not intake's verdict on the report: it is retried.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import Any
from uuid import UUID

import anyio
import nats
from nats.aio.client import Client

from events.codec import ContractError, decode, encode
from events.common import ErrorV1
from events.intake import IncidentAcceptedV1, ReportIncidentV1
from events.subjects import Subjects
from events.vocabulary import Category, RiskLevel
from plumbing import logs
from plumbing.interface.commands import STATUS_HEADER
from plumbing.interface.requests import ACTOR_HEADER, CORRELATION_HEADER
from plumbing.messaging import natsurl
from plumbing.settings import nats_servers
from plumbing.timers import Clock
from services.followup.application import FollowupApplication
from services.followup.domain.ids import renewed_risk_key

log = logs.get("lantern.followup.renewed_risk")

#: Send one request and return (reply body, reply headers).
Send = Callable[[str, bytes, dict[str, str]], Awaitable[tuple[bytes, dict[str, str]]]]


def report_for(checkin_id: UUID, facts: dict[str, Any]) -> ReportIncidentV1:
    """The report intake receives: pseudonymous ref, categories, risk; no check-in note."""
    return ReportIncidentV1(
        school_id=facts["school_id"],
        student_ref=facts["student_ref"],
        categories=[Category(c) for c in facts["categories"]],
        risk=RiskLevel(facts["risk"]),
        reporter_id=facts["by"],
        idempotency_key=renewed_risk_key(checkin_id),
        linked_incident_id=UUID(facts["incident_id"]),
    )


class RenewedRiskReporter:
    def __init__(
        self,
        app: FollowupApplication,
        subjects: Subjects,
        *,
        clock: Clock,
        nats_url: str = "",
        interval_s: float = 0.5,
        timeout_s: float = 5.0,
        delegation: Mapping[str, str] | None = None,
    ) -> None:
        self.app = app
        self.subjects = subjects
        self.clock = clock
        self.nats_url = nats_url
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.reported = 0
        #: headers carrying follow-up's delegation token (report_incident only)
        self.delegation = dict(delegation or {})

    async def report_pending(self, send: Send) -> int:
        """Submit every pending report once; returns how many were settled (accepted/refused)."""
        settled = 0
        for plan_id, checkin_id, facts in await anyio.to_thread.run_sync(
            self.app.board.pending_reports
        ):
            headers = {CORRELATION_HEADER: facts["correlation_id"], ACTOR_HEADER: facts["by"]}
            headers.update(self.delegation)
            raw, reply_headers = await send(
                self.subjects.report_incident, encode(report_for(checkin_id, facts)), headers
            )
            status = int(reply_headers.get(STATUS_HEADER, "0"))
            if status in (200, 201):
                accepted = decode(raw, IncidentAcceptedV1)
                await anyio.to_thread.run_sync(
                    partial(
                        self.app.renewed_risk_reported,
                        plan_id,
                        checkin_id,
                        incident_id=accepted.incident_id,
                        linked=bool(getattr(accepted, "linked", False)),
                        at=self.clock(),
                    )
                )
                log.info("renewed risk reported", incident_id=str(accepted.incident_id))
            elif status == 401:
                log.error("intake refused follow-up's delegation token; will retry")
                continue
            elif 400 <= status < 500:
                refusal = _refusal(raw)
                await anyio.to_thread.run_sync(
                    partial(
                        self.app.renewed_risk_refused,
                        plan_id,
                        checkin_id,
                        error=refusal.error,
                        field=refusal.field or "",
                        at=self.clock(),
                    )
                )
                log.error("intake refused the renewed-risk report", error=refusal.error)
            else:
                log.warning("intake did not accept the report; will retry", status=status)
                continue
            settled += 1
            self.reported += 1
        return settled

    async def run(self, stop: asyncio.Event) -> None:
        """Background work: keep a NATS connection, submit pending reports every interval."""
        nc: Client | None = None
        try:
            while not stop.is_set():
                try:
                    if nc is None or nc.is_closed:
                        servers = nats_servers(self.nats_url)
                        nc = await nats.connect(
                            servers,
                            connect_timeout=2,
                            max_reconnect_attempts=-1,
                            **natsurl.options(self.nats_url),
                        )
                    if nc.is_connected:
                        await self.report_pending(self._sender(nc))
                except Exception as exc:  # noqa: BLE001 - retried next round
                    log.warning("renewed-risk reporting failed; will retry", error=repr(exc))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.interval_s)
        finally:
            if nc is not None and not nc.is_closed:
                with contextlib.suppress(Exception):
                    await nc.close()

    def _sender(self, nc: Client) -> Send:
        async def send(
            subject: str, body: bytes, headers: dict[str, str]
        ) -> tuple[bytes, dict[str, str]]:
            reply = await nc.request(subject, body, timeout=self.timeout_s, headers=headers)
            return reply.data, dict(reply.headers or {})

        return send


def _refusal(raw: bytes) -> ErrorV1:
    try:
        return decode(raw, ErrorV1)
    except ContractError:
        return ErrorV1(error="intake refused the report")
