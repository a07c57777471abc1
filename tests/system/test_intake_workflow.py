"""Intake's workflow end to end on a real nats-server, on SQLite and on PostgreSQL.

Given intake running as a real service (HTTP, NATS request-reply, outbox relay),
when reports and later changes arrive over either interface,
then both interfaces validate alike, a student has one open incident at a time
(a second report links), and every public change reaches the intake stream once.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import msgspec
import nats
import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext

from events import headers as h
from events.intake import IncidentCancelledV2, IncidentReportedV1, ReportLinkedV1
from events.subjects import INTAKE, Subjects
from lantern import runfile
from services.intake.application import IntakeApplication
from tests.harness import Harness, admin_headers, eventually, install_keys
from tests.replies import check_nats_reply

pytestmark = pytest.mark.system


@pytest.fixture
async def harness(
    subjects: Subjects, nats_url: str, store: dict[str, str], clean_streams: None
) -> AsyncIterator[Harness]:
    harness = Harness(subjects, nats_url, store)
    await harness.start("intake")
    await harness.call("POST", "intake", "/schools", {"school_id": "s0", "name": "S0"})
    yield harness
    await harness.stop_all()


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[Client]:
    client = await nats.connect(nats_url)
    yield client
    await client.close()


def intake_app(harness: Harness) -> IntakeApplication:
    app = harness.running["intake"].process.app
    assert isinstance(app, IntakeApplication)
    return app


def stored(harness: Harness) -> int:
    """Events stored, audit entries aside (a refused command is audited, nothing else)."""
    notifications = intake_app(harness).recorder.select_notifications(0, 100_000)
    return sum(1 for n in notifications if not n.topic.startswith("plumbing.integrity.audit:"))


async def over_nats(nc: Client, subjects: Subjects, name: str, body: Any) -> tuple[int, Any]:
    reply = await nc.request(
        subjects.command(INTAKE, name),
        msgspec.json.encode(body),
        timeout=5,
        headers=admin_headers(),
    )
    body = msgspec.json.decode(reply.data)
    return check_nats_reply(INTAKE, name, reply.headers or {}, body), body


async def on_stream(js: JetStreamContext, subjects: Subjects) -> list[tuple[str, bytes]]:
    """(subject, data) of every message the intake stream holds, oldest first."""
    info = await js.stream_info(subjects.stream(INTAKE))
    out = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        msg = await js.get_msg(subjects.stream(INTAKE), seq=seq)
        family = subjects.family(msg.subject or "")
        if family != subjects.audit(INTAKE):  # audit entries are checked in tests/access
            out.append((family, msg.data or b""))
    return out


async def published(
    js: JetStreamContext, subjects: Subjects, harness: Harness, count: int
) -> list[tuple[str, bytes]]:
    """Wait until the relay has caught up with the store, then read the stream."""
    relay = harness.running["intake"].process.messaging.relay
    assert relay is not None
    target = intake_app(harness).recorder.max_notification_id() or 0
    await eventually(lambda: _at(relay.status.position, target))
    messages = await on_stream(js, subjects)
    assert len(messages) == count, messages
    return messages


async def _at(position: int, target: int) -> bool:
    return position >= target


REPORT: dict[str, Any] = {
    "school_id": "s0",
    "student_ref": "stu-1",
    "categories": ["acute_distress"],
    "risk": "moderate",
    "reporter_id": "t-1",
}


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"categories": ["bogus"]}, "categories[0]"),
        ({"risk": None}, "risk"),  # no risk and no screener
        ({"immediate_danger": "fire"}, "immediate_danger"),
        ({"screener": {"q1": True, "q2": False, "q3": True, "q6": False}}, "screener.q3"),
        (
            {"screener": {"q1": True, "q2": False, "q6": False}, "risk": "high"},
            "risk_override_reason",
        ),
        ({"school_id": "nowhere"}, "school_id"),
        ({"student_details": {"nickname": "x"}}, "student_details.nickname"),
        ({"warning_signs": [""]}, "warning_signs[0]"),
    ],
)
async def test_http_and_nats_refuse_bad_reports_alike_and_store_nothing(
    harness: Harness, nc: Client, subjects: Subjects, patch: dict[str, Any], field: str
) -> None:
    body = {k: v for k, v in {**REPORT, **patch}.items() if v is not None}
    before = stored(harness)

    http_status, http_error = await harness.call("POST", "intake", "/incidents", body)
    nats_status, nats_error = await over_nats(nc, subjects, "report_incident", body)

    assert http_error == nats_error
    assert http_error["field"] == field
    assert http_status == nats_status >= 400
    assert stored(harness) == before


async def test_a_report_over_nats_is_stored_and_readable_over_http(
    harness: Harness, nc: Client, subjects: Subjects
) -> None:
    status, accepted = await over_nats(
        nc, subjects, "report_incident", {**REPORT, "location": "gym", "immediate_danger": "weapon"}
    )

    assert status == 201
    assert accepted["emergency_instruction"].startswith("Call 911")
    _, view = await harness.call("GET", "intake", f"/incidents/{accepted['incident_id']}")
    assert (view["risk"], view["location"], view["immediate_danger"]) == (
        "imminent",
        "gym",
        "weapon",
    )


async def test_a_second_report_for_the_same_student_links_and_is_published_once(
    harness: Harness, js: JetStreamContext, subjects: Subjects
) -> None:
    _, first = await harness.report()
    status, second = await harness.report(reporter_id="t-2", risk="low")

    assert status == 201
    assert second["linked"] is True
    assert second["incident_id"] == first["incident_id"]
    messages = await published(js, subjects, harness, count=2)
    assert [s for s, _ in messages] == [subjects.incident_reported, subjects.report_linked]
    linked = msgspec.json.decode(messages[1][1], type=ReportLinkedV1)
    assert str(linked.incident_id) == first["incident_id"]
    assert str(linked.report_id) == second["report_id"]
    _, view = await harness.call("GET", "intake", f"/incidents/{first['incident_id']}")
    assert [r["reporter_id"] for r in view["linked_reports"]] == ["t-2"]


async def test_two_concurrent_reports_for_one_student_make_one_incident_and_one_link(
    harness: Harness, js: JetStreamContext, subjects: Subjects
) -> None:
    results = await asyncio.gather(
        *(harness.report(reporter_id=f"t-{i}") for i in range(2)),
    )

    assert sorted(status for status, _ in results) == [201, 201]
    bodies = [body for _, body in results]
    assert bodies[0]["incident_id"] == bodies[1]["incident_id"]
    assert sorted(b["linked"] for b in bodies) == [False, True]
    messages = await published(js, subjects, harness, count=2)
    assert sorted(s for s, _ in messages) == sorted(
        [subjects.incident_reported, subjects.report_linked]
    )


async def test_cancelling_publishes_the_cancellation_and_frees_the_student(
    harness: Harness, js: JetStreamContext, subjects: Subjects
) -> None:
    _, first = await harness.report()
    incident_id = first["incident_id"]

    status, changed = await harness.call(
        "POST",
        "intake",
        f"/incidents/{incident_id}/cancel",
        {"by": "lead-1", "reason": "false alarm"},
    )
    assert (status, changed["state"]) == (200, "cancelled")
    _, again = await harness.report()

    messages = await published(js, subjects, harness, count=3)
    assert [s for s, _ in messages] == [
        subjects.incident_reported,
        subjects.incident_cancelled,
        subjects.incident_reported,
    ]
    cancelled = msgspec.json.decode(messages[1][1], type=IncidentCancelledV2)
    assert (str(cancelled.incident_id), cancelled.by) == (incident_id, "lead-1")
    assert b"false alarm" not in messages[1][1]  # the reason stays in intake's record
    _, view = await harness.call("GET", "intake", f"/incidents/{incident_id}")
    assert view["cancelled"]["reason"] == "false alarm"
    assert again["linked"] is False
    assert again["incident_id"] != incident_id


async def test_a_change_after_cancellation_is_refused_alike_over_http_and_nats(
    harness: Harness, nc: Client, subjects: Subjects
) -> None:
    _, first = await harness.report()
    incident_id = first["incident_id"]
    await harness.call(
        "POST", "intake", f"/incidents/{incident_id}/cancel", {"by": "a", "reason": "false alarm"}
    )
    before = stored(harness)
    note = {"incident_id": incident_id, "by": "psy-1", "text": "late note"}

    http_status, http_error = await harness.call(
        "POST", "intake", f"/incidents/{incident_id}/notes", note
    )
    nats_status, nats_error = await over_nats(nc, subjects, "add_note", note)

    assert http_status == nats_status == 409
    assert http_error == nats_error == {"error": "incident is cancelled", "field": "state"}
    assert stored(harness) == before


async def test_later_changes_reach_the_stream_without_note_text_or_student_details(
    harness: Harness, js: JetStreamContext, subjects: Subjects
) -> None:
    _, first = await harness.report(
        note="SECRET-NOTE", student_details={"name": "Ada Example", "grade": "9"}
    )
    path = f"/incidents/{first['incident_id']}"
    changes = [
        ("notes", {"by": "psy-1", "text": "SECRET-NOTE-2", "warning_signs": ["pacing"]}),
        ("reclassify", {"by": "psy-1", "risk": "high", "reason": "assessed"}),
        (
            "corrections",
            {
                "by": "t-1",
                "field": "student_details.name",
                "value": "Ada Exemple",
                "reason": "typo",
            },
        ),
        ("close", {"by": "psy-1"}),
    ]
    for suffix, body in changes:
        status, _ = await harness.call("POST", "intake", f"{path}/{suffix}", body)
        assert status == 200, suffix

    messages = await published(js, subjects, harness, count=5)

    assert [s for s, _ in messages] == [
        subjects.incident_reported,
        subjects.incident_noted,
        subjects.risk_reclassified,
        subjects.incident_corrected,
        subjects.incident_closed,
    ]
    wire = b"".join(data for _, data in messages)
    for secret in (b"SECRET-NOTE", b"Ada", b"pacing"):
        assert secret not in wire
    reported = msgspec.json.decode(messages[0][1], type=IncidentReportedV1)
    assert reported.student_ref == "stu-1"
    _, view = await harness.call("GET", "intake", path)
    assert (view["state"], view["risk"], view["notes"]) == ("closed", "high", 2)


async def test_published_events_carry_the_incident_and_tracing_headers(
    harness: Harness, js: JetStreamContext, subjects: Subjects
) -> None:
    _, first = await harness.report()
    await published(js, subjects, harness, count=1)

    msg = await js.get_last_msg(subjects.stream(INTAKE), subjects.incident_reported)

    assert msg.headers is not None
    assert msg.headers[h.INCIDENT_ID] == first["incident_id"]
    assert msg.headers[h.SCHEMA] == "intake.incident_reported.v1"


@pytest.fixture
async def js(nc: Client) -> JetStreamContext:
    return nc.jetstream()


# -- the command line, against the same running intake ------------------------------------------
@pytest.fixture
def cli_dir(harness: Harness, tmp_path: Path) -> Path:
    """A run file that points the ``lantern`` command at this test's intake."""
    data_dir = tmp_path / "cli"
    url = harness.running["intake"].url
    runfile.write(
        data_dir, {"nats_url": harness.nats_url, "http_url": url, "services": {"intake": url}}
    )
    install_keys(data_dir)  # the CLI's dev identity: signed with the test issuer's key
    return data_dir


async def lantern(
    data_dir: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[int, Any, Any]:
    """Run the real CLI in a subprocess (off the loop, so the service keeps serving)."""
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "lantern.cli", "--data-dir", str(data_dir), *args, "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **(env or {})},
    )
    out = json.loads(done.stdout) if done.stdout.strip() else None
    err = json.loads(done.stderr) if done.stderr.strip() else None
    return done.returncode, out, err


async def test_the_cli_reports_links_and_changes_an_incident(cli_dir: Path) -> None:
    report = ["report", "--school", "s0", "--student", "stu-5", "--category", "self_harm"]

    code, first, _ = await lantern(
        cli_dir,
        *report,
        *("--reporter", "t-1", "--screener", "1=yes,2=yes,3=yes,4=yes,5=no,6=no"),
        *("--location", "gym", "--warning-sign", "pacing", "--reporter-role", "coach"),
        *("--student-name", "Ada Example", "--student-dob", "2011-02-03"),
    )
    assert code == 0
    assert (first["risk"], first["suggested_risk"], first["linked"]) == ("high", "high", False)
    incident_id = first["incident_id"]

    code, second, _ = await lantern(
        cli_dir, *report, "--risk", "low", "--reporter", "t-2", "--immediate-danger", "weapon"
    )
    assert code == 0
    assert (second["incident_id"], second["linked"]) == (incident_id, True)
    assert second["emergency_instruction"].startswith("Call 911 now")

    steps = [
        ["note", incident_id, "--as", "psy-1", "--text", "calmer", "--warning-sign", "quiet"],
        ["reclassify", incident_id, "--as", "psy-1", "--risk", "moderate", "--reason", "seen"],
        [
            *("correct", incident_id, "--as", "t-1", "--field", "location", "--value", "library"),
            *("--reason", "misheard", "--effective-at", "2026-01-05T08:00:00+00:00"),
        ],
        ["cancel", incident_id, "--as", "lead-1", "--reason", "false alarm"],
    ]
    for step in steps:
        code, changed, err = await lantern(cli_dir, *step)
        assert code == 0, (step, err)
    assert (changed["state"], changed["risk"]) == ("cancelled", "moderate")

    code, _, refused = await lantern(cli_dir, "close", incident_id, "--as", "lead-1")
    assert code == 1
    assert refused == {"error": "incident is cancelled", "field": "state"}


async def test_the_cli_breaks_the_glass_in_two_steps_capped_by_its_own_token(
    cli_dir: Path,
) -> None:
    """Intake records the grant; the CLI, holding the issuer's key, signs its token."""
    me = {"LANTERN_AS": "r-z", "LANTERN_ROLE": "responder", "LANTERN_SCHOOLS": "s9"}
    asked = datetime.now(UTC)
    code, granted, err = await lantern(
        cli_dir, "break-glass", "--reason", "student missing", "--minutes", "60", env=me
    )
    assert code == 0, err
    claims = jwt.decode(granted["token"], options={"verify_signature": False})
    assert (claims["sub"], claims["bg"]["audit_id"]) == ("r-z", granted["audit_id"])
    assert claims["exp"] == claims["bg"]["until"]
    # the CLI's dev identity lives 10 minutes: so does the grant, not the 60 asked for
    assert claims["exp"] <= (asked + timedelta(minutes=10, seconds=5)).timestamp()

    code, _, refused = await lantern(
        cli_dir, "break-glass", "--reason", "again", env={"LANTERN_TOKEN": granted["token"]}
    )
    assert code != 0
    assert refused["field"] == "authorization"


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--risk", "low", "--screener", "1=yes,2=perhaps,6=no"], "screener.q2"),
        (["--screener", "1=yes,2=no,3=no,6=no"], "screener.q3"),
        (["--screener", "1=yes,2=no,6=no", "--risk", "high"], "risk_override_reason"),
        (["--risk", "low", "--immediate-danger", "fire"], "immediate_danger"),
        (["--risk", "low", "--student-dob", "someday"], "student_details.date_of_birth"),
        (["--reporter-role", "teacher"], "risk"),
    ],
)
async def test_the_cli_names_the_bad_field_exits_2_and_stores_nothing(
    harness: Harness, cli_dir: Path, args: list[str], field: str
) -> None:
    before = stored(harness)

    code, out, refused = await lantern(
        cli_dir,
        "report",
        "--school",
        "s0",
        "--student",
        "stu-6",
        "--category",
        "other",
        "--reporter",
        "t-1",
        *args,
    )

    assert (code, out) == (2, None)
    assert refused["field"] == field
    assert stored(harness) == before


async def test_every_intake_action_is_in_the_openapi_document(harness: Harness) -> None:
    status, document = await harness.call("GET", "intake", "/openapi.json")

    assert status == 200
    operations = {
        entry["operationId"]: (method.upper(), path)
        for path, methods in document["paths"].items()
        for method, entry in methods.items()
    }
    assert operations["report_incident"] == ("POST", "/incidents")
    assert operations["add_note"] == ("POST", "/incidents/{incident_id}/notes")
    assert operations["reclassify_risk"] == ("POST", "/incidents/{incident_id}/reclassify")
    assert operations["correct_incident"] == ("POST", "/incidents/{incident_id}/corrections")
    assert operations["cancel_incident"] == ("POST", "/incidents/{incident_id}/cancel")
    assert operations["close_incident"] == ("POST", "/incidents/{incident_id}/close")
    assert "ScreenerV1" in document["components"]["schemas"]
