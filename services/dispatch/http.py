"""Dispatch's HTTP API: roster and dispatches."""

from __future__ import annotations

from uuid import UUID

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from events.codec import ContractError
from events.commands import AddResponderV1
from plumbing.http import call, endpoint, read, reply
from plumbing.requests import trace_from
from services.dispatch.application import DispatchApplication


def routes(app: DispatchApplication) -> list[BaseRoute]:
    @endpoint
    async def enroll(request: Request) -> Response:
        command = await read(request, AddResponderV1)
        trace = trace_from(request.headers, interface="http")
        await call(lambda: app.enroll_responder(command, trace=trace))
        return reply({"responder_id": command.responder_id}, 201)

    @endpoint
    async def roster(_: Request) -> Response:
        return reply(await call(app.responders))

    @endpoint
    async def response(request: Request) -> Response:
        try:
            incident_id = UUID(request.path_params["incident_id"])
        except ValueError:
            raise ContractError("not a valid incident id", "incident_id") from None
        return reply(await call(app.response_view, incident_id))

    @endpoint
    async def dispatches(request: Request) -> Response:
        responder = request.query_params.get("responder")
        state = request.query_params.get("state")
        return reply(await call(lambda: app.dispatches(responder=responder, state=state)))

    return [
        Route("/roster/responders", enroll, methods=["POST"]),
        Route("/roster/responders", roster, methods=["GET"]),
        Route("/incidents/{incident_id}/response", response, methods=["GET"]),
        Route("/dispatches", dispatches, methods=["GET"]),
    ]
