"""Specifications: break-the-glass, audit entries, PII at rest, in logs and on the wire, shredding.

The privacy story: synthetic names and notes are reported; afterwards none of
them can be found in clear text in the SQLite files (or a dump of the
PostgreSQL schema), in the JetStream store directory of a wheel nats-server
run for this test, or in the captured logs.  Crypto-shredding one student
makes their details unreadable (``[shredded]``) while the other student's stay
readable and every event is still there.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import nats
import psycopg
import pytest

from events.audit import AuditRecordedV1
from events.subjects import DISPATCH, INTAKE, Subjects
from plumbing.access.auth import Grant, Role
from tests.conftest import PG_DSN
from tests.harness import Harness, eventually
from tests.nats_process import OwnNats

pytestmark = pytest.mark.system

NAMES = {"stu-p1": "Zelda Quixoticname", "stu-p2": "Yannick Unlikelyname"}
NOTES = {"stu-p1": "PRIVATE-NOTE-tangerine-7731", "stu-p2": "PRIVATE-NOTE-marmalade-4402"}
ROSTER = [{"responder_id": "r-a", "name": "A", "role": "counselor", "schools": ["s0"]}]


@pytest.fixture
async def system(
    subjects: Subjects, own_nats: OwnNats, store: dict[str, str]
) -> AsyncIterator[Harness]:
    harness = Harness(subjects, own_nats.url, store)
    await harness.start(INTAKE)
    await harness.start(DISPATCH)
    await harness.call("POST", "intake", "/schools", {"school_id": "s0", "name": "S0"})
    await harness.call("POST", "dispatch", "/roster/import", {"responders": ROSTER})
    yield harness
    await harness.stop_all()


async def report(harness: Harness, student: str) -> str:
    status, body = await harness.report(
        student_ref=student,
        note=NOTES[student],
        student_details={"name": NAMES[student], "grade": "9"},
    )
    assert status == 201, body
    return str(body["incident_id"])


def raw_bytes(store: dict[str, str], data_dir: Path) -> bytes:
    """Everything at rest: the SQLite files, or a dump of the test's PostgreSQL schema."""
    if store["store"] == "sqlite":
        return b"".join(p.read_bytes() for p in data_dir.rglob("*.sqlite*") if p.is_file())
    dump = subprocess.run(
        [
            "pg_dump",
            "--schema",
            store["postgres_schema"],
            "--data-only",
            PG_DSN.split("dbname=")[1],
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
        ],
        capture_output=True,
        check=False,
    )
    if dump.returncode == 0:
        return dump.stdout
    out = b""  # no pg_dump on this machine: read every row of every table instead
    with psycopg.connect(PG_DSN) as db:
        tables = db.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (store["postgres_schema"],),
        ).fetchall()
        for (table,) in tables:
            for row in db.execute(f'SELECT * FROM {store["postgres_schema"]}."{table}"'):
                out += repr(row).encode()
    return out


async def test_names_and_notes_are_nowhere_in_clear_text_and_shredding_makes_them_unreadable(
    system: Harness,
    store: dict[str, str],
    own_nats: OwnNats,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    harness = system
    incidents = [await report(harness, s) for s in NAMES]
    for incident in incidents:
        await eventually(lambda i=incident: _assigned(harness, i))  # type: ignore[misc]
    compliance = harness.token("comp-1", Role.COMPLIANCE)
    status, seen = await harness.call("GET", "intake", "/students/stu-p1", token=compliance)
    assert status == 200
    assert seen["details"]["name"] == NAMES["stu-p1"]
    assert seen["notes"][0]["text"] == NOTES["stu-p1"]

    # at rest, on the wire (JetStream's files) and in the logs: nothing in clear text
    secrets = [v.encode() for v in (*NAMES.values(), *NOTES.values())]
    at_rest = raw_bytes(store, Path(store["data_dir"]))
    jetstream = b"".join(
        p.read_bytes() for p in (own_nats.directory / "jetstream").rglob("*") if p.is_file()
    )
    logs = caplog.text.encode()
    for secret in secrets:
        assert secret not in at_rest, secret
        assert secret not in jetstream, secret
        assert secret not in logs, secret
    assert b"stu-p1" in jetstream  # the pseudonymous reference does travel

    # crypto-shredding one student: their PII is unreadable, the other's is not
    status, shredded = await harness.call(
        "POST",
        "intake",
        "/students/stu-p1/shred",
        {"reason": "retention period ended"},
        token=compliance,
    )
    assert (status, shredded["key_deleted"]) == (200, True)
    _, gone = await harness.call("GET", "intake", "/students/stu-p1", token=compliance)
    _, kept = await harness.call("GET", "intake", "/students/stu-p2", token=compliance)
    assert gone["details"]["name"] == gone["notes"][0]["text"] == "[shredded]"
    assert kept["details"]["name"] == NAMES["stu-p2"]
    # the history is all there: the incident still reads, with its triage
    status, incident = await harness.call("GET", "intake", f"/incidents/{incidents[0]}")
    assert (status, incident["risk"]) == (200, "moderate")


async def _assigned(harness: Harness, incident: str) -> bool:
    status, body = await harness.call("GET", "dispatch", f"/incidents/{incident}/response")
    return status == 200 and body.get("current") is not None


async def test_break_the_glass_needs_a_reason_expires_and_is_flagged_for_review(
    system: Harness, own_nats: OwnNats, subjects: Subjects
) -> None:
    harness = system
    incident = await report(harness, "stu-p1")
    outsider = harness.token("r-z", Role.RESPONDER, ("s9",))
    path = f"/incidents/{incident}"
    assert (await harness.call("GET", "intake", path, token=outsider))[0] == 403

    # no reason, no glass
    status, body = await harness.call(
        "POST", "intake", "/access/break-glass", {"reason": ""}, token=outsider
    )
    assert (status, body["field"]) == (400, "reason")

    status, granted = await harness.break_glass(
        outsider, {"reason": "student missing, r-a unreachable", "minutes": 15}
    )
    assert status == 201, granted
    assert (await harness.call("GET", "intake", path, token=granted["token"]))[0] == 200

    # an expired grant opens nothing: its token ends when the grant does (401)
    past = datetime.now(UTC) - timedelta(minutes=30)
    expired = harness.token(
        "r-z",
        Role.RESPONDER,
        ("s9",),
        now=past,
        ttl=timedelta(hours=8),
        grant=Grant("old emergency", past + timedelta(minutes=5), "a-old"),
    )
    assert (await harness.call("GET", "intake", path, token=expired))[0] == 401

    # compliance sees both the grant and the access it made, unreviewed, with the reason
    compliance = harness.token("comp-1", Role.COMPLIANCE)
    _, queue = await harness.call("GET", "intake", "/audit/break-glass", token=compliance)
    assert {(r["action"], r["reason"]) for r in queue} == {
        ("break_glass", "student missing, r-a unreachable"),
        ("show_incident", "student missing, r-a unreachable"),
    }
    reviewed = queue[0]["audit_id"]
    status, _ = await harness.call(
        "POST",
        "intake",
        f"/audit/break-glass/{reviewed}/review",
        {"note": "justified"},
        token=compliance,
    )
    assert status == 200
    _, queue = await harness.call("GET", "intake", "/audit/break-glass", token=compliance)
    assert [r["audit_id"] for r in queue] != []
    assert reviewed not in [r["audit_id"] for r in queue]

    # and every access is published as an audit entry, refusals included
    nc = await nats.connect(own_nats.url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(subjects.stream(INTAKE))
        entries = []
        for seq in range(1, info.state.last_seq + 1):
            msg = await js.get_msg(subjects.stream(INTAKE), seq=seq)
            if subjects.family(msg.subject or "") == subjects.audit(INTAKE):
                entries.append(msgspec.json.decode(msg.data or b"", type=AuditRecordedV1))
    finally:
        await nc.close()
    mine = [e for e in entries if e.actor == "r-z"]
    assert [(e.action, e.outcome, e.break_glass) for e in mine] == [
        ("show_incident", "refused", False),
        ("break_glass", "allowed", True),
        ("show_incident", "allowed", True),
    ]  # the expired grant's token was expired with it: a 401, before any access rule
    assert all(e.interface == "http" and e.role == "responder" for e in mine)
    assert mine[2].incident_id == incident
