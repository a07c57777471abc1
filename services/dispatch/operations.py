"""Dispatch's operations, served identically over HTTP and NATS request-reply."""

from __future__ import annotations

from typing import Any

from events.dispatch import AddResponderV1, ListDispatchesV1, ListRosterV1, ShowResponseV1
from plumbing.commands import Context, Operation, Result
from services.dispatch.application import DispatchApplication


def operations(app: DispatchApplication) -> list[Operation[Any]]:
    def enroll(command: AddResponderV1, ctx: Context) -> Result:
        app.enroll_responder(command, trace=ctx.trace)
        return Result({"responder_id": command.responder_id}, 201)

    return [
        Operation("add_responder", AddResponderV1, "POST", "/roster/responders", enroll),
        Operation(
            "list_roster", ListRosterV1, "GET", "/roster/responders", lambda _, __: app.responders()
        ),
        Operation(
            "show_response",
            ShowResponseV1,
            "GET",
            "/incidents/{incident_id}/response",
            lambda q, _: app.response_view(q.incident_id),
        ),
        Operation(
            "list_dispatches",
            ListDispatchesV1,
            "GET",
            "/dispatches",
            lambda q, _: app.dispatches(responder=q.responder_id, state=q.state),
        ),
    ]
