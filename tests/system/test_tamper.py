"""Tamper evidence on SQLite and PostgreSQL: `lantern audit verify` names every kind of break.

Given real services that stored real history, chained it and anchored the
chain heads on NATS, when someone edits the raw tables (modifies, deletes,
reorders, inserts records, or cuts off the newest ones together with their
chain rows), then `lantern audit verify` exits non-zero and names each broken
record by store, position and kind; on untouched history it exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import nats
import psycopg
import pytest

from events.codec import decode
from events.records import IntegrityCheckpointV1
from events.subjects import Subjects
from lantern import runfile
from lantern.cli import main
from tests.harness import Harness, eventually

pytestmark = pytest.mark.system

SERVICES = ("intake", "dispatch", "records")


@pytest.fixture
async def history(
    subjects: Subjects,
    nats_url: str,
    store: dict[str, str],
    clean_streams: None,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[dict[str, str]]:
    """Three incidents stored, chained and anchored; the services are stopped afterwards."""
    harness = Harness(subjects, nats_url, store)
    for service in SERVICES:
        await harness.start(service)
    await harness.seed()
    for student in ("stu-1", "stu-2", "stu-3"):
        status, _ = await harness.report(student_ref=student)
        assert status == 201
    for service in SERVICES:
        await eventually(lambda s=service: anchored_at_head(store, subjects, nats_url, s), 15)  # type: ignore[misc]
    await harness.stop_all()
    point_verify_at(store, subjects, nats_url, monkeypatch)
    yield store
    nc = await nats.connect(nats_url)
    with contextlib.suppress(Exception):
        await nc.jetstream().delete_stream(subjects.integrity_stream)
    await nc.close()


def point_verify_at(
    store: dict[str, str], subjects: Subjects, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `lantern audit verify` is told: the stores, and the NATS where the anchors are."""
    runfile.write(Path(store["data_dir"]), {"nats_url": nats_url, "prefix": subjects.prefix})
    monkeypatch.setenv("LANTERN_STORE", store["store"])
    monkeypatch.setenv("LANTERN_PREFIX", subjects.prefix)
    monkeypatch.setenv("LANTERN_NATS_URL", nats_url)
    if store["store"] == "postgres":
        monkeypatch.setenv("LANTERN_POSTGRES_DSN", store["postgres_dsn"])
        monkeypatch.setenv("LANTERN_POSTGRES_SCHEMA", store["postgres_schema"])


# -- raw access to the stores (what an intruder with database access would do) ---------------------
class Raw:
    """Positions and edits on one service's raw event table, SQLite or PostgreSQL."""

    def __init__(self, store: dict[str, str], service: str) -> None:
        self.store = store
        self.service = service
        if store["store"] == "sqlite":
            self.events, self.chain, self.pos = "stored_events", "lantern_chain", "rowid"
        else:
            schema = store["postgres_schema"]
            self.events = f'"{schema}"."{service}_events"'
            self.chain = f'"{schema}"."{service}_chain"'
            self.pos = "notification_id"

    @contextlib.contextmanager
    def sql(self) -> Iterator[Callable[..., list[Any]]]:
        if self.store["store"] == "sqlite":
            path = Path(self.store["data_dir"]) / f"{self.service}.sqlite"
            conn = sqlite3.connect(path, isolation_level=None)
            try:
                yield lambda q, *a: conn.execute(q.replace("%s", "?"), a).fetchall()
            finally:
                conn.close()
        else:
            with psycopg.connect(self.store["postgres_dsn"], autocommit=True) as pg:

                def run(q: str, *a: Any) -> list[Any]:
                    cur = pg.execute(q, a)
                    return cur.fetchall() if cur.description else []

                yield run

    def positions(self) -> list[int]:
        with self.sql() as run:
            return [int(r[0]) for r in run(f"SELECT {self.pos} FROM {self.events} ORDER BY 1")]

    def modify(self, position: int) -> None:
        with self.sql() as run:
            run(f"UPDATE {self.events} SET topic = topic || 'x' WHERE {self.pos} = %s", position)

    def delete(self, position: int) -> None:
        with self.sql() as run:
            run(f"DELETE FROM {self.events} WHERE {self.pos} = %s", position)

    def swap(self, a: int, b: int) -> None:
        with self.sql() as run:
            run(f"UPDATE {self.events} SET {self.pos} = -1 WHERE {self.pos} = %s", a)
            run(f"UPDATE {self.events} SET {self.pos} = %s WHERE {self.pos} = %s", a, b)
            run(f"UPDATE {self.events} SET {self.pos} = %s WHERE {self.pos} = -1", b)

    def insert_before(self, position: int) -> None:
        """Slip a forged record in at ``position``, pushing the later ones up by one."""
        with self.sql() as run:
            for p in sorted((p for p in self.positions() if p >= position), reverse=True):
                run(f"UPDATE {self.events} SET {self.pos} = %s WHERE {self.pos} = %s", p + 1, p)
            (row,) = run(
                f"SELECT originator_id, topic, state FROM {self.events} WHERE {self.pos} = %s",
                position + 1,
            )
            cols = f"{self.pos}, originator_id, originator_version, topic, state"
            run(
                f"INSERT INTO {self.events} ({cols}) VALUES (%s, %s, %s, %s, %s)",
                position,
                row[0],
                99_999,
                row[1],
                row[2],
            )

    def cut_tail(self, count: int) -> list[int]:
        """Delete the newest records and their chain rows (covering one's tracks)."""
        tail = self.positions()[-count:]
        with self.sql() as run:
            for p in tail:
                run(f"DELETE FROM {self.events} WHERE {self.pos} = %s", p)
                run(f"DELETE FROM {self.chain} WHERE position = %s", p)
        return tail


async def anchored_at_head(
    store: dict[str, str], subjects: Subjects, nats_url: str, service: str
) -> bool:
    head = max(Raw(store, service).positions(), default=0)
    nc = await nats.connect(nats_url)
    try:
        msg = await nc.jetstream().get_last_msg(
            subjects.integrity_stream, subjects.checkpoint(service)
        )
    except Exception:  # noqa: BLE001 - not anchored yet
        return False
    finally:
        await nc.close()
    return head > 0 and decode(msg.data or b"", IntegrityCheckpointV1).position >= head


async def verify(data_dir: str) -> tuple[int, dict[str, Any]]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = await asyncio.to_thread(main, ["--data-dir", data_dir, "audit", "verify", "--json"])
    return code, json.loads(out.getvalue())


def breaks(report: dict[str, Any]) -> set[tuple[str, int, str]]:
    return {(b["store"], b["position"], b["kind"]) for s in report["stores"] for b in s["breaks"]}


async def test_untouched_history_verifies(history: dict[str, str]) -> None:
    code, report = await verify(history["data_dir"])

    assert code == 0, report
    assert report["intact"] is True
    assert {s["store"] for s in report["stores"]} == set(SERVICES)
    assert all(s["anchored_to"] == s["chained_to"] > 0 for s in report["stores"])


async def test_every_kind_of_tampering_is_named_by_store_position_and_kind(
    history: dict[str, str],
) -> None:
    intake, dispatch, records = (Raw(history, s) for s in SERVICES)
    i, d, r = intake.positions(), dispatch.positions(), records.positions()
    assert min(len(i), len(d), len(r)) >= 6, (i, d, r)

    intake.modify(i[1])
    cut = intake.cut_tail(2)
    dispatch.delete(d[1])
    dispatch.insert_before(d[4])
    records.swap(r[2], r[3])

    code, report = await verify(history["data_dir"])

    assert code == 1
    assert report["intact"] is False
    found = breaks(report)
    assert ("intake", i[1], "modified") in found
    assert ("intake", cut[-1], "truncated") in found  # only the signed anchor knew it
    assert ("dispatch", d[1], "deleted") in found
    assert ("dispatch", d[4], "inserted") in found
    assert ("records", r[2], "reordered") in found
    assert ("records", r[3], "reordered") in found
    assert not any(store == "records" and kind != "reordered" for store, _, kind in found)


async def test_crypto_shredding_a_student_leaves_the_history_verifiable(
    subjects: Subjects,
    nats_url: str,
    store: dict[str, str],
    clean_streams: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    harness = Harness(subjects, nats_url, store)
    for service in SERVICES:
        await harness.start(service)
    try:
        await harness.seed()
        status, _ = await harness.report(
            student_ref="stu-shred",
            note="synthetic note to shred",
            student_details={"name": "Synthetic Shredme", "grade": "8"},
        )
        assert status == 201
        compliance = harness.token("comp-1", "compliance")
        status, shredded = await harness.call(
            "POST",
            "intake",
            "/students/stu-shred/shred",
            {"reason": "retention period ended"},
            token=compliance,
        )
        assert (status, shredded["key_deleted"]) == (200, True)
        _, student = await harness.call("GET", "intake", "/students/stu-shred", token=compliance)
        assert student["details"]["name"] == student["notes"][0]["text"] == "[shredded]"
        for service in SERVICES:
            await eventually(lambda s=service: anchored_at_head(store, subjects, nats_url, s), 15)  # type: ignore[misc]
    finally:
        await harness.stop_all()
    point_verify_at(store, subjects, nats_url, monkeypatch)

    code, report = await verify(store["data_dir"])

    assert code == 0, report
    assert report["intact"] is True


async def test_a_graceful_stop_anchors_the_last_writes(
    subjects: Subjects,
    nats_url: str,
    store: dict[str, str],
    clean_streams: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Given intake anchored once, when it stores more and stops within the anchoring interval,
    then its stop anchors the newest records: nothing chained is left without a signed anchor."""
    harness = Harness(subjects, nats_url, store)
    await harness.start("intake")
    try:
        await harness.call("POST", "intake", "/schools", {"school_id": "s0", "name": "S0"})
        await eventually(lambda: anchored_at_head(store, subjects, nats_url, "intake"), 15)
        for student in ("stu-late-1", "stu-late-2"):  # well inside the 1 s anchoring interval
            status, _ = await harness.report(student_ref=student)
            assert status == 201
    finally:
        await harness.stop_all()
    point_verify_at(store, subjects, nats_url, monkeypatch)

    assert await anchored_at_head(store, subjects, nats_url, "intake")  # no wait: already there
