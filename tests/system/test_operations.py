"""Operating Lantern without surprises: one `up` per data directory, `audit verify` that tells
the truth about a stopped system and fails fast on an unreachable one, PostgreSQL from an
empty database.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from lantern.natsserver import free_port
from tests.conftest import PG_DSN
from tests.lantern_cli import as_json, lantern, running_system

pytestmark = pytest.mark.system


def test_one_up_per_data_dir_and_verify_while_running_and_once_stopped(tmp_path: Path) -> None:
    with running_system(tmp_path) as data_dir:
        first = json.loads((data_dir / "run.json").read_text())

        second = lantern(data_dir, "up")

        assert second.returncode == 1
        assert "lantern up refused" in second.stderr
        assert f"pid {first['supervisor_pid']}" in second.stderr
        assert "Traceback" not in second.stderr
        assert json.loads((data_dir / "run.json").read_text()) == first  # the first is untouched
        assert as_json(lantern(data_dir, "schools", "--json"))  # and still answers

        running = lantern(data_dir, "audit", "verify", "--json")
        assert running.returncode == 0, running.stdout + running.stderr
        assert "the running system's NATS" in json.loads(running.stdout)["anchors"]

    stopped = lantern(tmp_path, "audit", "verify", "--json")

    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    report = json.loads(stopped.stdout)
    assert report["intact"] is True
    assert "embedded JetStream store" in report["anchors"]
    assert {s["store"] for s in report["stores"]} >= {"intake", "dispatch"}
    assert all(s["anchored_to"] > 0 for s in report["stores"] if s["records"])
    # nothing of verify's private server is left running, and up can start again
    assert not (tmp_path / "lantern.lock").read_text()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word (a hung NATS)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    server.close()


@pytest.mark.parametrize("kind", ["closed", "silent"])
def test_verify_on_an_unreachable_nats_says_so_in_one_line_within_five_seconds(
    tmp_path: Path, kind: str, request: pytest.FixtureRequest
) -> None:
    port = request.getfixturevalue("silent_port") if kind == "silent" else free_port()

    started = time.monotonic()
    result = lantern(tmp_path, "audit", "verify", "--nats-url", f"nats://127.0.0.1:{port}")
    took = time.monotonic() - started

    assert result.returncode == 3
    assert took < 5.0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "anchors unreachable" in lines[0]
    assert f"127.0.0.1:{port}" in lines[0]


def test_verify_with_nothing_to_read_anchors_from_never_guesses_a_nats(tmp_path: Path) -> None:
    result = lantern(tmp_path, "audit", "verify")

    assert result.returncode == 3
    assert "give --nats-url, or --offline" in result.stderr
    offline = lantern(tmp_path, "audit", "verify", "--offline", "--json")
    assert offline.returncode == 0, offline.stderr
    assert json.loads(offline.stdout)["anchors"] == "skipped (--offline)"


@pytest.fixture
def empty_database() -> Iterator[str]:
    name = f"lt_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_DSN, autocommit=True) as db:
        db.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = " ".join(
        f"{k}={v}" for k, v in psycopg.conninfo.conninfo_to_dict(PG_DSN).items() if k != "dbname"
    )
    yield f"{dsn} dbname={name}"
    with psycopg.connect(PG_DSN, autocommit=True) as db:
        db.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def test_postgres_up_from_an_empty_database_creates_its_schema(
    tmp_path: Path, empty_database: str
) -> None:
    with running_system(
        tmp_path,
        "--store",
        "postgres",
        "--postgres-dsn",
        empty_database,
        "--postgres-schema",
        "lantern_district",
    ) as data_dir:
        accepted = as_json(
            lantern(
                data_dir,
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
        status = as_json(lantern(data_dir, "status", accepted["incident_id"], "--json"))
        assert status["incident_id"] == accepted["incident_id"]
        assert "up.log" in {p.name for p in data_dir.iterdir()}
        up_log = (data_dir / "up.log").read_text()
        assert "schema lantern_district" in up_log
    with psycopg.connect(empty_database) as db:
        tables = {
            row[0]
            for row in db.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                ("lantern_district",),
            )
        }
    assert {"intake_events", "dispatch_events"} <= tables
    assert not (tmp_path / "intake.sqlite").exists()  # nothing went to SQLite

    verified = lantern(tmp_path, "audit", "verify", "--json")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    stores = json.loads(verified.stdout)["stores"]
    assert next(s for s in stores if s["store"] == "intake")["records"] > 0


def test_postgres_up_that_cannot_reach_the_server_says_so_at_once(tmp_path: Path) -> None:
    started = time.monotonic()
    result = lantern(
        tmp_path,
        "up",
        "--store",
        "postgres",
        "--postgres-dsn",
        f"host=127.0.0.1 port={free_port()} user=postgres dbname=none",
    )
    assert result.returncode == 3
    assert time.monotonic() - started < 10
    assert "PostgreSQL" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "run.json").exists()
