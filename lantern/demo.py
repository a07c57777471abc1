"""A synthetic demo district: five schools and a roster with round-the-clock on-call coverage.

Every name here is invented.  Seeding is idempotent (same ids, same records),
so ``lantern up --demo`` can run on a data dir that was already seeded.
"""

from __future__ import annotations

from typing import Any

from lantern.client import request

SCHOOLS: list[dict[str, str]] = [
    {"school_id": "maple-es", "name": "Maple Street Elementary"},
    {"school_id": "cedar-ms", "name": "Cedar Ridge Middle School"},
    {"school_id": "birch-hs", "name": "Birch Valley High School"},
    {"school_id": "alder-hs", "name": "Alder Grove High School"},
    {"school_id": "willow-k8", "name": "Willow Creek K-8"},
]

_ALL = [s["school_id"] for s in SCHOOLS]
_ROUND_THE_CLOCK = [
    {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00", "end": "24:00"}
]
_SRA = "suicide_risk_assessment"
_TA = "threat_assessment"


def _person(
    rid: str,
    name: str,
    role: str,
    schools: list[str],
    skills: list[str],
    languages: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Round-the-clock shifts, so a demonstration works at any hour."""
    return {
        "responder_id": rid,
        "name": name,
        "role": role,
        "schools": schools,
        "skills": skills,
        "languages": list(languages),
        "shifts": _ROUND_THE_CLOCK,
        "email": f"{rid}@district.example",
    }


RESPONDERS: list[dict[str, Any]] = [
    _person(
        "psy-avery", "Avery Demo", "school_psychologist", ["maple-es", "cedar-ms"], [_SRA], ("es",)
    ),
    _person(
        "psy-jordan", "Jordan Demo", "school_psychologist", ["birch-hs", "alder-hs"], [_SRA, _TA]
    ),
    _person("sw-riley", "Riley Demo", "school_social_worker", ["maple-es", "willow-k8"], [_SRA]),
    _person(
        "sw-casey", "Casey Demo", "school_social_worker", ["cedar-ms", "birch-hs"], [], ("vi",)
    ),
    _person("co-morgan", "Morgan Demo", "counselor", ["alder-hs", "willow-k8"], [_SRA]),
    _person("co-quinn", "Quinn Demo", "counselor", ["birch-hs", "maple-es"], []),
    _person("co-harper", "Harper Demo", "counselor", ["cedar-ms", "alder-hs"], [_SRA]),
    _person(
        "lead-sage",
        "Sage Demo",
        "crisis_team_lead",
        ["birch-hs", "alder-hs", "cedar-ms"],
        [_SRA, _TA],
    ),
    _person("sup-rowan", "Rowan Demo", "supervisor", _ALL, [_SRA, _TA]),
    _person("dcl-emery", "Emery Demo", "district_crisis_lead", _ALL, [_SRA, _TA]),
]


def seed(intake_url: str, dispatch_url: str) -> dict[str, int]:
    headers = {"X-Lantern-Actor": "demo-seed"}
    for school in SCHOOLS:
        request("POST", f"{intake_url}/schools", school, headers)
    request("POST", f"{dispatch_url}/roster/import", {"responders": RESPONDERS}, headers)
    return {"schools": len(SCHOOLS), "responders": len(RESPONDERS)}
