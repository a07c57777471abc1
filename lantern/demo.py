"""A synthetic demo district: five schools and a roster with round-the-clock coverage.

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

RESPONDERS: list[dict[str, Any]] = [
    {
        "responder_id": "psy-avery",
        "name": "Avery Demo",
        "role": "school_psychologist",
        "schools": ["maple-es", "cedar-ms"],
        "skills": ["suicide_risk_assessment", "lang:es"],
    },
    {
        "responder_id": "psy-jordan",
        "name": "Jordan Demo",
        "role": "school_psychologist",
        "schools": ["birch-hs", "alder-hs"],
        "skills": ["suicide_risk_assessment", "threat_assessment"],
    },
    {
        "responder_id": "sw-riley",
        "name": "Riley Demo",
        "role": "school_social_worker",
        "schools": ["maple-es", "willow-k8"],
        "skills": ["suicide_risk_assessment"],
    },
    {
        "responder_id": "sw-casey",
        "name": "Casey Demo",
        "role": "school_social_worker",
        "schools": ["cedar-ms", "birch-hs"],
        "skills": ["lang:vi"],
    },
    {
        "responder_id": "co-morgan",
        "name": "Morgan Demo",
        "role": "counselor",
        "schools": ["alder-hs", "willow-k8"],
        "skills": ["suicide_risk_assessment"],
    },
    {
        "responder_id": "co-quinn",
        "name": "Quinn Demo",
        "role": "counselor",
        "schools": ["birch-hs"],
        "skills": [],
    },
    {
        "responder_id": "lead-sage",
        "name": "Sage Demo",
        "role": "crisis_team_lead",
        "schools": _ALL,
        "skills": ["suicide_risk_assessment", "threat_assessment"],
    },
    {
        "responder_id": "sup-rowan",
        "name": "Rowan Demo",
        "role": "supervisor",
        "schools": _ALL,
        "skills": ["suicide_risk_assessment", "threat_assessment"],
    },
    {
        "responder_id": "dcl-emery",
        "name": "Emery Demo",
        "role": "district_crisis_lead",
        "schools": _ALL,
        "skills": ["suicide_risk_assessment", "threat_assessment"],
    },
]


def seed(intake_url: str, dispatch_url: str) -> dict[str, int]:
    headers = {"X-Lantern-Actor": "demo-seed"}
    for school in SCHOOLS:
        request("POST", f"{intake_url}/schools", school, headers)
    for responder in RESPONDERS:
        request("POST", f"{dispatch_url}/roster/responders", responder, headers)
    return {"schools": len(SCHOOLS), "responders": len(RESPONDERS)}
