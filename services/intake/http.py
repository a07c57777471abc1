"""Intake's HTTP API: the path a report takes that does not depend on NATS."""

from __future__ import annotations

from uuid import UUID

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from structlog.contextvars import bound_contextvars

from events.codec import ContractError
from events.commands import AddSchoolV1, IncidentAcceptedV1, ReportIncidentV1
from plumbing import logs
from plumbing.http import call, endpoint, read, reply
from plumbing.requests import trace_from, utcnow
from services.intake.application import IntakeApplication

log = logs.get("lantern.intake.http")


def _uuid(value: str, field: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise ContractError("not a valid incident id", field) from None


def routes(app: IntakeApplication) -> list[BaseRoute]:
    @endpoint
    async def report(request: Request) -> Response:
        command = await read(request, ReportIncidentV1)
        trace = trace_from(request.headers, interface="http", actor=command.reporter_id)
        with bound_contextvars(
            correlation_id=trace.correlation_id, causation_id=trace.causation_id
        ):
            accepted = await call(lambda: app.report_incident(command, at=utcnow(), trace=trace))
            log.info(
                "report accepted",
                incident_id=str(accepted.incident_id),
                duplicate=accepted.duplicate,
            )
        body = IncidentAcceptedV1(incident_id=accepted.incident_id, duplicate=accepted.duplicate)
        return reply(body, 200 if accepted.duplicate else 201)

    @endpoint
    async def show(request: Request) -> Response:
        incident_id = _uuid(request.path_params["incident_id"], "incident_id")
        return reply(await call(app.incident_view, incident_id))

    @endpoint
    async def list_schools(_: Request) -> Response:
        return reply(await call(app.schools))

    @endpoint
    async def add_school(request: Request) -> Response:
        command = await read(request, AddSchoolV1)
        trace = trace_from(request.headers, interface="http")
        await call(lambda: app.add_school(command, trace=trace))
        return reply({"id": command.school_id, "name": command.name}, 201)

    return [
        Route("/incidents", report, methods=["POST"]),
        Route("/incidents/{incident_id}", show, methods=["GET"]),
        Route("/schools", list_schools, methods=["GET"]),
        Route("/schools", add_school, methods=["POST"]),
    ]
