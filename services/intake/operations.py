"""Intake's operations, served identically over HTTP and NATS request-reply.

Each becomes ``POST|GET <path>`` and ``<prefix>.cmd.intake.<name>``, with the
same validation and the same ``ErrorV1`` refusals (see ``plumbing.interface.commands``).
"""

from __future__ import annotations

from typing import Any

from events.access import ShowStudentV1, ShredStudentV1
from events.intake import (
    AddNoteV1,
    AddSchoolV1,
    CancelIncidentV1,
    CloseIncidentV1,
    CorrectIncidentV1,
    IncidentAcceptedV1,
    IncidentChangedV1,
    ListSchoolsV1,
    ReclassifyRiskV1,
    ReportIncidentV1,
    ShowIncidentV1,
)
from events.vocabulary import RiskLevel
from plumbing import care_team, privacy
from plumbing.access import rules as access
from plumbing.access.auth import Role
from plumbing.access.rules import EVERYONE, STAFF, Resource
from plumbing.domain import NotFound
from plumbing.interface.commands import Context, Operation, Result
from services.intake.application import Accepted, IntakeApplication
from services.intake.domain.incident import Incident
from services.intake.domain.triage import EMERGENCY_INSTRUCTION


def accepted_reply(accepted: Accepted) -> IncidentAcceptedV1:
    """What the reporter is told; immediate danger always comes with the call-911 instruction."""
    decided = accepted.triage
    danger = decided is not None and decided.immediate_danger is not None
    return IncidentAcceptedV1(
        incident_id=accepted.incident_id,
        duplicate=accepted.duplicate,
        linked=accepted.linked,
        report_id=accepted.report_id,
        risk=RiskLevel(decided.risk) if decided else None,
        suggested_risk=RiskLevel(decided.suggested) if decided and decided.suggested else None,
        emergency_instruction=EMERGENCY_INSTRUCTION if danger else "",
    )


def changed(incident: Incident) -> IncidentChangedV1:
    return IncidentChangedV1(
        incident_id=incident.id, state=incident.state, risk=RiskLevel(incident.risk)
    )


#: who may add to an incident: its reporter, responders dispatched to it, supervisors, admin
NOTERS = frozenset({Role.REPORTER, *STAFF})
RECORDS = frozenset({Role.COMPLIANCE, Role.ADMIN})


def operations(app: IntakeApplication) -> list[Operation[Any]]:
    def incident(q: Any) -> Resource:
        """What access rules need of the incident a request is about."""
        found = app.incident(q.incident_id)
        return Resource(
            incident_id=str(found.id),
            school_id=found.school_id,
            student_ref=found.student_ref,
            reporters=frozenset({found.reporter_id}),
            responders=care_team.members(app, found.id),
        )

    def new_report(c: ReportIncidentV1) -> Resource:
        return Resource(school_id=c.school_id, student_ref=c.student_ref)

    def student(q: Any) -> Resource:
        return Resource(student_ref=q.student_ref)

    def shred(c: ShredStudentV1, ctx: Context) -> dict[str, Any]:
        if app.sealer is None:
            raise RuntimeError("no key store is configured")
        if not app.knows_student(c.student_ref):  # nothing to shred: never "shredded: true"
            raise NotFound(f"no student {c.student_ref}", field="student_ref")
        by = ctx.identity.subject if ctx.identity else ctx.trace.actor
        return privacy.shred_student(
            app, app.sealer, c.student_ref, reason=c.reason, by=by, at=ctx.now, trace=ctx.trace
        )

    def report(command: ReportIncidentV1, ctx: Context) -> Result:
        accepted = app.report_incident(command, at=ctx.now, trace=ctx.trace)
        return Result(accepted_reply(accepted), 200 if accepted.duplicate else 201)

    def add_school(command: AddSchoolV1, ctx: Context) -> Result:
        app.add_school(command, trace=ctx.trace)
        return Result({"id": command.school_id, "name": command.name}, 201)

    def change(method: Any) -> Any:
        return lambda command, ctx: changed(method(command, at=ctx.now, trace=ctx.trace))

    def later(
        name: str,
        kind: type[Any],
        path: str,
        method: Any,
        summary: str,
        roles: frozenset[Role] = STAFF,
    ) -> Operation[Any]:
        return Operation(
            name,
            kind,
            "POST",
            f"/incidents/{{incident_id}}/{path}",
            change(method),
            summary=summary,
            returns=IncidentChangedV1,
            actor_field="by",
            access=access.command(roles, incident, self_field="by"),
        )

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
            access=access.command(NOTERS, new_report, self_field="reporter_id"),
        ),
        Operation(
            "show_incident",
            ShowIncidentV1,
            "GET",
            "/incidents/{incident_id}",
            lambda q, _: app.incident_view(q.incident_id),
            summary="An incident as it stands, with its history of changes",
            access=access.read(EVERYONE, incident),
        ),
        later("add_note", AddNoteV1, "notes", app.add_note, "Add a note or warning signs", NOTERS),
        later(
            "reclassify_risk",
            ReclassifyRiskV1,
            "reclassify",
            app.reclassify,
            "Change the risk level, with a reason",
        ),
        later(
            "correct_incident",
            CorrectIncidentV1,
            "corrections",
            app.correct,
            "Correct an earlier fact (a new event, never an edit)",
        ),
        later(
            "cancel_incident",
            CancelIncidentV1,
            "cancel",
            app.cancel_incident,
            "Cancel, with a reason (a false alarm)",
        ),
        later("close_incident", CloseIncidentV1, "close", app.close_incident, "Close the incident"),
        Operation(
            "list_schools",
            ListSchoolsV1,
            "GET",
            "/schools",
            lambda _, __: app.schools(),
            access=access.read(EVERYONE, student_data=False),
        ),
        Operation("add_school", AddSchoolV1, "POST", "/schools", add_school, access=access.admin()),
        Operation(
            "show_student",
            ShowStudentV1,
            "GET",
            "/students/{student_ref}",
            lambda q, _: app.student_view(q.student_ref),
            summary="A student's identifying details and note texts (audited)",
            access=access.read(RECORDS, student),
        ),
        Operation(
            "shred_student",
            ShredStudentV1,
            "POST",
            "/students/{student_ref}/shred",
            shred,
            summary="Crypto-shred a student's PII (retention); the history stays verifiable",
            access=access.Access(access.COMMAND, RECORDS, True, student, None, False),
        ),
    ]
