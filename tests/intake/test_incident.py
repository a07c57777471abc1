"""Incident specifications: given events, when a command, then events or a refusal."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from events.vocabulary import Category
from plumbing.domain import Conflict, Invalid
from services.intake.domain.facts import CATEGORIES, ReportFacts
from services.intake.domain.incident import Incident
from services.intake.domain.triage import ScreenerAnswers, triage
from tests.support import NOW, TRACE, given, then, types

pytestmark = pytest.mark.domain

LATER = NOW + timedelta(minutes=5)


def facts(**overrides: Any) -> ReportFacts:
    fields: dict[str, Any] = {
        "school_id": "s0",
        "student_ref": "stu-1",
        "categories": ["self_harm", "acute_distress", "self_harm"],
        "reporter_id": "staff-1",
        "reporter_role": "teacher",
        "location": "room 12",
        "warning_signs": ["giving away belongings"],
        "note": "synthetic note",
        "language": "es",
    }
    fields.update(overrides)
    return ReportFacts(**fields)


def report(risk: str = "high", **kwargs: Any) -> Incident:
    decided = kwargs.pop("triage", None) or triage(risk=risk, screener=None)
    return Incident.report(
        incident_id=kwargs.pop("incident_id", uuid4()),
        facts=kwargs.pop("facts", facts()),
        triage=decided,
        at=NOW,
        trace=TRACE,
        **kwargs,
    )


def reported(risk: str = "high") -> Incident:
    """Given an incident reported earlier (its events already stored)."""
    return given(then(report(risk)))  # type: ignore[no-any-return]


# -- reporting ------------------------------------------------------------------------------
def test_reporting_records_one_event_with_the_facts_and_the_trace() -> None:
    incident = report()

    [event] = then(incident)

    assert types([event]) == ["Incident.Reported"]
    assert event.categories == ["self_harm", "acute_distress"]  # de-duplicated, order kept
    assert (event.location, event.reporter_role, event.language) == ("room 12", "teacher", "es")
    assert event.warning_signs == ["giving away belongings"]
    assert event.reported_at == NOW
    assert (event.actor, event.correlation_id, event.causation_id) == (
        "staff-1",
        "corr-1",
        "cause-1",
    )
    assert incident.state == "open"


def test_a_report_needs_a_known_category_named_by_position() -> None:
    with pytest.raises(Invalid) as refused:
        facts(categories=["self_harm", "bogus"])

    assert refused.value.field == "categories[1]"


def test_a_report_needs_at_least_one_category() -> None:
    with pytest.raises(Invalid) as refused:
        facts(categories=[])

    assert refused.value.field == "categories"


def test_the_domain_knows_exactly_the_contract_categories() -> None:
    assert set(CATEGORIES) == {str(c) for c in Category}


def test_immediate_danger_is_recorded_and_the_incident_is_imminent() -> None:
    incident = report(triage=triage(risk="moderate", screener=None, immediate_danger="weapon"))

    [event] = then(incident)

    assert (event.risk, event.chosen_risk, event.immediate_danger) == (
        "imminent",
        "moderate",
        "weapon",
    )
    assert incident.risk == "imminent"


def test_the_screener_answers_suggestion_and_choice_are_stored() -> None:
    screener = ScreenerAnswers(True, True, True, False, False, False, None)
    incident = report(triage=triage(risk=None, screener=screener))

    [event] = then(incident)

    assert event.screener == {
        "q1": True,
        "q2": True,
        "q3": True,
        "q4": False,
        "q5": False,
        "q6": False,
        "q6_past_3_months": None,
    }
    assert (event.suggested_risk, event.chosen_risk, event.risk) == (
        "moderate",
        "moderate",
        "moderate",
    )


def test_overriding_the_screener_is_an_explicit_event_with_the_reason() -> None:
    screener = ScreenerAnswers(True, False, None, None, None, False, None)
    incident_id = uuid4()
    decided = triage(risk="high", screener=screener, override_reason="said goodbye to friends")

    incident = report(triage=decided, incident_id=incident_id)

    reported_event, override = then(incident)
    assert types([reported_event, override]) == ["Incident.Reported", "Incident.ScreenerOverridden"]
    assert (override.report_id, override.suggested, override.chosen) == (incident_id, "low", "high")
    assert (override.reason, override.by) == ("said goodbye to friends", "staff-1")


def test_a_new_incident_may_be_linked_to_an_earlier_one() -> None:
    earlier = uuid4()

    [event] = then(report(linked_incident_id=earlier))

    assert event.linked_incident_id == earlier


def test_a_report_stored_before_the_complete_model_still_loads() -> None:
    state: dict[str, Any] = {"risk": "low", "note": ""}

    Incident.Reported.upcast_v1_v2(state)

    assert state["chosen_risk"] == "low"
    assert state["screener"] is None
    assert state["warning_signs"] == []
    assert state["linked_incident_id"] is None


def test_a_retry_is_recognised_as_the_same_report() -> None:
    incident = report()

    assert incident.same_report(school_id="s0", student_ref="stu-1")
    assert not incident.same_report(school_id="s0", student_ref="stu-2")


# -- linking a second report ------------------------------------------------------------------
def link(incident: Incident, risk: str = "moderate", **kwargs: Any) -> UUID:
    report_id = uuid4()
    incident.link_report(
        report_id=report_id,
        facts=kwargs.pop("facts", facts(reporter_id="staff-2")),
        triage=kwargs.pop("triage", None) or triage(risk=risk, screener=None),
        at=LATER,
        trace=TRACE,
    )
    return report_id


def test_a_second_report_is_linked_not_a_new_incident() -> None:
    incident = reported("high")

    report_id = link(incident, "moderate")

    [event] = then(incident)
    assert types([event]) == ["Incident.ReportLinked"]
    assert (event.report_id, event.reporter_id, event.risk) == (report_id, "staff-2", "moderate")
    assert incident.risk == "high"  # a less urgent second report lowers nothing


def test_a_more_urgent_linked_report_raises_the_incident_risk_with_a_reason() -> None:
    incident = reported("moderate")

    report_id = link(incident, triage=triage(risk="high", screener=None, immediate_danger="weapon"))

    linked, raised = then(incident)
    assert types([linked, raised]) == ["Incident.ReportLinked", "Incident.Reclassified"]
    assert (raised.previous_risk, raised.risk) == ("moderate", "imminent")
    assert str(report_id) in raised.reason
    assert incident.risk == "imminent"


def test_a_linked_report_that_overrides_its_screener_records_the_override() -> None:
    incident = reported("high")
    screener = ScreenerAnswers(True, False, None, None, None, False, None)

    report_id = link(incident, triage=triage(risk="high", screener=screener, override_reason="r"))

    assert types(then(incident)) == ["Incident.ReportLinked", "Incident.ScreenerOverridden"]
    assert report_id


# -- later changes ---------------------------------------------------------------------------
def test_a_note_with_warning_signs_is_added_by_someone() -> None:
    incident = reported()

    incident.note(
        text="calmer now", warning_signs=[" withdrawn ", ""], by="psy-1", at=LATER, trace=TRACE
    )

    [event] = then(incident)
    assert (event.text, event.warning_signs, event.by, event.at) == (
        "calmer now",
        ["withdrawn"],
        "psy-1",
        LATER,
    )


def test_an_empty_note_is_refused() -> None:
    incident = reported()

    with pytest.raises(Invalid) as refused:
        incident.note(text=" ", warning_signs=[], by="psy-1", at=LATER, trace=TRACE)

    assert refused.value.field == "text"
    assert then(incident) == []


def test_reclassification_records_the_previous_level_the_reason_and_who() -> None:
    incident = reported("high")

    incident.reclassify(risk="moderate", reason="assessed", by="psy-1", at=LATER, trace=TRACE)

    [event] = then(incident)
    assert (event.previous_risk, event.risk, event.reason, event.by) == (
        "high",
        "moderate",
        "assessed",
        "psy-1",
    )
    assert incident.risk == "moderate"


def test_reclassifying_to_the_same_level_is_refused() -> None:
    incident = reported("high")

    with pytest.raises(Conflict) as refused:
        incident.reclassify(risk="high", reason="again", by="psy-1", at=LATER, trace=TRACE)

    assert refused.value.field == "risk"


@pytest.mark.parametrize(
    ("risk", "reason", "field"), [("severe", "r", "risk"), ("low", " ", "reason")]
)
def test_reclassification_needs_a_known_level_and_a_reason(
    risk: str, reason: str, field: str
) -> None:
    incident = reported("high")

    with pytest.raises(Invalid) as refused:
        incident.reclassify(risk=risk, reason=reason, by="psy-1", at=LATER, trace=TRACE)

    assert refused.value.field == field


def correct(incident: Incident, field: str, value: str, **kwargs: Any) -> str:
    return incident.correct(
        field=field,
        value=value,
        reason=kwargs.get("reason", "misheard"),
        effective_at=kwargs.get("effective_at"),
        by="staff-1",
        at=LATER,
        trace=TRACE,
    )


def test_a_correction_records_what_was_true_since_when_and_why() -> None:
    incident = reported()
    true_since = NOW - timedelta(hours=1)

    correct(incident, "location", "gym", effective_at=true_since)

    [event] = then(incident)
    assert (event.field, event.value, event.sensitive) == ("location", "gym", False)
    assert (event.at, event.effective_at, event.reason) == (LATER, true_since, "misheard")


def test_a_correction_without_effective_time_is_true_as_of_now() -> None:
    incident = reported()

    correct(incident, "categories", "self_harm, other,self_harm")

    [event] = then(incident)
    assert event.value == "self_harm,other"
    assert event.effective_at == LATER
    assert incident.categories == ["self_harm", "other"]


def test_a_correction_of_a_sensitive_detail_keeps_its_value_off_the_incident() -> None:
    incident = reported()

    value = correct(incident, "student_details.date_of_birth", "2010-04-03")

    [event] = then(incident)
    assert (event.value, event.sensitive) == (None, True)
    assert value == "2010-04-03"  # returned to the caller, for the student file


@pytest.mark.parametrize(
    ("field", "value", "effective_at", "error_field"),
    [
        ("risk", "low", None, "field"),  # reclassify instead
        ("student_ref", "stu-2", None, "field"),
        ("favourite_colour", "blue", None, "field"),
        ("categories", "bogus", None, "value"),
        ("student_details.date_of_birth", "yesterday", None, "value"),
        ("location", "gym", LATER + timedelta(seconds=1), "effective_at"),
    ],
)
def test_a_bad_correction_is_refused_naming_the_field(
    field: str, value: str, effective_at: Any, error_field: str
) -> None:
    incident = reported()

    with pytest.raises(Invalid) as refused:
        correct(incident, field, value, effective_at=effective_at)

    assert refused.value.field == error_field
    assert then(incident) == []


def test_correcting_a_fact_to_what_it_already_is_is_refused() -> None:
    incident = reported()

    with pytest.raises(Conflict) as refused:
        correct(incident, "location", "room 12")

    assert refused.value.field == "value"


def test_a_correction_needs_a_reason() -> None:
    incident = reported()

    with pytest.raises(Invalid) as refused:
        correct(incident, "location", "gym", reason="")

    assert refused.value.field == "reason"


def test_cancelling_records_the_reason_and_ends_the_incident() -> None:
    incident = reported()

    incident.cancel(reason="false alarm", by="lead-1", at=LATER, trace=TRACE)

    [event] = then(incident)
    assert (event.reason, event.by) == ("false alarm", "lead-1")
    assert incident.state == "cancelled"


def test_cancelling_needs_a_reason() -> None:
    incident = reported()

    with pytest.raises(Invalid) as refused:
        incident.cancel(reason="", by="lead-1", at=LATER, trace=TRACE)

    assert refused.value.field == "reason"


def test_closing_ends_the_incident() -> None:
    incident = reported()

    incident.close(by="psy-1", at=LATER, trace=TRACE)

    assert types(then(incident)) == ["Incident.Closed"]
    assert incident.state == "closed"


def ended(how: str) -> Incident:
    """Given an incident reported, then cancelled or closed (rebuilt from its events)."""
    incident = report()
    if how == "cancelled":
        incident.cancel(reason="false alarm", by="lead-1", at=LATER, trace=TRACE)
    else:
        incident.close(by="psy-1", at=LATER, trace=TRACE)
    return given(then(incident))  # type: ignore[no-any-return]


CHANGES: dict[str, Callable[[Incident], object]] = {
    "note": lambda i: i.note(text="x", warning_signs=[], by="a", at=LATER, trace=TRACE),
    "reclassify": lambda i: i.reclassify(risk="low", reason="r", by="a", at=LATER, trace=TRACE),
    "correct": lambda i: correct(i, "location", "gym"),
    "cancel": lambda i: i.cancel(reason="r", by="a", at=LATER, trace=TRACE),
    "close": lambda i: i.close(by="a", at=LATER, trace=TRACE),
    "link": lambda i: link(i),
}


@pytest.mark.parametrize("how", ["cancelled", "closed"])
@pytest.mark.parametrize("change", list(CHANGES))
def test_nothing_changes_after_cancellation_or_closure(how: str, change: str) -> None:
    incident = ended(how)

    with pytest.raises(Conflict) as refused:
        CHANGES[change](incident)

    assert refused.value.field == "state"
    assert how in refused.value.message
    assert then(incident) == []
