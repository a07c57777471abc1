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
from plumbing.commands import Operation
from services.records.application import RecordsApplication


def operations(app: RecordsApplication) -> list[Operation[Any]]:
    return [
        Operation(
            "show_timeline",
            ShowTimelineV1,
            "GET",
            "/incidents/{incident_id}/timeline",
            lambda q, _: app.timeline(q),
            summary="One incident's merged timeline; with as_of, its state then (known and true)",
            returns=TimelineV1,
        ),
        Operation(
            "replay_incident",
            ReplayIncidentV1,
            "GET",
            "/incidents/{incident_id}/replay",
            lambda q, _: app.replay(q.incident_id, q.view),
            summary="Every step of an incident's history with the state after it",
            returns=ReplayV1,
        ),
        Operation(
            "show_response_measures",
            ShowResponseMeasuresV1,
            "GET",
            "/measures",
            lambda q, _: app.measures(q),
            summary="Time to assign, acknowledge, reach the student, notify, follow up",
        ),
        Operation(
            "list_audit",
            ListAuditV1,
            "GET",
            "/audit",
            lambda q, _: app.audit_history(q),
            summary="Audit history: every command and read of student data, filtered",
        ),
        Operation(
            "show_disclosures",
            ShowDisclosuresV1,
            "GET",
            "/students/{student_ref}/disclosures",
            lambda q, _: app.record_of_disclosures(q.student_ref),
            summary="A student's record of disclosures (34 CFR 99.32)",
            returns=RecordOfDisclosuresV1,
        ),
    ]
