"""Student file specifications: one open incident per student; identifying details kept apart."""

from __future__ import annotations

from uuid import uuid4

import pytest

from plumbing.domain import Conflict
from services.intake.domain.student_file import StudentFile, student_file_id
from tests.support import TRACE, given, then, types

pytestmark = pytest.mark.domain


def test_the_file_id_is_the_same_for_every_report_about_a_student() -> None:
    assert student_file_id("stu-1") == student_file_id("stu-1") != student_file_id("stu-2")
    assert StudentFile.open("stu-1", TRACE).id == student_file_id("stu-1")


def test_opening_an_incident_marks_the_student_as_having_one_open() -> None:
    file = StudentFile.open("stu-1", TRACE)
    incident_id = uuid4()

    file.incident_opened(incident_id, TRACE)

    assert types(then(file)) == ["StudentFile.Opened", "StudentFile.IncidentOpened"]
    assert file.open_incident_id == incident_id


def test_a_second_open_incident_is_refused() -> None:
    file = StudentFile.open("stu-1", TRACE)
    file.incident_opened(uuid4(), TRACE)
    file = given(then(file))

    with pytest.raises(Conflict):
        file.incident_opened(uuid4(), TRACE)

    assert then(file) == []


def test_a_new_incident_that_follows_the_open_one_takes_its_place() -> None:
    file = StudentFile.open("stu-1", TRACE)
    first, renewed = uuid4(), uuid4()
    file.incident_opened(first, TRACE)
    file = given(then(file))

    file.incident_opened(renewed, TRACE, follows=first)

    assert types(then(file)) == ["StudentFile.IncidentEnded", "StudentFile.IncidentOpened"]
    assert file.open_incident_id == renewed


def test_following_another_incident_than_the_open_one_is_refused() -> None:
    file = StudentFile.open("stu-1", TRACE)
    file.incident_opened(uuid4(), TRACE)
    file = given(then(file))

    with pytest.raises(Conflict):
        file.incident_opened(uuid4(), TRACE, follows=uuid4())


def test_ending_the_open_incident_frees_the_student() -> None:
    file = StudentFile.open("stu-1", TRACE)
    first = uuid4()
    file.incident_opened(first, TRACE)

    file.incident_ended(first, TRACE)
    file.incident_opened(second := uuid4(), TRACE)

    assert file.open_incident_id == second


def test_ending_another_incident_than_the_open_one_changes_nothing() -> None:
    file = StudentFile.open("stu-1", TRACE)
    file.incident_opened(open_one := uuid4(), TRACE)
    then(file)

    file.incident_ended(uuid4(), TRACE)

    assert then(file) == []
    assert file.open_incident_id == open_one


def test_a_linked_report_is_filed_so_a_retry_finds_it() -> None:
    file = StudentFile.open("stu-1", TRACE)
    report_id, incident_id = uuid4(), uuid4()

    file.report_filed(report_id, incident_id, TRACE)

    assert given(then(file)).reports == {report_id: incident_id}


def test_details_are_recorded_only_when_new_or_changed() -> None:
    file = StudentFile.open("stu-1", TRACE)
    incident_id = uuid4()
    file.record_details(
        {"name": "Ada Example", "grade": "9", "date_of_birth": ""}, incident_id, TRACE
    )
    then(file)

    file.record_details({"name": "Ada Example", "grade": "10"}, incident_id, TRACE)

    [changed] = then(file)
    assert changed.details == {"grade": "10"}
    assert file.details == {"name": "Ada Example", "grade": "10"}


def test_no_details_record_nothing() -> None:
    file = StudentFile.open("stu-1", TRACE)
    then(file)

    file.record_details({}, uuid4(), TRACE)

    assert then(file) == []
