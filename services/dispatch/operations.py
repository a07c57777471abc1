"""Dispatch's operations, served identically over HTTP and NATS request-reply."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from events.dispatch import (
    AcknowledgeDispatchV1,
    AddOverrideV1,
    AddResponderV1,
    DeclineDispatchV1,
    DispatchReplyV1,
    ImportRosterV1,
    ListDispatchesV1,
    ListRosterV1,
    SetAvailabilityV1,
    ShowResponseV1,
    SwapShiftV1,
    UpdateDispatchStatusV1,
)
from plumbing.access import rules as access
from plumbing.access.auth import Role
from plumbing.access.rules import READERS, STAFF, Resource
from plumbing.domain import Invalid, NotFound
from plumbing.interface.commands import Context, Operation, Result
from services.dispatch.application import DispatchApplication
from services.dispatch.domain.response import IncidentResponse
from services.dispatch.whatif.operation import operation as whatif_operation

#: acting on a dispatch: the responder themselves, a supervisor of the school (escalation
#: reaches supervisors), an administrator
RESPONDERS = frozenset({Role.RESPONDER, Role.SUPERVISOR, Role.ADMIN})
SHIFTS = frozenset({Role.SUPERVISOR, Role.ADMIN})  # on-call changes


def operations(app: DispatchApplication) -> list[Operation[Any]]:
    def resource(response: IncidentResponse) -> Resource:
        """What access rules need: the incident's school and who was dispatched to it."""
        incident_id = str(response.incident_id)
        dispatched = {
            d["responder_id"] for d in app.dispatches() if d["incident_id"] == incident_id
        }
        return Resource(
            incident_id=incident_id,
            school_id=response.school_id,
            student_ref=response.student_ref,
            responders=frozenset(dispatched),
        )

    def by_incident(q: Any) -> Resource:
        response = app._response_or_none(q.incident_id)
        if response is None:
            raise NotFound(f"dispatch has not seen incident {q.incident_id}", "incident_id")
        return resource(response)

    def by_dispatch(c: Any) -> Resource:
        return resource(app.response_of(c.dispatch_id))

    def by_responders(*fields: str) -> Callable[[Any], Resource]:
        """A roster write's scope: the schools of each responder it changes.

        A supervisor may change only responders who work at one of their schools
        (``rules.in_scope``); an unknown responder has no school, so a supervisor
        is refused without learning whether the id exists (an administrator gets
        the roster's own 404).
        """

        def scope(c: Any) -> Resource:
            schools = {r.responder_id: frozenset(r.schools) for r in app.board.responders()}
            named = [str(getattr(c, f)) for f in fields]
            return Resource(
                responder_schools=tuple((n, schools.get(n, frozenset())) for n in named)
            )

        return scope

    def enroll(command: AddResponderV1, ctx: Context) -> Result:
        app.enroll_responders([command], trace=ctx.trace)
        return Result({"responder_id": command.responder_id}, 201)

    def import_roster(command: ImportRosterV1, ctx: Context) -> Result:
        changed = app.enroll_responders(list(command.responders), trace=ctx.trace)
        return Result({"responders": len(command.responders), "changed": changed}, 201)

    def availability(command: SetAvailabilityV1, ctx: Context) -> dict[str, Any]:
        app.set_availability(
            command.responder_id, command.available, command.reason, trace=ctx.trace
        )
        return {"responder_id": command.responder_id, "available": command.available}

    def override(command: AddOverrideV1, ctx: Context) -> dict[str, Any]:
        _interval(command.start, command.end)
        app.add_override(
            command.responder_id,
            command.start,
            command.end,
            command.on_call,
            command.reason,
            trace=ctx.trace,
        )
        return {"responder_id": command.responder_id}

    def swap(command: SwapShiftV1, ctx: Context) -> dict[str, Any]:
        _interval(command.start, command.end)
        app.swap(
            command.from_responder_id,
            command.to_responder_id,
            command.start,
            command.end,
            command.reason,
            trace=ctx.trace,
        )
        return {
            "from_responder_id": command.from_responder_id,
            "to_responder_id": command.to_responder_id,
        }

    def acknowledge(command: AcknowledgeDispatchV1, ctx: Context) -> DispatchReplyV1:
        changed = app.acknowledge(
            command.dispatch_id, command.responder_id, at=ctx.now, trace=ctx.trace
        )
        return _reply(command.dispatch_id, changed)

    def decline(command: DeclineDispatchV1, ctx: Context) -> DispatchReplyV1:
        app.decline(
            command.dispatch_id, command.responder_id, command.reason, at=ctx.now, trace=ctx.trace
        )
        return _reply(command.dispatch_id, True)

    def update(command: UpdateDispatchStatusV1, ctx: Context) -> DispatchReplyV1:
        app.report_status(
            command.dispatch_id,
            command.responder_id,
            command.state,
            handed_off_to=command.to,
            note=command.note,
            at=ctx.now,
            trace=ctx.trace,
        )
        return _reply(command.dispatch_id, True)

    def _reply(dispatch_id: Any, changed: bool) -> DispatchReplyV1:
        row = next(d for d in app.dispatches() if d["dispatch_id"] == str(dispatch_id))
        return DispatchReplyV1(
            dispatch_id=dispatch_id,
            incident_id=row["incident_id"],
            state=row["state"],
            changed=changed,
        )

    return [
        Operation(
            "add_responder",
            AddResponderV1,
            "POST",
            "/roster/responders",
            enroll,
            access=access.admin(),
        ),
        Operation(
            "import_roster",
            ImportRosterV1,
            "POST",
            "/roster/import",
            import_roster,
            summary="Add or update many responders, all or nothing",
            access=access.admin(),
        ),
        Operation(
            "set_availability",
            SetAvailabilityV1,
            "POST",
            "/roster/responders/{responder_id}/availability",
            availability,
            access=access.admin(Role.SUPERVISOR, scope=by_responders("responder_id")),
        ),
        Operation(
            "add_override",
            AddOverrideV1,
            "POST",
            "/roster/responders/{responder_id}/overrides",
            override,
            access=access.admin(Role.SUPERVISOR, scope=by_responders("responder_id")),
        ),
        Operation(
            "swap_shift",
            SwapShiftV1,
            "POST",
            "/roster/swaps",
            swap,
            access=access.admin(
                Role.SUPERVISOR, scope=by_responders("from_responder_id", "to_responder_id")
            ),
        ),
        Operation(
            "list_roster",
            ListRosterV1,
            "GET",
            "/roster/responders",
            lambda _, __: app.responders(),
            access=access.read(STAFF, student_data=False),
        ),
        Operation(
            "show_response",
            ShowResponseV1,
            "GET",
            "/incidents/{incident_id}/response",
            lambda q, _: app.response_view(q.incident_id),
            access=access.read(READERS, by_incident),
        ),
        Operation(
            "list_dispatches",
            ListDispatchesV1,
            "GET",
            "/dispatches",
            lambda q, ctx: [
                row
                for row in app.dispatches(responder=q.responder_id, state=q.state)
                if access.sees_school(ctx.identity, row["school_id"])
            ],
            summary="Dispatches (a responder lists only their own: responder_id=you)",
            access=access.read(READERS, self_field="responder_id", student_data=False),
        ),
        Operation(
            "acknowledge_dispatch",
            AcknowledgeDispatchV1,
            "POST",
            "/dispatches/{dispatch_id}/ack",
            acknowledge,
            returns=DispatchReplyV1,
            summary="I have it: stops every pending escalation step",
            actor_field="responder_id",
            access=access.command(RESPONDERS, by_dispatch, self_field="responder_id"),
        ),
        Operation(
            "decline_dispatch",
            DeclineDispatchV1,
            "POST",
            "/dispatches/{dispatch_id}/decline",
            decline,
            returns=DispatchReplyV1,
            summary="Decline with a reason: the chain moves on at once",
            actor_field="responder_id",
            access=access.command(RESPONDERS, by_dispatch, self_field="responder_id"),
        ),
        Operation(
            "update_dispatch_status",
            UpdateDispatchStatusV1,
            "POST",
            "/dispatches/{dispatch_id}/status",
            update,
            returns=DispatchReplyV1,
            summary="Field status: en_route, with_student, stabilized, handed_off, resolved",
            actor_field="responder_id",
            access=access.command(RESPONDERS, by_dispatch, self_field="responder_id"),
        ),
        whatif_operation(app),
    ]


def _interval(start: Any, end: Any) -> None:
    if end <= start:
        raise Invalid("end must be after start", "end")
