"""The command-line contract, against a real `lantern up --demo` (embedded nats-server, SQLite).

Given the whole system started the way the README starts it,
when a staff member reports with `lantern report`,
then `lantern status` shows a responder within two seconds; bad input names the
field, exits non-zero and stores nothing.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.lantern_cli import as_json, lantern, running_system

pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with running_system(tmp_path_factory.mktemp("lantern")) as data_dir:
        yield data_dir


def stored_events(data_dir: Path, service: str) -> int:
    """Events stored, audit entries aside (a refused command is audited, nothing else)."""
    with sqlite3.connect(data_dir / f"{service}.sqlite") as db:
        count: int = db.execute(
            "SELECT COUNT(*) FROM stored_events WHERE topic NOT LIKE 'plumbing.integrity.audit:%'"
        ).fetchone()[0]
        return count


def test_info_says_where_the_system_is(system: Path) -> None:
    info = as_json(lantern(system, "info", "--json"))
    nats_url = urlparse(info["nats_url"])

    assert (nats_url.scheme, nats_url.hostname) == ("nats", "127.0.0.1")
    assert nats_url.port != 4222  # the system NATS holds that port
    assert nats_url.username == "operator"  # the embedded server runs with per-service users
    assert info["http_url"].startswith("http://127.0.0.1:")
    assert info["http_url"] == info["services"]["console"]  # the one address for browsers
    assert set(info["services"]) == {"intake", "dispatch", "followup", "records", "console"}


def test_each_service_connects_to_nats_as_its_own_user(system: Path) -> None:
    """A service may publish only its own subjects (deploy/nats/permissions.conf)."""
    import asyncio

    import nats
    from nats.errors import Error as NatsError

    info = as_json(lantern(system, "info", "--json"))
    port = urlparse(info["nats_url"]).port
    passwords = json.loads((system / "nats-users.json").read_text())
    denied: list[str] = []

    async def probe() -> None:
        async def on_error(exc: Exception) -> None:
            denied.append(str(exc))

        nc = await nats.connect(
            f"nats://intake:{passwords['intake']}@127.0.0.1:{port}", error_cb=on_error
        )
        await nc.publish("lantern.evt.dispatch.responder_assigned", b"{}")
        await nc.flush()
        await asyncio.sleep(0.3)
        await nc.close()
        try:
            await nats.connect(
                f"nats://intake:wrong@127.0.0.1:{port}",
                allow_reconnect=False,
                max_reconnect_attempts=0,
                error_cb=on_error,
            )
        except (NatsError, OSError) as exc:
            denied.append(f"refused: {exc!r}")

    asyncio.run(probe())

    assert any("permissions violation" in d.lower() for d in denied), denied
    assert any(d.startswith("refused") or "authorization" in d.lower() for d in denied), denied


def test_schools_lists_the_demo_district(system: Path) -> None:
    schools = as_json(lantern(system, "schools", "--json"))

    assert {"id", "name"} <= set(schools[0])
    assert len(schools) == 5


def test_report_then_status_shows_a_responder_within_two_seconds(system: Path) -> None:
    started = time.monotonic()
    accepted = as_json(
        lantern(
            system,
            "report",
            "--school",
            "birch-hs",
            "--student",
            "stu-0042",
            "--category",
            "self_harm",
            "--risk",
            "high",
            "--reporter",
            "staff-17",
            "--json",
        )
    )
    incident_id = accepted["incident_id"]

    status: dict[str, Any] = {}
    while time.monotonic() - started < 2.0:
        status = as_json(lantern(system, "status", incident_id, "--json"))
        if status["dispatch"] is not None:
            break
    assert status["incident_id"] == incident_id
    assert status["risk"] == "high"
    assert status["dispatch"]["state"] == "assigned"
    assert status["dispatch"]["responder_id"] in {"psy-jordan", "lead-sage"}  # trained in SRA


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--school", "birch-hs", "--category", "bogus", "--risk", "low"], "categories[0]"),
        (["--school", "", "--category", "other", "--risk", "low"], "school_id"),
        (["--school", "birch-hs", "--category", "other", "--risk", "severe"], "risk"),
        (["--school", "no-such-school", "--category", "other", "--risk", "low"], "school_id"),
    ],
)
def test_bad_input_names_the_field_exits_non_zero_and_stores_nothing(
    system: Path, args: list[str], field: str
) -> None:
    before = stored_events(system, "intake")

    result = lantern(
        system, "report", "--student", "stu-1", "--reporter", "staff-1", *args, "--json"
    )

    assert result.returncode != 0
    error = json.loads(result.stderr)
    assert error["field"] == field
    assert error["error"]
    assert "Traceback" not in result.stderr
    assert stored_events(system, "intake") == before


def test_status_of_an_unknown_incident_is_a_clear_error(system: Path) -> None:
    result = lantern(system, "status", "00000000-0000-0000-0000-000000000000", "--json")

    assert result.returncode != 0
    assert "no incident" in json.loads(result.stderr)["error"]


def test_a_retried_report_with_the_same_idempotency_key_returns_the_same_incident(
    system: Path,
) -> None:
    args = [
        "report",
        "--school",
        "maple-es",
        "--student",
        "stu-7",
        "--category",
        "other",
        "--risk",
        "low",
        "--reporter",
        "staff-3",
        "--idempotency-key",
        "k-123",
        "--json",
    ]

    first = as_json(lantern(system, *args))
    second = as_json(lantern(system, *args))

    assert first["incident_id"] == second["incident_id"]
    assert second["duplicate"] is True


def test_a_roster_csv_imports_as_one_change_and_a_bad_row_refuses_the_file(
    system: Path, tmp_path: Path
) -> None:
    good = tmp_path / "roster.csv"
    good.write_text(
        "responder_id,name,role,schools,skills,languages,shifts\n"
        "co-csv1,Synthetic One,counselor,maple-es;cedar-ms,suicide_risk_assessment,es,"
        "mon-fri 07:00-16:00\n"
        "co-csv2,Synthetic Two,school_social_worker,willow-k8,,,\n"
    )
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "responder_id,name,role,schools\nco-csv3,Three,counselor,maple-es\nco-csv4,Four,wizard,x\n"
    )

    imported = as_json(lantern(system, "roster", "import", str(good), "--json"))
    refused = lantern(system, "roster", "import", str(bad), "--json")
    roster = {r["responder_id"]: r for r in as_json(lantern(system, "roster", "--json"))}

    assert imported["responders"] == 2
    assert roster["co-csv1"]["shifts"] == [
        {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "07:00", "end": "16:00"}
    ]
    assert roster["co-csv1"]["languages"] == ["es"]
    assert refused.returncode != 0
    assert json.loads(refused.stderr)["field"] == "responders[1].role"
    assert "co-csv3" not in roster  # all or nothing


def test_up_refuses_a_bad_config_file_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[dispatch.ack_deadline_seconds]\nhigh = -5\n")

    result = lantern(tmp_path / "data", "up", "--config", str(config))

    assert result.returncode == 2
    assert "dispatch.ack_deadline_seconds.high" in result.stderr
    assert not (tmp_path / "data" / "run.json").exists()


def test_json_into_a_reader_that_stops_after_one_line_ends_quietly(system: Path) -> None:
    """`lantern roster --json | head -1` and a reader gone before anything is written."""
    for reader in ("head -1", "true"):
        pipeline = subprocess.run(
            f"{sys.executable} -m lantern.cli --data-dir {system} roster --json | {reader}; "
            'echo "status ${PIPESTATUS[0]}"',
            shell=True,
            executable="/bin/bash",
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert pipeline.stdout.splitlines()[-1] == "status 0", reader
        assert pipeline.stderr == "", reader


def test_development_keys_the_signing_key_stays_with_the_issuers(system: Path) -> None:
    """`up` makes an Ed25519 key pair; services get the JWKS path, the console also the key."""
    import jwt

    key, jwks = system / "issuer.key", system / "jwks.json"
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    published = json.loads(jwks.read_text())["keys"]
    assert [sorted(k) for k in published] == [["alg", "crv", "kid", "kty", "use", "x"]]
    supervisor = json.loads((system / "run.json").read_text())["supervisor_pid"]
    children: dict[str, dict[str, str]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            argv = (stat.parent / "cmdline").read_bytes().split(b"\0")
            environ = (stat.parent / "environ").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        if ppid == supervisor and b"serve" in argv:
            name = argv[argv.index(b"serve") + 1].decode()
            pairs = (e.decode().partition("=") for e in environ if b"=" in e)
            children[name] = {k: v for k, _, v in pairs}
    assert set(children) == {"intake", "dispatch", "followup", "records", "console"}
    for name, env in children.items():
        assert env["LANTERN_JWKS"] == str(jwks), name
        assert ("LANTERN_SIGNING_KEY" in env) is (name == "console"), name
        delegated = env.get("LANTERN_SERVICE_TOKEN", "")
        assert bool(delegated) is (name in ("dispatch", "followup")), name
        if delegated:
            claims = jwt.decode(delegated, options={"verify_signature": False})
            assert (claims["role"], claims["sub"]) == ("service", f"service:{name}")

    minted = as_json(lantern(system, "token", "--service", "followup", "--ttl", "5", "--json"))
    claims = jwt.decode(minted["token"], options={"verify_signature": False})
    assert (minted["role"], claims["ops"]) == ("service", ["report_incident"])


def lantern_as(data_dir: Path, role: str, subject: str, *args: str) -> Any:
    """A command as someone else (the development issuer signs their token), its JSON out."""
    env = {**os.environ, "LANTERN_ROLE": role, "LANTERN_AS": subject, "LANTERN_SCHOOLS": ""}
    result = subprocess.run(
        [sys.executable, "-m", "lantern.cli", "--data-dir", str(data_dir), *args, "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_break_glass_is_reviewed_by_compliance_with_review_queue_and_review(system: Path) -> None:
    """Given a counselor's break-the-glass grant, when compliance lists the review queue, then
    the grant is there with its reason and service; once reviewed it leaves the queue."""
    reason = "synthetic: student missing, counselor unreachable"
    granted = lantern_as(system, "responder", "psy-jordan", "break-glass", "--reason", reason)
    assert set(granted) >= {"token", "until", "audit_id"}

    queue = lantern_as(system, "compliance", "comp-1", "review-queue")
    (row,) = [r for r in queue if r["audit_id"] == granted["audit_id"]]
    assert (row["service"], row["actor"], row["reason"]) == ("intake", "psy-jordan", reason)

    reviewed = lantern_as(
        system, "compliance", "comp-1", "review", granted["audit_id"], "--service", "intake"
    )
    assert reviewed == {"audit_id": granted["audit_id"], "reviewed": True}
    after = lantern_as(system, "compliance", "comp-1", "review-queue")
    assert granted["audit_id"] not in {r["audit_id"] for r in after}
    everything = lantern_as(system, "compliance", "comp-1", "review-queue", "--all")
    assert granted["audit_id"] in {r["audit_id"] for r in everything}


def test_an_incident_through_the_command_line_contract(system: Path) -> None:
    """Given a report, when a responder declines and the next acknowledges, goes to the
    student and the incident is noted and reclassified, then each command answers with the
    contract's JSON fields, and the timeline, the audit export, the record of disclosures
    and the dead-letter list show it, all through `lantern`."""
    student = "stu-cli-contract"
    accepted = as_json(
        lantern(
            system, "report", "--school", "maple-es", "--student", student,
            "--category", "acute_distress", "--risk", "moderate", "--reporter", "staff-17",
            "--json",
        )
    )  # fmt: skip
    incident = accepted["incident_id"]
    assert {"incident_id", "duplicate", "linked"} <= set(accepted)

    def current() -> dict[str, Any]:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            status = as_json(lantern(system, "status", incident, "--json"))
            if status["dispatch"] is not None:
                return dict(status["dispatch"])
            time.sleep(0.2)
        raise AssertionError("never dispatched")

    first = current()
    assert {"state", "responder_id", "dispatch_id", "ack_deadline", "rule"} <= set(first)
    listed = as_json(lantern(system, "dispatches", "--responder", first["responder_id"], "--json"))
    assert first["dispatch_id"] in {d["dispatch_id"] for d in listed}
    assert {"dispatch_id", "incident_id", "responder_id", "state", "ack_deadline"} <= set(listed[0])

    as_json(
        lantern(
            system, "decline", first["dispatch_id"], "--as", first["responder_id"],
            "--reason", "with another student", "--json",
        )
    )  # fmt: skip
    second = current()
    assert second["dispatch_id"] != first["dispatch_id"]  # the chain moved on at once
    status = as_json(lantern(system, "status", incident, "--json"))
    assert any(e["reason"] == "declined" for e in status["escalations"]), status

    responder = second["responder_id"]
    as_json(lantern(system, "ack", second["dispatch_id"], "--as", responder, "--json"))
    again = lantern(system, "ack", first["dispatch_id"], "--as", first["responder_id"], "--json")
    assert again.returncode != 0  # declined and moved on: a conflict, said so
    assert json.loads(again.stderr)["error"]
    as_json(
        lantern(
            system, "update", second["dispatch_id"], "--as", responder,
            "--state", "with_student", "--json",
        )
    )  # fmt: skip
    as_json(lantern(system, "note", incident, "--as", responder, "--text", "calmer", "--json"))
    as_json(
        lantern(
            system, "reclassify", incident, "--as", responder, "--risk", "high",
            "--reason", "said more", "--json",
        )
    )  # fmt: skip

    def timeline_types() -> set[str]:
        deadline = time.monotonic() + 10
        types: set[str] = set()
        while time.monotonic() < deadline:
            timeline = as_json(lantern(system, "timeline", incident, "--json"))
            assert timeline["incident_id"] == incident
            types = {e["type"] for e in timeline["entries"]}
            if {"dispatch_declined", "risk_reclassified", "incident_noted"} <= types:
                return types
            time.sleep(0.3)
        return types

    assert {
        "incident_reported",
        "dispatch_declined",
        "dispatch_acknowledged",
        "incident_noted",
        "risk_reclassified",
    } <= timeline_types()

    export = lantern(system, "audit", "export", "--format", "ndjson", "--student", student)
    assert export.returncode == 0, export.stderr
    actions = {json.loads(line)["action"] for line in export.stdout.splitlines() if line}
    assert {"report_incident", "add_note", "reclassify_risk"} <= actions, actions
    disclosures = as_json(lantern(system, "disclosures", student, "--json"))
    assert disclosures["student_ref"] == student
    assert {"entries", "consents", "official_access"} <= set(disclosures)
    assert isinstance(as_json(lantern(system, "dlq", "list", "--json")), list)
