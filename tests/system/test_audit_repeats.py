"""A polling reader leaves one audit entry per window, with a count, and the record stays whole.

Given a supervisor whose dashboard reads the same incident twelve times in a
row, and a compliance officer who reads it once, when the window closes, then
intake's store holds three audit entries for those reads (not thirteen), and
the audit history and the record of disclosures in records still account for
every single read: by whom, how many times, from when to when.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from events.subjects import Subjects
from plumbing.integrity.audit import AuditEntry
from services.intake.application import IntakeApplication
from tests.harness import Harness, eventually

pytestmark = pytest.mark.system
WINDOW_S = 2.0


@pytest.fixture
async def harness(
    subjects: Subjects, nats_url: str, store: dict[str, str], clean_streams: None
) -> AsyncIterator[Harness]:
    harness = Harness(subjects, nats_url, store, audit_repeat_window_s=WINDOW_S)
    for service in ("intake", "records"):
        await harness.start(service)
    await harness.call("POST", "intake", "/schools", {"school_id": "s0", "name": "S0"})
    yield harness
    await harness.stop_all()


def reads_in_store(harness: Harness, action: str) -> list[Any]:
    app = harness.running["intake"].process.app
    assert isinstance(app, IntakeApplication)
    events = [app.mapper.to_domain_event(n) for n in app.recorder.select_notifications(0, 10_000)]
    return [e for e in events if isinstance(e, AuditEntry.Recorded) and e.action == action]


async def test_repeated_reads_are_one_entry_with_a_count_and_every_read_is_accounted_for(
    harness: Harness,
) -> None:
    status, accepted = await harness.report(student_ref="stu-poll")
    assert status == 201
    path = f"/incidents/{accepted['incident_id']}"
    dashboard = harness.token("sup-dash", "supervisor", ("s0",))
    officer = harness.token("cmp-1", "compliance")

    for _ in range(12):
        status, _ = await harness.call("GET", "intake", path, token=dashboard)
        assert status == 200
    status, _ = await harness.call("GET", "intake", path, token=officer)
    assert status == 200

    async def closed() -> list[Any] | None:
        entries = reads_in_store(harness, "show_incident")
        return entries if len(entries) == 3 else None

    entries = await eventually(closed, timeout=WINDOW_S + 10)
    by_actor = sorted((e.actor, getattr(e, "count", 1)) for e in entries)
    assert by_actor == [("cmp-1", 1), ("sup-dash", 1), ("sup-dash", 11)]
    summary = next(e for e in entries if isinstance(e, AuditEntry.RepeatedReads))
    assert summary.last_at >= summary.at

    async def history() -> list[dict[str, Any]] | None:
        status, rows = await harness.call(
            "GET", "records", "/audit?action=show_incident", token=officer
        )
        return rows if status == 200 and len(rows) == 3 else None

    rows = await eventually(history, timeout=15)
    reads: dict[str, int] = {}
    for row in rows:
        reads[row["actor"]] = reads.get(row["actor"], 0) + row["count"]
    assert reads == {"sup-dash": 12, "cmp-1": 1}

    status, record = await harness.call(
        "GET", "records", "/students/stu-poll/disclosures", token=officer
    )
    assert status == 200
    official = [e for e in record["official_access"] if e["party"] == "sup-dash"]
    assert sum(e["count"] for e in official) == 12
    assert any(e["last_at"] for e in official)


async def test_reads_of_different_records_or_by_different_people_are_never_merged(
    harness: Harness,
) -> None:
    ids = []
    for student in ("stu-a", "stu-b"):
        _, accepted = await harness.report(student_ref=student)
        ids.append(accepted["incident_id"])
    reader = harness.token("sup-dash", "supervisor", ("s0",))
    for incident_id in ids:
        status, _ = await harness.call("GET", "intake", f"/incidents/{incident_id}", token=reader)
        assert status == 200

    entries = reads_in_store(harness, "show_incident")
    assert sorted(e.incident_id for e in entries) == sorted(ids)
