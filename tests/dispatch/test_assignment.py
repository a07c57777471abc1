"""Dispatch domain: who is eligible, who is chosen, and why."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.dispatch.domain.assignment import (
    RULE_LANGUAGE,
    RULE_LEAST_LOADED,
    RULE_NONE_ELIGIBLE,
    Need,
    choose_on_call,
    choose_responder,
)
from services.dispatch.domain.roster import Override, Shift
from tests.dispatch.roster_fixtures import responder
from tests.support import NOW

pytestmark = pytest.mark.domain

SCHOOL = Need("s0")
WEEKDAYS_DAY = (Shift(("mon", "tue", "wed", "thu", "fri"), "07:00", "16:00"),)
SATURDAY_NOON = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)  # a Saturday
MONDAY_NOON = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def ids(decision: object) -> list[str]:
    return [c.responder_id for c in decision.candidates]  # type: ignore[attr-defined]


def test_only_available_field_responders_covering_the_school_are_candidates() -> None:
    roster = [
        responder("a"),
        responder("b", schools=("s1",)),
        responder("c", available=False),
        responder("d", role="supervisor"),
        responder("e", role="school_psychologist"),
    ]

    decision = choose_responder(roster, SCHOOL, at=NOW, loads={})

    assert ids(decision) == ["a", "e"]


def test_only_responders_on_shift_are_candidates() -> None:
    roster = [responder("day", shifts=WEEKDAYS_DAY), responder("always")]

    assert ids(choose_responder(roster, SCHOOL, at=SATURDAY_NOON, loads={})) == ["always"]
    assert ids(choose_responder(roster, SCHOOL, at=MONDAY_NOON, loads={})) == ["always", "day"]


def test_an_override_beats_the_weekly_pattern_both_ways() -> None:
    sick = Override(MONDAY_NOON.replace(hour=8), MONDAY_NOON.replace(hour=18), False, "sick")
    extra = Override(SATURDAY_NOON.replace(hour=9), SATURDAY_NOON.replace(hour=15), True, "swap")
    roster = [
        responder("a", shifts=WEEKDAYS_DAY, overrides=(sick,)),
        responder("b", shifts=WEEKDAYS_DAY, overrides=(extra,)),
    ]

    assert ids(choose_responder(roster, SCHOOL, at=MONDAY_NOON, loads={})) == ["b"]
    assert ids(choose_responder(roster, SCHOOL, at=SATURDAY_NOON, loads={})) == ["b"]


def test_a_required_skill_narrows_the_candidates() -> None:
    roster = [responder("a"), responder("b", skills=("suicide_risk_assessment",))]

    decision = choose_responder(
        roster, Need("s0", frozenset({"suicide_risk_assessment"})), at=NOW, loads={}
    )

    assert ids(decision) == ["b"]


def test_the_least_loaded_candidate_is_chosen_and_the_rule_recorded() -> None:
    decision = choose_responder(
        [responder("a"), responder("b")], SCHOOL, at=NOW, loads={"a": 2, "b": 1}
    )

    assert decision.chosen == "b"
    assert decision.rule == RULE_LEAST_LOADED
    assert [(c.responder_id, c.load) for c in decision.candidates] == [("b", 1), ("a", 2)]


def test_a_language_match_is_preferred_over_a_lighter_load() -> None:
    roster = [responder("a"), responder("b", languages=("es",))]

    decision = choose_responder(roster, Need("s0", language="es"), at=NOW, loads={"b": 3})

    assert decision.chosen == "b"
    assert decision.rule == RULE_LANGUAGE


def test_ties_go_to_the_lowest_id_so_the_choice_is_reproducible() -> None:
    decision = choose_responder([responder("z"), responder("m")], SCHOOL, at=NOW, loads={})

    assert decision.chosen == "m"


def test_already_asked_responders_are_excluded() -> None:
    decision = choose_responder(
        [responder("a"), responder("b")], SCHOOL, at=NOW, loads={}, exclude={"a"}
    )

    assert decision.chosen == "b"
    assert decision.excluded == ("a",)


def test_when_nobody_is_eligible_the_decision_says_so() -> None:
    decision = choose_responder([responder("a", schools=("s9",))], SCHOOL, at=NOW, loads={})

    assert decision.chosen is None
    assert decision.rule == RULE_NONE_ELIGIBLE
    assert "s0" in decision.reason


def test_the_on_call_supervisor_must_cover_the_school_but_the_district_lead_need_not() -> None:
    roster = [
        responder("sup-x", "supervisor", schools=("s1",)),
        responder("sup-y", "supervisor"),
        responder("dcl", "district_crisis_lead", schools=()),
    ]

    assert choose_on_call(roster, "supervisor", school_id="s0", at=NOW, loads={}).chosen == "sup-y"
    assert (
        choose_on_call(roster, "district_crisis_lead", school_id=None, at=NOW, loads={}).chosen
        == "dcl"
    )
    assert choose_on_call(roster, "supervisor", school_id="s7", at=NOW, loads={}).chosen is None
