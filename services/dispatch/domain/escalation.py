"""Walking the pinned escalation chain: a pure function of where we are and who is on call.

The chain (by default: next eligible responder, on-call supervisor, district
crisis lead) is run once, then repeated up to ``repeat_limit`` more times.  A
step that finds nobody is skipped, and the skip is recorded with the step that
was taken.  When no step in any remaining round finds anyone, the chain is exhausted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from services.dispatch.domain.assignment import Decision


@dataclass(frozen=True)
class Position:
    """Where an incident stands in its chain; index -1 is the initial assignment."""

    round: int = 0
    index: int = -1


@dataclass(frozen=True)
class Step:
    position: Position
    name: str
    decision: Decision
    skipped: tuple[str, ...] = ()  # chain steps that found nobody on the way here


#: Decide who would be paged at a chain step ("supervisor", ...).
Pick = Callable[[str], Decision]


def next_step(
    chain: tuple[str, ...], current: Position, repeat_limit: int, pick: Pick
) -> tuple[Step | None, tuple[str, ...]]:
    """The next step that finds someone, and the steps skipped on the way."""
    round_, index = current.round, current.index
    skipped: list[str] = []
    while True:
        index += 1
        if index >= len(chain):
            round_, index = round_ + 1, 0
            if round_ > repeat_limit:
                return None, tuple(skipped)
        name = chain[index]
        decision = pick(name)
        if decision.chosen is not None:
            return Step(Position(round_, index), name, decision, tuple(skipped)), tuple(skipped)
        skipped.append(name)
