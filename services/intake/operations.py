"""Intake's operations, served identically over HTTP and NATS request-reply."""

from __future__ import annotations

from typing import Any

from events.intake import (
    AddSchoolV1,
    IncidentAcceptedV1,
    ListSchoolsV1,
    ReportIncidentV1,
    ShowIncidentV1,
)
from plumbing.commands import Context, Operation, Result
from services.intake.application import IntakeApplication


def operations(app: IntakeApplication) -> list[Operation[Any]]:
    def report(command: ReportIncidentV1, ctx: Context) -> Result:
        accepted = app.report_incident(command, at=ctx.now, trace=ctx.trace)
        body = IncidentAcceptedV1(incident_id=accepted.incident_id, duplicate=accepted.duplicate)
        return Result(body, 200 if accepted.duplicate else 201)

    def add_school(command: AddSchoolV1, ctx: Context) -> Result:
        app.add_school(command, trace=ctx.trace)
        return Result({"id": command.school_id, "name": command.name}, 201)

    return [
        Operation(
            "report_incident",
            ReportIncidentV1,
            "POST",
            "/incidents",
            report,
            summary="Report a student in distress (durable before the reply)",
            returns=IncidentAcceptedV1,
            actor_field="reporter_id",
        ),
        Operation(
            "show_incident",
            ShowIncidentV1,
            "GET",
            "/incidents/{incident_id}",
            lambda q, _: app.incident_view(q.incident_id),
        ),
        Operation("list_schools", ListSchoolsV1, "GET", "/schools", lambda _, __: app.schools()),
        Operation("add_school", AddSchoolV1, "POST", "/schools", add_school),
    ]
