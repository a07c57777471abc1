"""Records' operations, served identically over HTTP and NATS request-reply."""

from __future__ import annotations

from typing import Any

from events.records import (
    ListAuditV1,
    RecordOfDisclosuresV1,
    ReplayIncidentV1,
    ReplayV1,
    ShowDisclosuresV1,
    ShowResponseMeasuresV1,
    ShowTimelineV1,
    TimelineV1,
)
from plumbing.access import rules as access
from plumbing.access.auth import Role
from plumbing.interface.commands import Operation
from services.records.application import RecordsApplication

#: Supervisors look back on their schools' incidents, responders on the ones they were
#: dispatched to, reporters on their own; compliance and admin see every record.
LOOK_BACK = frozenset(Role)
#: The audit trail and the record of disclosures are compliance's (and admin's).
COMPLIANCE = frozenset({Role.COMPLIANCE, Role.ADMIN})
MEASURES = frozenset({Role.SUPERVISOR, Role.COMPLIANCE, Role.ADMIN})


def operations(app: RecordsApplication) -> list[Operation[Any]]:
    def incident(q: Any) -> access.Resource:
        return app.incident_resource(q.incident_id)

    return [
        Operation(
            "show_timeline",
            ShowTimelineV1,
            "GET",
            "/incidents/{incident_id}/timeline",
            lambda q, _: app.timeline(q),
            summary="One incident's merged timeline; with as_of, its state then (known and true)",
            returns=TimelineV1,
            access=access.read(LOOK_BACK, incident),
        ),
        Operation(
            "replay_incident",
            ReplayIncidentV1,
            "GET",
            "/incidents/{incident_id}/replay",
            lambda q, _: app.replay(q.incident_id, q.view),
            summary="Every step of an incident's history with the state after it",
            returns=ReplayV1,
            access=access.read(LOOK_BACK, incident),
        ),
        Operation(
            "show_response_measures",
            ShowResponseMeasuresV1,
            "GET",
            "/measures",
            lambda q, _: app.measures(q),
            summary="Time to assign, acknowledge, reach the student, notify, follow up",
            access=access.read(MEASURES, access.by_school, student_data=False),
        ),
        Operation(
            "list_audit",
            ListAuditV1,
            "GET",
            "/audit",
            lambda q, _: app.audit_history(q),
            summary="Audit history: every command and read of student data, filtered",
            access=access.read(COMPLIANCE),
        ),
        Operation(
            "show_disclosures",
            ShowDisclosuresV1,
            "GET",
            "/students/{student_ref}/disclosures",
            lambda q, _: app.record_of_disclosures(q.student_ref),
            summary="A student's record of disclosures (34 CFR 99.32)",
            returns=RecordOfDisclosuresV1,
            access=access.read(COMPLIANCE),
        ),
    ]
