"""``lantern`` sub-commands that talk to intake."""

from __future__ import annotations

import argparse

from events.intake import ReportIncidentV1
from lantern.cli_support import AddCommand, call, emit, validated


def cmd_schools(args: argparse.Namespace) -> None:
    schools = call(args, "intake", "GET", "/schools")
    emit(args, schools, lambda rows: "\n".join(f"{r['id']:<12} {r['name']}" for r in rows))


def cmd_report(args: argparse.Namespace) -> None:
    command = validated(
        {
            "school_id": args.school,
            "student_ref": args.student,
            "categories": args.category,
            "risk": args.risk,
            "reporter_id": args.reporter,
            "note": args.note or "",
            "idempotency_key": args.idempotency_key or "",
        },
        ReportIncidentV1,
    )
    accepted = call(args, "intake", "POST", "/incidents", command, actor=args.reporter)
    emit(
        args,
        accepted,
        lambda a: (
            f"incident {a['incident_id']} recorded"
            + (" (already recorded: same idempotency key)" if a.get("duplicate") else "")
        ),
    )


def register(add: AddCommand) -> None:
    add("schools", cmd_schools, "list the district's schools")

    report = add("report", cmd_report, "report a student in distress")
    report.add_argument("--school", required=True)
    report.add_argument("--student", required=True, help="pseudonymous student reference")
    report.add_argument(
        "--category", required=True, action="append", help="concern category (repeat for several)"
    )
    report.add_argument("--risk", required=True, help="low|moderate|high|imminent")
    report.add_argument("--reporter", required=True, help="staff id of the reporter")
    report.add_argument("--note", default="")
    report.add_argument(
        "--idempotency-key", default="", help="retrying with the same key returns the same incident"
    )
