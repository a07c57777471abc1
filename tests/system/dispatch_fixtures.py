"""Shared set-up for the dispatch system tests: a short policy and a small synthetic roster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lantern.scenario import short_policy_toml
from tests.harness import Harness

ROSTER: list[dict[str, Any]] = [
    {
        "responder_id": "co-a",
        "name": "A",
        "role": "counselor",
        "schools": ["s0"],
        "email": "co-a@district.example",
    },
    {
        "responder_id": "co-b",
        "name": "B",
        "role": "counselor",
        "schools": ["s0"],
        "email": "co-b@district.example",
    },
    {"responder_id": "sup-d", "name": "D", "role": "supervisor", "schools": ["s0"]},
    {"responder_id": "dcl-e", "name": "E", "role": "district_crisis_lead", "schools": []},
]


def short_policy(directory: Path, ack_seconds: int = 1, extra: str = "") -> str:
    path = directory / "lantern.toml"
    path.write_text(short_policy_toml("test-short", ack_seconds, extra))
    return str(path)


async def seed_roster(harness: Harness) -> None:
    await harness.call("POST", "intake", "/schools", {"school_id": "s0", "name": "S0"})
    status, body = await harness.call("POST", "dispatch", "/roster/import", {"responders": ROSTER})
    assert status == 201, body


async def response(harness: Harness, incident_id: str) -> dict[str, Any]:
    status, body = await harness.call("GET", "dispatch", f"/incidents/{incident_id}/response")
    return body if status == 200 else {}
