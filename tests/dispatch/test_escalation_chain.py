"""Dispatch domain: walking the pinned chain (next responder, supervisor, district lead)."""

from __future__ import annotations

import pytest

from services.dispatch.domain.assignment import Decision
from services.dispatch.domain.escalation import Position, next_step

pytestmark = pytest.mark.domain

CHAIN = ("next_responder", "supervisor", "district_crisis_lead")


def picker(available: dict[str, str | None]):  # type: ignore[no-untyped-def]
    def pick(step: str) -> Decision:
        return Decision(available.get(step), (), f"rule-{step}", f"why-{step}")

    return pick


def test_after_the_initial_assignment_the_next_eligible_responder_is_paged() -> None:
    step, skipped = next_step(CHAIN, Position(), 1, picker({"next_responder": "co-b"}))

    assert step is not None
    assert (step.name, step.decision.chosen, step.position) == (
        "next_responder",
        "co-b",
        Position(0, 0),
    )
    assert skipped == ()


def test_then_the_on_call_supervisor_then_the_district_crisis_lead() -> None:
    pick = picker({"next_responder": "co-b", "supervisor": "sup", "district_crisis_lead": "dcl"})

    second, _ = next_step(CHAIN, Position(0, 0), 1, pick)
    third, _ = next_step(CHAIN, Position(0, 1), 1, pick)

    assert second is not None
    assert second.name == "supervisor"
    assert third is not None
    assert third.name == "district_crisis_lead"


def test_a_step_that_finds_nobody_is_skipped_and_the_skip_is_recorded() -> None:
    step, skipped = next_step(CHAIN, Position(), 1, picker({"district_crisis_lead": "dcl"}))

    assert step is not None
    assert step.name == "district_crisis_lead"
    assert skipped == ("next_responder", "supervisor")


def test_the_chain_repeats_up_to_the_limit_then_is_exhausted() -> None:
    pick = picker({"supervisor": "sup", "district_crisis_lead": "dcl"})

    repeat, _ = next_step(CHAIN, Position(0, 2), 1, pick)
    exhausted, skipped = next_step(CHAIN, Position(1, 2), 1, pick)

    assert repeat is not None
    assert (repeat.name, repeat.position) == ("supervisor", Position(1, 1))
    assert exhausted is None
    assert skipped == ()


def test_with_no_repeats_the_top_of_the_chain_is_the_end() -> None:
    step, _ = next_step(CHAIN, Position(0, 2), 0, picker({"supervisor": "sup"}))

    assert step is None


def test_nobody_anywhere_exhausts_the_chain_at_once() -> None:
    step, skipped = next_step(CHAIN, Position(), 1, picker({}))

    assert step is None
    assert skipped == CHAIN * 2
