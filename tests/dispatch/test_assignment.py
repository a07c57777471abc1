"""Dispatch domain: who is eligible, who is chosen, and why."""

from __future__ import annotations

from uuid import uuid4

import pytest

from services.dispatch.domain.assignment import (
    RULE_LEAST_LOADED,
    RULE_NONE_ELIGIBLE,
    choose_responder,
)
from services.dispatch.domain.response import IncidentResponse, response_id_for
from services.dispatch.domain.roster import Responder, Roster
from tests.support import NOW, TRACE, then, types

pytestmark = pytest.mark.domain


def responder(
    rid: str, role: str = "counselor", schools: tuple[str, ...] = ("s0",), available: bool = True
) -> Responder:
    return Responder(
        responder_id=rid, name=rid.upper(), role=role, schools=schools, available=available
    )


def test_only_available_field_responders_covering_the_school_are_candidates() -> None:
    roster = [
        responder("a"),
        responder("b", schools=("s1",)),
        responder("c", available=False),
        responder("d", role="supervisor"),
        responder("e", role="school_psychologist"),
    ]

    decision = choose_responder(roster, school_id="s0", loads={})

    assert [c.responder_id for c in decision.candidates] == ["a", "e"]


def test_the_least_loaded_candidate_is_chosen_and_the_rule_recorded() -> None:
    decision = choose_responder(
        [responder("a"), responder("b")], school_id="s0", loads={"a": 2, "b": 1}
    )

    assert decision.chosen == "b"
    assert decision.rule == RULE_LEAST_LOADED
    assert [(c.responder_id, c.load) for c in decision.candidates] == [("b", 1), ("a", 2)]


def test_ties_go_to_the_lowest_id_so_the_choice_is_reproducible() -> None:
    decision = choose_responder([responder("z"), responder("m")], school_id="s0", loads={})

    assert decision.chosen == "m"


def test_when_nobody_is_eligible_the_decision_says_so() -> None:
    decision = choose_responder([responder("a", schools=("s9",))], school_id="s0", loads={})

    assert decision.chosen is None
    assert decision.rule == RULE_NONE_ELIGIBLE
    assert "s0" in decision.reason


def test_a_response_records_the_assignment_with_candidates_and_rule() -> None:
    incident_id = uuid4()
    response = IncidentResponse.open(
        incident_id=incident_id,
        school_id="s0",
        risk="high",
        categories=["self_harm"],
        reported_at=NOW,
        trace=TRACE,
    )
    decision = choose_responder([responder("a")], school_id="s0", loads={})

    response.apply_decision(decision, at=NOW, trace=TRACE)

    opened, assigned = then(response)
    assert types([opened, assigned]) == [
        "IncidentResponse.Opened",
        "IncidentResponse.ResponderAssigned",
    ]
    assert response.id == response_id_for(incident_id)
    assert assigned.responder_id == "a"
    assert assigned.candidates == [{"responder_id": "a", "load": 0}]
    assert assigned.rule == RULE_LEAST_LOADED


def test_a_response_records_that_nobody_was_eligible() -> None:
    response = IncidentResponse.open(
        incident_id=uuid4(),
        school_id="s0",
        risk="low",
        categories=["other"],
        reported_at=NOW,
        trace=TRACE,
    )

    response.apply_decision(choose_responder([], school_id="s0", loads={}), at=NOW, trace=TRACE)

    assert types(then(response))[-1] == "IncidentResponse.NoResponderEligible"
    assert response.unassigned


def test_enrolling_an_identical_responder_twice_records_it_once() -> None:
    roster = Roster.open(TRACE)
    roster.enroll(responder("a"), TRACE)
    roster.enroll(responder("a"), TRACE)
    roster.enroll(responder("a", available=False), TRACE)

    assert types(then(roster)) == [
        "Roster.Opened",
        "Roster.ResponderEnrolled",
        "Roster.ResponderEnrolled",
    ]
    assert not roster.responders["a"].available
