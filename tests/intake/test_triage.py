"""Triage specifications: the screener's published mapping, and who decides.

The screener suggests; a person chooses.  Immediate danger always means imminent.
"""

from __future__ import annotations

from itertools import product

import pytest

from plumbing.domain import Invalid
from services.intake.domain.triage import (
    EMERGENCY_INSTRUCTION,
    ScreenerAnswers,
    check_screener,
    suggest,
    triage,
)

pytestmark = pytest.mark.domain

Y, N, SKIP = True, False, None


def answers(
    q1: bool = N,
    q2: bool = N,
    q3: bool | None = SKIP,
    q4: bool | None = SKIP,
    q5: bool | None = SKIP,
    q6: bool = N,
    recent: bool | None = SKIP,
) -> ScreenerAnswers:
    return ScreenerAnswers(q1, q2, q3, q4, q5, q6, recent)


def every_valid_screener() -> list[ScreenerAnswers]:
    """All 54 answer sets the skip logic allows (items 3-5 only after a yes to item 2)."""
    out = []
    for q1, q2, q6 in product((Y, N), repeat=3):
        middles = list(product((Y, N), repeat=3)) if q2 else [(SKIP, SKIP, SKIP)]
        recents = [Y, N] if q6 else [SKIP]
        for (q3, q4, q5), recent in product(middles, recents):
            out.append(answers(q1, q2, q3, q4, q5, q6, recent))
    return out


# -- the published mapping -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("given", "level"),
    [
        (answers(), "low"),  # nothing found: the lowest level; a person still chooses
        (answers(q1=Y), "low"),
        (answers(q1=Y, q2=Y, q3=N, q4=N, q5=N), "low"),
        (answers(q2=Y, q3=N, q4=N, q5=N), "low"),
        (answers(q1=Y, q2=Y, q3=Y, q4=N, q5=N), "moderate"),
        (answers(q1=Y, q6=Y, recent=N), "moderate"),  # behaviour more than 3 months ago
        (answers(q1=Y, q2=Y, q3=Y, q4=Y, q5=N), "high"),
        (answers(q1=Y, q2=Y, q3=N, q4=N, q5=Y), "high"),
        (answers(q6=Y, recent=Y), "high"),  # behaviour within 3 months, whatever else
        (answers(q1=Y, q2=Y, q3=Y, q4=N, q5=N, q6=Y, recent=Y), "high"),
        (answers(q1=Y, q2=Y, q3=Y, q4=N, q5=N, q6=Y, recent=N), "moderate"),
    ],
)
def test_the_screener_suggests_the_published_level(given: ScreenerAnswers, level: str) -> None:
    check_screener(given)

    assert suggest(given) == level


def test_the_mapping_holds_for_every_possible_answer_set() -> None:
    every = every_valid_screener()
    assert len(every) == 54

    for a in every:
        check_screener(a)  # every one of them is accepted
        recent_behaviour = a.q6 and a.q6_past_3_months
        if a.q4 or a.q5 or recent_behaviour:
            expected = "high"
        elif a.q3 or a.q6:
            expected = "moderate"
        else:
            expected = "low"
        assert suggest(a) == expected, a


@pytest.mark.parametrize(
    ("given", "field"),
    [
        (answers(q2=N, q3=Y), "screener.q3"),  # skipped after a "no" to item 2
        (answers(q2=N, q4=N), "screener.q4"),
        (answers(q2=N, q5=Y), "screener.q5"),
        (answers(q2=Y, q3=None, q4=N, q5=N), "screener.q3"),  # asked after a "yes" to item 2
        (answers(q2=Y, q3=N, q4=N, q5=None), "screener.q5"),
        (answers(q6=Y, recent=None), "screener.q6_past_3_months"),
        (answers(q6=N, recent=Y), "screener.q6_past_3_months"),
    ],
)
def test_answers_the_skip_logic_cannot_produce_are_refused_naming_the_item(
    given: ScreenerAnswers, field: str
) -> None:
    with pytest.raises(Invalid) as refused:
        check_screener(given)

    assert refused.value.field == field


# -- who decides -----------------------------------------------------------------------------
def test_without_a_screener_the_risk_is_required() -> None:
    with pytest.raises(Invalid) as refused:
        triage(risk=None, screener=None)

    assert refused.value.field == "risk"


def test_with_a_screener_the_risk_defaults_to_the_suggestion() -> None:
    decided = triage(risk=None, screener=answers(q6=Y, recent=Y))

    assert (decided.risk, decided.chosen, decided.suggested) == ("high", "high", "high")
    assert not decided.overridden


def test_choosing_the_suggested_level_needs_no_reason() -> None:
    decided = triage(risk="moderate", screener=answers(q1=Y, q2=Y, q3=Y, q4=N, q5=N))

    assert not decided.overridden
    assert decided.override_reason == ""


def test_choosing_another_level_than_suggested_without_a_reason_is_refused() -> None:
    with pytest.raises(Invalid) as refused:
        triage(risk="low", screener=answers(q6=Y, recent=Y), override_reason="  ")

    assert refused.value.field == "risk_override_reason"
    assert "suggests high" in refused.value.message


def test_choosing_another_level_with_a_reason_is_an_override() -> None:
    decided = triage(
        risk="imminent", screener=answers(q1=Y), override_reason="student has a plan today"
    )

    assert decided.overridden
    assert (decided.suggested, decided.chosen, decided.risk) == ("low", "imminent", "imminent")
    assert decided.override_reason == "student has a plan today"


def test_an_override_reason_without_an_override_is_not_kept() -> None:
    decided = triage(risk="low", screener=answers(q1=Y), override_reason="not needed")

    assert decided.override_reason == ""


@pytest.mark.parametrize("kind", ["weapon", "medical_emergency", "attempt_in_progress"])
def test_immediate_danger_raises_the_risk_to_imminent(kind: str) -> None:
    decided = triage(risk="low", screener=None, immediate_danger=kind)

    assert decided.risk == "imminent"
    assert decided.chosen == "low"  # what the person chose stays on record
    assert decided.immediate_danger == kind


def test_an_unknown_kind_of_danger_is_refused() -> None:
    with pytest.raises(Invalid) as refused:
        triage(risk="high", screener=None, immediate_danger="fire")

    assert refused.value.field == "immediate_danger"


def test_an_unknown_level_is_refused() -> None:
    with pytest.raises(Invalid) as refused:
        triage(risk="severe", screener=None)

    assert refused.value.field == "risk"


def test_the_emergency_instruction_says_call_911_and_that_lantern_does_not_replace_it() -> None:
    assert EMERGENCY_INSTRUCTION.startswith("Call 911 now")
    assert "does not replace 911/988" in EMERGENCY_INSTRUCTION
