"""``lantern roster oneroster PATH``: schools and staff from a OneRoster 1.2 CSV export.

Every valid row is loaded and every bad one reported with its file and line
(exit 2 when there were any); a re-import of the same files changes nothing,
and a changed file records only what changed (``SchoolAdded``,
``ResponderEnrolled`` events).  See ``lantern.oneroster`` for the mapping.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import msgspec

from events.vocabulary import ResponderRole
from lantern import oneroster
from lantern.cli_support import EXIT_INPUT, CliError, call, emit
from lantern.render import progress, table

#: the largest import the roster takes in one change (``ImportRosterV1``)
CHUNK = 5000


def cmd_oneroster(args: argparse.Namespace) -> None:
    role_map = _role_map(args.role_map or [])
    try:
        roster, _ = oneroster.read(Path(args.path), role_map)
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(str(exc), "path", EXIT_INPUT) from None
    known_schools = {s["id"]: s["name"] for s in call(args, "intake", "GET", "/schools")}
    current = {r["responder_id"]: r for r in call(args, "dispatch", "GET", "/roster/responders")}
    schools_changed = 0
    responders_changed = 0
    work = len(roster.schools) + len(roster.responders)
    with progress("rows loaded", work) as loaded:
        for school in roster.schools:
            if known_schools.get(school.school_id) != school.name:
                call(args, "intake", "POST", "/schools", school)
                schools_changed += 1
            loaded.advance()
        responders = [oneroster.merged(r, current.get(r.responder_id)) for r in roster.responders]
        for start in range(0, len(responders), CHUNK):
            chunk = responders[start : start + CHUNK]
            body = {"responders": [msgspec.to_builtins(r) for r in chunk]}
            responders_changed += call(args, "dispatch", "POST", "/roster/import", body)["changed"]
            loaded.advance(len(chunk))
    report: dict[str, Any] = {
        "schools": {"loaded": len(roster.schools), "changed": schools_changed},
        "responders": {"loaded": len(roster.responders), "changed": responders_changed},
        "skipped": [p.as_dict() for p in roster.skipped],
        "errors": [p.as_dict() for p in roster.errors],
    }
    emit(args, report, _human)
    if roster.errors:
        raise CliError(
            f"{len(roster.errors)} row(s) not loaded (listed above); every other row was",
            "path",
            EXIT_INPUT,
        )


def _role_map(pairs: list[str]) -> dict[str, ResponderRole]:
    out = {}
    for pair in pairs:
        source, _, target = pair.partition("=")
        try:
            out[source] = ResponderRole(target)
        except ValueError:
            choices = ", ".join(ResponderRole)
            raise CliError(
                f"{pair}: expected ONEROSTER_ROLE=one of {choices}", "role-map", 2
            ) from None
    return out


def _human(report: dict[str, Any]) -> str:
    lines = [
        f"schools     {report['schools']['loaded']} in the export, "
        f"{report['schools']['changed']} new or changed",
        f"responders  {report['responders']['loaded']} in the export, "
        f"{report['responders']['changed']} new or changed",
        f"skipped     {len(report['skipped'])} users whose roles are not responders",
    ]
    if report["errors"]:
        lines.append(
            table(
                "rows not loaded",
                ("file", "line", "field", "error"),
                [(e["file"], e["line"], e["field"] or "-", e["error"]) for e in report["errors"]],
            )
        )
    return "\n".join(lines)


def register(actions: Any) -> None:
    sp = actions.add_parser(
        "oneroster", help="import schools and staff from a OneRoster 1.2 CSV export"
    )
    sp.set_defaults(fn=cmd_oneroster)
    sp.add_argument("--json", action="store_true", help="machine-readable output")
    sp.add_argument("path", help="a directory or a zip holding orgs.csv, users.csv, roles.csv")
    sp.add_argument(
        "--role-map",
        action="append",
        metavar="ONEROSTER_ROLE=LANTERN_ROLE",
        help="map another OneRoster role to a responder role, e.g. aide=counselor (repeatable)",
    )
