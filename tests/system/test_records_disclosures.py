"""The record of disclosures (34 CFR 99.32) from the same log that performed the hand-offs.

Given the four services running and an incident with a follow-up plan, when a
referral is made under a guardian's consent and later an emergency disclosure
is made without consent, then `lantern disclosures STUDENT --json` lists both
with party, purpose, date and legal basis, and for the emergency the
articulable threat and the recipients; and the audit export for the student
is well-formed CSV and NDJSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from lantern import runfile
from lantern.cli import main
from lantern.cli_records import AUDIT_COLUMNS
from tests.harness import Harness, eventually

pytestmark = pytest.mark.system

SERVICES = ("intake", "dispatch", "followup", "records")
STUDENT = "stu-77"


@pytest.fixture
async def harness(
    subjects: Any, nats_url: str, store: dict[str, str], clean_streams: None
) -> AsyncIterator[Harness]:
    harness = Harness(subjects, nats_url, store)
    for service in SERVICES:
        await harness.start(service)
    await harness.seed()
    await harness.call(
        "POST",
        "followup",
        "/resources",
        {"resource_id": "res-1", "name": "Synthetic Therapy Center", "kind": "outpatient_therapy"},
    )
    runfile.write(
        Path(store["data_dir"]),
        {
            "nats_url": nats_url,
            "prefix": subjects.prefix,
            "services": {s: harness.running[s].url for s in SERVICES},
        },
    )
    yield harness
    await harness.stop_all()


async def cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = await asyncio.to_thread(main, list(argv))
    return code, out.getvalue()


async def plan_after_stabilizing(harness: Harness) -> tuple[str, str]:
    """Report, acknowledge and stabilize an incident; returns (plan id, owner)."""
    _, reported = await harness.report(student_ref=STUDENT)
    incident = reported["incident_id"]

    async def current() -> dict[str, Any] | None:
        status, body = await harness.call("GET", "dispatch", f"/incidents/{incident}/response")
        return body.get("current") if status == 200 else None

    dispatch = await eventually(current)
    responder, path = dispatch["responder_id"], f"/dispatches/{dispatch['dispatch_id']}"
    await harness.call("POST", "dispatch", f"{path}/ack", {"responder_id": responder})
    for state in ("en_route", "with_student", "stabilized"):
        await harness.call(
            "POST", "dispatch", f"{path}/status", {"responder_id": responder, "state": state}
        )

    async def plan() -> dict[str, Any] | None:
        _, plans = await harness.call("GET", "followup", f"/plans?incident_id={incident}")
        return plans[0] if plans else None

    opened = await eventually(plan, timeout=10)
    return opened["plan_id"], responder


async def test_a_consented_referral_and_an_emergency_disclosure_are_on_the_record(
    harness: Harness, store: dict[str, str]
) -> None:
    plan_id, owner = await plan_after_stabilizing(harness)
    # Given a referral made under a guardian's written consent,
    status, proposed = await harness.call(
        "POST", "followup", f"/plans/{plan_id}/referrals", {"by": owner, "resource_id": "res-1"}
    )
    assert status == 201, proposed
    status, granted = await harness.call(
        "POST",
        "followup",
        f"/plans/{plan_id}/consents",
        {
            "by": owner,
            "given_by": "synthetic guardian",
            "given_by_role": "guardian",
            "recipients": ["res-1"],
            "purpose": "outpatient therapy referral",
            "given_at": datetime.now(UTC).isoformat(),
            "referral_id": proposed["referral_id"],
        },
    )
    assert status in (200, 201), granted
    status, body = await harness.call(
        "POST",
        "followup",
        f"/referrals/{proposed['referral_id']}/advance",
        {"by": owner, "to": "referred"},
    )
    assert status == 200, body
    # and, later, an emergency disclosure without consent (34 CFR 99.36),
    status, body = await harness.call(
        "POST",
        "followup",
        f"/plans/{plan_id}/disclosures",
        {
            "by": owner,
            "party": "mobile-crisis",
            "purpose": "immediate safety assessment",
            "legal_basis": "health_safety_emergency",
            "threat": "student stated a plan and access to means for tonight",
            "recipients": ["mobile crisis team 2", "county 988 liaison"],
            "at": (datetime.now(UTC) - timedelta(seconds=1)).isoformat(),
        },
    )
    assert status in (200, 201), body

    # when compliance asks for the student's record of disclosures,
    async def both() -> dict[str, Any] | None:
        code, out = await cli("--data-dir", store["data_dir"], "disclosures", STUDENT, "--json")
        record: dict[str, Any] = json.loads(out) if code == 0 else {}
        kinds = [e for e in record.get("entries", []) if e["kind"] == "disclosure"]
        return record if len(kinds) == 2 else None

    record = await eventually(both, timeout=10)

    # then both disclosures are there with every field the regulation requires.
    consented, emergency = sorted(
        (e for e in record["entries"] if e["kind"] == "disclosure"),
        key=lambda e: e["legal_basis"],
    )
    assert record["student_ref"] == STUDENT
    assert (consented["party"], consented["legal_basis"]) == ("res-1", "consent")
    assert consented["purpose"] == "referral for services"
    assert consented["consent_id"] == granted["consent_id"]
    assert consented["recipients"] == ["res-1"]
    assert consented["at"]
    assert emergency["legal_basis"] == "health_safety_emergency"
    assert (emergency["party"], emergency["purpose"]) == (
        "mobile-crisis",
        "immediate safety assessment",
    )
    assert emergency["threat"] == "student stated a plan and access to means for tonight"
    assert emergency["recipients"] == ["mobile crisis team 2", "county 988 liaison"]
    assert emergency["consent_id"] is None
    assert consented["missing"] == emergency["missing"] == []
    assert [c["status"] for c in record["consents"]] == ["granted"]

    # The audit export for the student is well-formed in both formats.
    code, as_csv = await cli(
        "--data-dir", store["data_dir"], "audit", "export", "--format", "csv", "--student", STUDENT
    )
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(as_csv)))
    assert tuple(csv.reader(io.StringIO(as_csv)).__next__()) == AUDIT_COLUMNS
    assert all(r["student_ref"] == STUDENT for r in rows)
    code, as_ndjson = await cli(
        "--data-dir",
        store["data_dir"],
        "audit",
        "export",
        "--format",
        "ndjson",
        "--student",
        STUDENT,
        "--since",
        (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
    )
    assert code == 0
    lines = [json.loads(line) for line in as_ndjson.splitlines()]
    # (entries still arriving between the two exports can only add lines)
    assert {r["audit_id"] for r in rows} <= {line["audit_id"] for line in lines}
    assert all(line["student_ref"] == STUDENT for line in lines)
