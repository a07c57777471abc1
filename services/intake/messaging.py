"""Intake's NATS side: a request-reply subject for reports (same validation as HTTP)."""

from __future__ import annotations

from events.codec import decode, encode
from events.commands import IncidentAcceptedV1, ReportIncidentV1
from plumbing.http import call
from plumbing.messaging import Responder
from plumbing.nats_replies import refusal
from plumbing.requests import trace_from, utcnow
from services.intake.application import IntakeApplication


def report_responder(app: IntakeApplication) -> Responder:
    async def respond(raw: bytes, headers: dict[str, str]) -> bytes:
        try:
            command = decode(raw, ReportIncidentV1)
            trace = trace_from(headers, interface="nats", actor=command.reporter_id)
            accepted = await call(lambda: app.report_incident(command, at=utcnow(), trace=trace))
        except Exception as exc:  # noqa: BLE001 - every refusal becomes an ErrorV1 reply
            return refusal(exc)
        return encode(
            IncidentAcceptedV1(incident_id=accepted.incident_id, duplicate=accepted.duplicate)
        )

    return respond
