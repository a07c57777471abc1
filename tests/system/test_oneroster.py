"""Rostering from a district's OneRoster 1.2 CSV export (the synthetic one in tests/fixtures).

Given the export of a synthetic district with six deliberately bad rows,
when it is imported with `lantern roster oneroster`,
then every valid school and responder is loaded with its mapped role, each bad
row is reported with its file and line, and the command exits 2; importing it
again changes nothing, and a changed e-mail address records exactly one change.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from events.subjects import Subjects
from lantern import runfile
from plumbing.integrity.audit import AuditEntry
from services.dispatch.application import DispatchApplication
from tests.harness import Harness
from tests.lantern_cli import lantern

pytestmark = pytest.mark.system

EXPORT = Path(__file__).resolve().parents[1] / "fixtures" / "oneroster"
BAD_ROWS = [
    ("orgs.csv", 6, "sourcedId"),
    ("roles.csv", 12, "userSourcedId"),
    ("roles.csv", 13, "role"),
    ("roles.csv", 14, "orgSourcedId"),
    ("users.csv", 11, "metadata.lantern.role"),
    ("users.csv", 12, "sourcedId"),
]


@pytest.fixture
async def harness(
    subjects: Subjects, nats_url: str, store: dict[str, str], clean_streams: None
) -> AsyncIterator[Harness]:
    harness = Harness(subjects, nats_url, store)
    for service in ("intake", "dispatch"):
        await harness.start(service)
    runfile.write(
        Path(store["data_dir"]),
        {"services": {s: r.url for s, r in harness.running.items()}, "prefix": subjects.prefix},
    )
    yield harness
    await harness.stop_all()


async def imported(data_dir: str, export: Path) -> tuple[int, dict[str, Any]]:
    result = await asyncio.to_thread(
        lantern, Path(data_dir), "roster", "oneroster", str(export), "--json"
    )
    return result.returncode, json.loads(result.stdout)


def roster_events(harness: Harness) -> int:
    app = harness.running["dispatch"].process.app
    assert isinstance(app, DispatchApplication)
    events = [app.mapper.to_domain_event(n) for n in app.recorder.select_notifications(0, 10_000)]
    return sum(1 for e in events if not isinstance(e, AuditEntry.Recorded))


async def test_a_district_export_loads_every_valid_row_and_reports_each_bad_one(
    harness: Harness, store: dict[str, str]
) -> None:
    code, report = await imported(store["data_dir"], EXPORT)

    assert code == 2
    assert [(e["file"], e["line"], e["field"]) for e in report["errors"]] == BAD_ROWS
    assert report["schools"] == {"loaded": 4, "changed": 4}
    assert report["responders"] == {"loaded": 7, "changed": 7}
    assert sorted((s["file"], s["line"]) for s in report["skipped"]) == [
        ("users.csv", 9),  # a teacher
        ("users.csv", 10),  # a student
        ("users.csv", 13),  # a counselor role at an org that is not in orgs.csv
    ]
    _, schools = await harness.call("GET", "intake", "/schools")
    assert {s["id"] for s in schools} == {"birch-hs", "cedar-ms", "maple-es", "willow-es"}
    _, roster = await harness.call("GET", "dispatch", "/roster/responders")
    by_id = {r["responder_id"]: r for r in roster}
    assert {k: (v["role"], v["schools"], v["available"]) for k, v in by_id.items()} == {
        "stf-ada": ("counselor", ["birch-hs", "cedar-ms"], True),
        "stf-bo": ("counselor", ["cedar-ms"], True),
        "stf-cy": ("supervisor", ["birch-hs"], True),
        "stf-dee": ("district_crisis_lead", [], True),
        "stf-eli": ("school_psychologist", ["maple-es"], True),
        "stf-fay": ("counselor", ["willow-es"], False),  # status tobedeleted
        "stf-gus": ("supervisor", ["willow-es"], False),  # enabledUser false
    }
    assert by_id["stf-cy"]["name"] == "Cy Fern"  # the preferred given name
    assert by_id["stf-eli"]["skills"] == ["suicide_risk_assessment", "threat_assessment"]


async def test_a_re_import_changes_nothing_and_a_changed_row_records_one_change(
    harness: Harness, store: dict[str, str], tmp_path: Path
) -> None:
    await imported(store["data_dir"], EXPORT)
    # Lantern-only facts that a OneRoster export cannot know must survive a re-import
    await harness.call(
        "POST",
        "dispatch",
        "/roster/responders/stf-bo/availability",
        {"responder_id": "stf-bo", "available": False, "reason": "on leave"},
    )
    events = roster_events(harness)

    code, again = await imported(store["data_dir"], EXPORT)

    assert code == 2
    assert (again["schools"]["changed"], again["responders"]["changed"]) == (0, 0)
    assert roster_events(harness) == events
    _, roster = await harness.call("GET", "dispatch", "/roster/responders")
    assert next(r for r in roster if r["responder_id"] == "stf-bo")["available"] is False

    changed = tmp_path / "export"
    shutil.copytree(EXPORT, changed)
    users = changed / "users.csv"
    users.write_text(users.read_text().replace("ada.orchard@", "ada.orchard.new@"))

    code, third = await imported(store["data_dir"], changed)

    assert (third["schools"]["changed"], third["responders"]["changed"]) == (0, 1)
    assert roster_events(harness) == events + 1
    _, roster = await harness.call("GET", "dispatch", "/roster/responders")
    ada = next(r for r in roster if r["responder_id"] == "stf-ada")
    assert ada["email"] == "ada.orchard.new@lakeview.example"


async def test_a_zip_export_reads_the_same(
    harness: Harness, store: dict[str, str], tmp_path: Path
) -> None:
    archive = shutil.make_archive(str(tmp_path / "export"), "zip", EXPORT)
    code, report = await imported(store["data_dir"], Path(archive))
    assert code == 2
    assert report["responders"]["loaded"] == 7
