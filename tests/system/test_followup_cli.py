"""The follow-up command-line contract, against a real `lantern up --demo` (SQLite).

Given the whole system started the way the README starts it,
when an incident is reported, acknowledged and resolved,
then `lantern plans --json` shows its plan, and `lantern checkin complete` records a
check-in once; a second completion exits non-zero naming the field.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lantern.cli_auth import token_for
from lantern.client import request, use_token
from tests.lantern_cli import as_json, lantern, running_system

pytestmark = pytest.mark.system


def until(probe: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with running_system(tmp_path_factory.mktemp("lantern-followup")) as data_dir:
        yield data_dir


def resolved_incident(data_dir: Path) -> str:
    """Report at intake, then acknowledge and resolve as the assigned responder."""
    reported = as_json(
        lantern(
            data_dir,
            "report",
            "--school",
            "birch-hs",
            "--student",
            "stu-cli-1",
            "--category",
            "acute_distress",
            "--risk",
            "high",
            "--reporter",
            "staff-17",
            "--json",
        )
    )
    incident = reported["incident_id"]
    status = until(lambda: as_json(lantern(data_dir, "status", incident, "--json"))["dispatch"])
    dispatch_url = json.loads((data_dir / "run.json").read_text())["services"]["dispatch"]
    path = f"{dispatch_url}/dispatches/{status['dispatch_id']}"
    responder = status["responder_id"]
    use_token(token_for(data_dir))  # the CLI's dev identity (an administrator)
    request(
        "POST", f"{path}/ack", {"dispatch_id": status["dispatch_id"], "responder_id": responder}
    )
    for state in ("en_route", "with_student", "stabilized", "resolved"):
        request("POST", f"{path}/status", {"responder_id": responder, "state": state})
    return str(incident)


def test_plans_and_checkin_commands_follow_the_contract(system: Path) -> None:
    incident = resolved_incident(system)

    plans = until(lambda: as_json(lantern(system, "plans", "--incident", incident, "--json")))
    (plan,) = plans
    assert {"plan_id", "incident_id", "owner_id", "checkins", "referrals"} <= set(plan)
    assert {"checkin_id", "due_at", "state"} <= set(plan["checkins"][0])
    checkin = plan["checkins"][0]["checkin_id"]
    owner = plan["owner_id"]

    done = as_json(
        lantern(
            system, "checkin", "complete", checkin, "--as", owner, "--outcome", "stable", "--json"
        )
    )
    again = lantern(
        system, "checkin", "complete", checkin, "--as", owner, "--outcome", "stable", "--json"
    )

    assert done["checkins"][0]["state"] == "completed"
    assert again.returncode == 1
    assert json.loads(again.stderr)["field"] == "checkin_id"
    by_owner = as_json(lantern(system, "plans", "--owner", owner, "--json"))
    assert plan["plan_id"] in {p["plan_id"] for p in by_owner}


def test_bad_input_names_the_field_and_exits_2(system: Path) -> None:
    result = lantern(
        system,
        "checkin",
        "reschedule",
        "not-a-uuid",
        "--as",
        "co-quinn",
        "--to",
        "2026-12-01T10:00:00+00:00",
        "--reason",
        "away",
        "--json",
    )

    assert result.returncode == 2
    assert json.loads(result.stderr) == {"error": "Invalid UUID", "field": "checkin_id"}
