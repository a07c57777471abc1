"""A small synthetic roster used by the dispatch specifications."""

from __future__ import annotations

from datetime import datetime

from services.dispatch.domain.roster import Override, Responder, Shift

ALL_WEEK = (Shift(("mon", "tue", "wed", "thu", "fri", "sat", "sun"), "00:00", "24:00"),)


def responder(
    rid: str,
    role: str = "counselor",
    schools: tuple[str, ...] = ("s0",),
    *,
    available: bool = True,
    skills: tuple[str, ...] = (),
    languages: tuple[str, ...] = (),
    shifts: tuple[Shift, ...] | None = None,
    overrides: tuple[Override, ...] = (),
) -> Responder:
    return Responder(
        responder_id=rid,
        name=rid.upper(),
        role=role,
        schools=schools,
        skills=skills,
        languages=languages,
        available=available,
        shifts=shifts,
        overrides=overrides,
    )


def district(at: datetime | None = None) -> list[Responder]:
    """Two counselors, a psychologist, a supervisor and a district crisis lead at school s0."""
    return [
        responder("co-a"),
        responder("co-b"),
        responder("psy-c", "school_psychologist", skills=("suicide_risk_assessment",)),
        responder("sup-d", "supervisor"),
        responder("dcl-e", "district_crisis_lead", schools=()),
    ]
