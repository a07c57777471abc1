"""Intake domain: an incident is reported; a school must be known."""

from __future__ import annotations

from uuid import uuid4

import pytest

from services.intake.domain.incident import Incident
from services.intake.domain.schools import SchoolDirectory
from tests.support import NOW, TRACE, then, types

pytestmark = pytest.mark.domain


def report(**overrides: object) -> Incident:
    fields: dict[str, object] = {
        "incident_id": uuid4(),
        "school_id": "s0",
        "student_ref": "stu-1",
        "categories": ["self_harm", "acute_distress", "self_harm"],
        "risk": "high",
        "reporter_id": "staff-1",
        "note": "synthetic note",
        "at": NOW,
        "trace": TRACE,
    }
    fields.update(overrides)
    return Incident.report(**fields)  # type: ignore[arg-type]


def test_reporting_records_one_event_with_the_facts_and_the_trace() -> None:
    incident = report()

    [reported] = then(incident)

    assert types([reported]) == ["Incident.Reported"]
    assert reported.categories == ["self_harm", "acute_distress"]  # de-duplicated, order kept
    assert reported.reported_at == NOW
    assert (reported.actor, reported.correlation_id, reported.causation_id) == (
        "staff-1",
        "corr-1",
        "cause-1",
    )
    assert incident.state == "open"


def test_a_retry_is_recognised_as_the_same_report() -> None:
    incident = report()

    assert incident.same_report(school_id="s0", student_ref="stu-1")
    assert not incident.same_report(school_id="s0", student_ref="stu-2")


def test_adding_a_school_twice_records_it_once() -> None:
    directory = SchoolDirectory.open(TRACE)
    directory.add_school("s0", "School Zero", TRACE)
    directory.add_school("s0", "School Zero", TRACE)

    assert types(then(directory)) == ["SchoolDirectory.Opened", "SchoolDirectory.SchoolAdded"]
    assert directory.knows("s0")
    assert not directory.knows("s1")


def test_renaming_a_school_is_a_new_event() -> None:
    directory = SchoolDirectory.open(TRACE)
    directory.add_school("s0", "Old", TRACE)
    directory.add_school("s0", "New", TRACE)

    assert types(then(directory))[-2:] == ["SchoolDirectory.SchoolAdded"] * 2
    assert directory.schools == {"s0": "New"}
