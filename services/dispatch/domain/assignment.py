"""Who should take an incident, and why: a pure, explainable decision.

Only eligible responders are candidates (covers the school, available, a field
role).  Among them the least loaded wins; ties go to the lowest id so the choice
is reproducible.  The decision records the candidates considered and the rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from services.dispatch.domain.roster import FIELD_ROLES, Responder

RULE_LEAST_LOADED = "least_loaded_eligible"
RULE_NONE_ELIGIBLE = "no_eligible_responder"


@dataclass(frozen=True)
class Candidate:
    responder_id: str
    load: int


@dataclass(frozen=True)
class Decision:
    chosen: str | None
    candidates: tuple[Candidate, ...]
    rule: str
    reason: str


def eligible(responder: Responder, school_id: str) -> bool:
    return responder.available and responder.role in FIELD_ROLES and responder.covers(school_id)


def choose_responder(
    responders: Iterable[Responder], *, school_id: str, loads: Mapping[str, int]
) -> Decision:
    candidates = sorted(
        (
            Candidate(r.responder_id, loads.get(r.responder_id, 0))
            for r in responders
            if eligible(r, school_id)
        ),
        key=lambda c: (c.load, c.responder_id),
    )
    if not candidates:
        return Decision(
            chosen=None,
            candidates=(),
            rule=RULE_NONE_ELIGIBLE,
            reason=f"no available responder covers school {school_id}",
        )
    best = candidates[0]
    return Decision(
        chosen=best.responder_id,
        candidates=tuple(candidates),
        rule=RULE_LEAST_LOADED,
        reason=f"{len(candidates)} eligible; {best.responder_id} has the fewest open dispatches "
        f"({best.load})",
    )
