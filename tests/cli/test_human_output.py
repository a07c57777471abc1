"""What a person reads: headers, local times with how far away, an exhausted chain said plainly,
the whole record of disclosures, and progress on a terminal."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from lantern import render
from lantern.cli import EXHAUSTED, _human_status
from lantern.cli_dispatch import _human_dispatches
from lantern.cli_records import _human_disclosures

NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


def test_times_are_local_with_how_far_away_they_are() -> None:
    assert render.relative(NOW + timedelta(minutes=3), NOW) == "in 3 min"
    assert render.relative(NOW - timedelta(minutes=2), NOW) == "2 min late"
    assert render.relative(NOW - timedelta(minutes=2), NOW, late_word="ago") == "2 min ago"
    assert render.relative(NOW + timedelta(seconds=10), NOW) == "now"
    assert render.relative(NOW + timedelta(hours=5), NOW) == "in 5 h"
    local = (NOW + timedelta(minutes=3)).astimezone().strftime("%H:%M")
    assert render.deadline(NOW + timedelta(minutes=3), NOW) == f"{local} (in 3 min)"
    assert render.deadline(NOW + timedelta(minutes=3), NOW, open_=False) == local


def test_a_piped_table_is_plain_text_with_a_header_line() -> None:
    text = render.table("dispatches", ("dispatch", "state"), [("d-1", "assigned")])
    assert text.splitlines() == ["dispatches", "dispatch  state", "d-1       assigned"]
    assert render.table("dispatches", ("a",), [], empty="no dispatches").endswith("no dispatches")


def test_dispatches_show_the_deadline_of_an_open_dispatch_and_not_of_a_done_one() -> None:
    soon = datetime.now(UTC) + timedelta(minutes=4, seconds=20)
    rows: list[dict[str, Any]] = [
        {
            "dispatch_id": "d-1",
            "state": "assigned",
            "responder_id": "co-a",
            "incident_id": "i-1",
            "assigned_at": render.parse("2026-11-30T15:00:00Z"),
            "ack_deadline": soon.isoformat(),
        },
        {
            "dispatch_id": "d-2",
            "state": "acknowledged",
            "responder_id": "co-b",
            "incident_id": "i-2",
            "assigned_at": "2026-11-30T14:00:00Z",
            "ack_deadline": "2026-11-30T14:05:00Z",
        },
    ]
    text = _human_dispatches(rows)
    assert "dispatch" in text.splitlines()[1]  # the header
    assert "(in 4 min)" in text
    assert "late" not in text  # an acknowledged dispatch is not late for anything


def test_an_exhausted_chain_is_stated_plainly() -> None:
    status = {
        "incident_id": "i-1",
        "risk": "high",
        "categories": ["self_harm"],
        "school_id": "s0",
        "state": "open",
        "reported_at": "2026-11-30T14:50:00Z",
        "dispatch": {
            "phase": "exhausted",
            "state": "escalated",
            "dispatch_id": "d-3",
            "responder_id": "dcl-e",
            "ack_deadline": "2026-11-30T14:58:00Z",
            "rule": "district_crisis_lead",
        },
        "escalations": [
            {
                "at": "2026-11-30T14:55:00Z",
                "reason": "ack_timeout",
                "step": "supervisor",
                "to": "sup-d",
            },
            {
                "at": "2026-11-30T14:58:00Z",
                "reason": "ack_timeout",
                "step": "exhausted",
                "to": None,
            },
        ],
    }
    text = _human_status(status)
    assert EXHAUSTED in text
    assert "nobody" in text  # the last step paged no one
    assert "exhausted" in text.splitlines()[3]


def test_human_disclosures_show_every_part_of_the_record() -> None:
    record = {
        "student_ref": "stu-1",
        "entries": [],
        "official_access": [
            {
                "kind": "access_request",
                "at": "2026-11-30T14:00:00Z",
                "last_at": "2026-11-30T14:09:00Z",
                "count": 12,
                "party": "sup-dash",
                "by": "sup-dash",
                "role": "supervisor",
                "interface": "http",
                "incident_id": "i-1",
                "outcome": "allowed",
            }
        ]
        * 4,
        "consents": [],
    }
    text = _human_disclosures(record)
    assert "no disclosures and no requests for access" in text
    assert text.count("sup-dash") == 4
    assert "12x until" in text
    assert "(none)" not in text


def test_progress_is_drawn_on_a_terminal_only() -> None:
    script = (
        "from lantern.render import progress\n"
        "with progress('rows loaded', 3) as bar:\n"
        "    for _ in range(3): bar.advance()\n"
    )
    leader, follower = pty.openpty()
    done = subprocess.run(
        [sys.executable, "-c", script],
        stderr=follower,
        stdout=subprocess.PIPE,
        timeout=30,
        check=True,
    )
    os.close(follower)
    drawn = os.read(leader, 65536).decode(errors="replace")
    os.close(leader)
    assert "rows loaded" in drawn
    assert "3/3" in drawn
    assert done.stdout == b""
    piped = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, timeout=30, check=True
    )
    assert piped.stderr == piped.stdout == b""
