"""What leaves intake: one integration event per public domain event, minimum necessary."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import msgspec
import pytest

from events.intake import (
    IncidentCancelledV2,
    IncidentClosedV1,
    IncidentCorrectedV2,
    IncidentNotedV1,
    IncidentReportedV1,
    ReportLinkedV1,
    RiskReclassifiedV2,
)
from events.subjects import Subjects
from plumbing.envelope import Outgoing
from services.intake.domain.facts import ReportFacts
from services.intake.domain.incident import Incident
from services.intake.domain.student_file import StudentFile
from services.intake.domain.triage import ScreenerAnswers, triage
from services.intake.translate import translator
from tests.support import NOW, TRACE, then

pytestmark = pytest.mark.domain

SUBJECTS = Subjects("lt")
LATER = NOW + timedelta(minutes=1)
FACTS = ReportFacts(
    school_id="s0",
    student_ref="stu-1",
    categories=["self_harm"],
    reporter_id="staff-1",
    location="library",
    warning_signs=["withdrawn"],
    note="SECRET-NOTE",
    language="es",
)


def translated(events: list[object]) -> list[Outgoing | None]:
    translate = translator(SUBJECTS)
    return [translate(e) for e in events]


def test_a_report_goes_out_with_its_public_facts_and_never_the_note() -> None:
    screener = ScreenerAnswers(True, False, None, None, None, False, None)
    decided = triage(risk="high", screener=screener, override_reason="r", immediate_danger="weapon")
    incident = Incident.report(
        incident_id=uuid4(), facts=FACTS, triage=decided, at=NOW, trace=TRACE
    )

    reported, override = translated(then(incident))

    assert override is None  # the report already carries the chosen level
    assert reported is not None
    assert reported.subject == SUBJECTS.incident_reported
    assert reported.incident_id == str(incident.id)
    message = reported.message
    assert isinstance(message, IncidentReportedV1)
    assert (message.risk, message.immediate_danger, message.location, message.language) == (
        "imminent",
        True,
        "library",
        "es",
    )
    wire = msgspec.json.encode(message)
    assert b"SECRET-NOTE" not in wire
    assert b"withdrawn" not in wire


def test_every_later_change_is_published_on_its_subject_without_free_text() -> None:
    incident = Incident.report(
        incident_id=uuid4(),
        facts=FACTS,
        triage=triage(risk="moderate", screener=None),
        at=NOW,
        trace=TRACE,
    )
    then(incident)
    incident.link_report(
        report_id=uuid4(),
        facts=FACTS,
        triage=triage(risk="low", screener=None),
        at=LATER,
        trace=TRACE,
    )
    incident.note(text="SECRET-NOTE", warning_signs=[], by="psy-1", at=LATER, trace=TRACE)
    incident.reclassify(risk="high", reason="REASON-assessed", by="psy-1", at=LATER, trace=TRACE)
    incident.correct(
        field="location",
        value="gym",
        reason="REASON-r",
        effective_at=NOW,
        by="a",
        at=LATER,
        trace=TRACE,
    )
    incident.cancel(reason="REASON-false alarm", by="lead-1", at=LATER, trace=TRACE)

    out = translated(then(incident))

    assert [(o.subject, type(o.message)) for o in out if o] == [
        (SUBJECTS.report_linked, ReportLinkedV1),
        (SUBJECTS.incident_noted, IncidentNotedV1),
        (SUBJECTS.risk_reclassified, RiskReclassifiedV2),
        (SUBJECTS.incident_corrected, IncidentCorrectedV2),
        (SUBJECTS.incident_cancelled, IncidentCancelledV2),
    ]
    assert all(o is not None and o.incident_id == str(incident.id) for o in out)
    wire = b"".join(msgspec.json.encode(o.message) for o in out if o)
    assert b"SECRET-NOTE" not in wire
    assert b"REASON-" not in wire  # reasons stay in intake's record


def test_a_closure_is_published() -> None:
    incident = Incident.report(
        incident_id=uuid4(),
        facts=FACTS,
        triage=triage(risk="low", screener=None),
        at=NOW,
        trace=TRACE,
    )
    then(incident)
    incident.close(by="psy-1", at=LATER, trace=TRACE)

    [closed] = translated(then(incident))

    assert closed is not None
    assert isinstance(closed.message, IncidentClosedV1)
    assert closed.message.by == "psy-1"


def test_a_correction_of_a_sensitive_detail_goes_out_without_its_value() -> None:
    incident = Incident.report(
        incident_id=uuid4(),
        facts=FACTS,
        triage=triage(risk="low", screener=None),
        at=NOW,
        trace=TRACE,
    )
    then(incident)
    incident.correct(
        field="student_details.name",
        value="Ada Example",
        reason="typo",
        effective_at=None,
        by="a",
        at=LATER,
        trace=TRACE,
    )

    [corrected] = translated(then(incident))

    assert corrected is not None
    assert isinstance(corrected.message, IncidentCorrectedV2)
    assert corrected.message.field == "student_details.name"
    assert corrected.message.value is None


def test_the_student_file_never_leaves_intake() -> None:
    file = StudentFile.open("stu-1", TRACE)
    file.incident_opened(uuid4(), TRACE)
    file.record_details({"name": "Ada Example"}, uuid4(), TRACE)

    assert translated(then(file)) == [None, None, None]
