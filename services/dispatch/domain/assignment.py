"""Who should take an incident, and why: pure, explainable decisions.

Only eligible responders are candidates: a field role, covering the school,
available, on call at that instant, and holding the skills the categories need
at that risk.  Among them a language match (when one was asked for) comes
first, then the least loaded; ties go to the lowest id so a choice can be
reproduced.  Every decision carries the candidates considered and the rule.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from services.dispatch.domain.roster import FIELD_ROLES, Responder

RULE_LEAST_LOADED = "least_loaded_eligible"
RULE_LANGUAGE = "language_match_then_least_loaded"
RULE_NONE_ELIGIBLE = "no_eligible_responder"
RULE_ON_CALL_ROLE = "on_call_{role}_least_loaded"


@dataclass(frozen=True)
class Need:
    """What the incident asks of a responder."""

    school_id: str
    skills: frozenset[str] = frozenset()
    language: str = ""


@dataclass(frozen=True)
class Candidate:
    responder_id: str
    load: int
    language_match: bool = False


@dataclass(frozen=True)
class Decision:
    chosen: str | None
    candidates: tuple[Candidate, ...]
    rule: str
    reason: str
    excluded: tuple[str, ...] = field(default=())

    def candidate_records(self) -> list[dict[str, object]]:
        return [
            {"responder_id": c.responder_id, "load": c.load, "language_match": c.language_match}
            for c in self.candidates
        ]


def eligible(responder: Responder, need: Need, at: datetime) -> bool:
    return (
        responder.role in FIELD_ROLES
        and responder.available
        and responder.covers(need.school_id)
        and responder.on_call(at)
        and need.skills <= set(responder.skills)
    )


def choose_responder(
    responders: Iterable[Responder],
    need: Need,
    *,
    at: datetime,
    loads: Mapping[str, int],
    exclude: Collection[str] = (),
) -> Decision:
    candidates = sorted(
        (
            Candidate(
                r.responder_id,
                loads.get(r.responder_id, 0),
                bool(need.language) and need.language in r.languages,
            )
            for r in responders
            if eligible(r, need, at) and r.responder_id not in exclude
        ),
        key=lambda c: (not c.language_match, c.load, c.responder_id),
    )
    if not candidates:
        skills = f" with {', '.join(sorted(need.skills))}" if need.skills else ""
        return Decision(
            chosen=None,
            candidates=(),
            rule=RULE_NONE_ELIGIBLE,
            reason=f"no available, on-call responder{skills} covers school {need.school_id}"
            + (f" (already asked: {', '.join(sorted(exclude))})" if exclude else ""),
            excluded=tuple(sorted(exclude)),
        )
    best = candidates[0]
    rule = RULE_LANGUAGE if best.language_match else RULE_LEAST_LOADED
    why = f"speaks {need.language}; " if best.language_match else ""
    return Decision(
        chosen=best.responder_id,
        candidates=tuple(candidates),
        rule=rule,
        reason=f"{len(candidates)} eligible; {best.responder_id}: {why}"
        f"{best.load} open dispatch(es), the fewest",
        excluded=tuple(sorted(exclude)),
    )


def choose_on_call(
    responders: Iterable[Responder],
    role: str,
    *,
    school_id: str | None,
    at: datetime,
    loads: Mapping[str, int],
) -> Decision:
    """The on-call supervisor (covering the school) or district crisis lead (any school)."""
    candidates = sorted(
        (
            Candidate(r.responder_id, loads.get(r.responder_id, 0))
            for r in responders
            if r.role == role
            and r.available
            and r.on_call(at)
            and (school_id is None or r.covers(school_id))
        ),
        key=lambda c: (c.load, c.responder_id),
    )
    rule = RULE_ON_CALL_ROLE.format(role=role)
    if not candidates:
        return Decision(
            None, (), rule, f"no {role} on call" + (f" for school {school_id}" if school_id else "")
        )
    best = candidates[0]
    return Decision(
        best.responder_id, tuple(candidates), rule, f"{best.responder_id} is the {role} on call"
    )
