"""``lantern`` sub-commands that talk to intake.

Every command validates its input against the same contract type the HTTP and
NATS interfaces use, so a bad value is named the same way (``field``) and
nothing is sent.

The screener is given as one flag, ``--screener 1=yes,2=no,6=yes,6recent=no``:
items 1..6 of the C-SSRS screener, and ``6recent`` for "item 6 within the past
3 months".  Leave out items 3-5 when item 2 is "no" (the screener skips them).
"""

from __future__ import annotations

import argparse
from typing import Any

from events.intake import (
    AddNoteV1,
    CancelIncidentV1,
    CloseIncidentV1,
    CorrectIncidentV1,
    ReclassifyRiskV1,
    ReportIncidentV1,
)
from lantern.cli_support import EXIT_INPUT, AddCommand, CliError, call, emit, validated
from lantern.render import table

SCREENER_KEYS = {str(i): f"q{i}" for i in range(1, 7)} | {"6recent": "q6_past_3_months"}
ANSWERS = {"yes": True, "y": True, "true": True, "no": False, "n": False, "false": False}


def cmd_schools(args: argparse.Namespace) -> None:
    schools = call(args, "intake", "GET", "/schools")
    emit(
        args,
        schools,
        lambda rows: table("schools", ("id", "name"), [(r["id"], r["name"]) for r in rows]),
    )


def screener(text: str | None) -> dict[str, bool] | None:
    """``1=yes,2=no,...`` -> the contract's screener object (refusals name the item)."""
    if not text:
        return None
    answers: dict[str, bool] = {}
    for part in text.split(","):
        key, _, value = part.strip().partition("=")
        if key.strip() not in SCREENER_KEYS:
            raise CliError(f"unknown screener item {key!r} (1..6, 6recent)", "screener", EXIT_INPUT)
        item = SCREENER_KEYS[key.strip()]
        if value.strip().lower() not in ANSWERS:
            raise CliError(f"answer {value!r} is not yes or no", f"screener.{item}", EXIT_INPUT)
        answers[item] = ANSWERS[value.strip().lower()]
    return answers


def student_details(args: argparse.Namespace) -> dict[str, Any] | None:
    given = {
        "name": args.student_name,
        "date_of_birth": args.student_dob,
        "grade": args.student_grade,
    }
    given = {k: v for k, v in given.items() if v}
    return given or None


def cmd_report(args: argparse.Namespace) -> None:
    data: dict[str, Any] = {
        "school_id": args.school,
        "student_ref": args.student,
        "categories": args.category,
        "risk": args.risk,
        "reporter_id": args.reporter,
        "note": args.note or "",
        "idempotency_key": args.idempotency_key or "",
        "reporter_role": args.reporter_role,
        "location": args.location,
        "warning_signs": args.warning_sign or [],
        "immediate_danger": args.immediate_danger,
        "language": args.language,
        "screener": screener(args.screener),
        "risk_override_reason": args.override_reason,
        "student_details": student_details(args),
        "linked_incident_id": args.linked_incident,
    }
    command = validated({k: v for k, v in data.items() if v is not None}, ReportIncidentV1)
    accepted = call(args, "intake", "POST", "/incidents", command, actor=args.reporter)
    emit(args, accepted, _human_accepted)


def _human_accepted(a: dict[str, Any]) -> str:
    lines = [a["emergency_instruction"]] if a.get("emergency_instruction") else []
    if a.get("linked"):
        lines.append(f"added to open incident {a['incident_id']} (not dispatched again)")
    else:
        lines.append(f"incident {a['incident_id']} recorded")
    if a.get("duplicate"):
        lines[-1] += " (already recorded: same idempotency key)"
    if a.get("risk"):
        suggested = f" (screener suggests {a['suggested_risk']})" if a.get("suggested_risk") else ""
        lines.append(f"risk: {a['risk']}{suggested}")
    return "\n".join(lines)


def change(args: argparse.Namespace, path: str, kind: type[Any], **fields: Any) -> None:
    """One later change to an incident: validate, POST, print the incident as it now stands."""
    data = {"incident_id": args.incident_id, "by": args.by, **fields}
    command = validated({k: v for k, v in data.items() if v is not None}, kind)
    result = call(args, "intake", "POST", f"/incidents/{args.incident_id}/{path}", command, args.by)
    emit(args, result, lambda r: f"incident {r['incident_id']}: {r['state']}, risk {r['risk']}")


def cmd_note(args: argparse.Namespace) -> None:
    change(args, "notes", AddNoteV1, text=args.text, warning_signs=args.warning_sign)


def cmd_reclassify(args: argparse.Namespace) -> None:
    change(args, "reclassify", ReclassifyRiskV1, risk=args.risk, reason=args.reason)


def cmd_correct(args: argparse.Namespace) -> None:
    change(
        args,
        "corrections",
        CorrectIncidentV1,
        field=args.field,
        value=args.value,
        reason=args.reason,
        effective_at=args.effective_at,
    )


def cmd_cancel(args: argparse.Namespace) -> None:
    change(args, "cancel", CancelIncidentV1, reason=args.reason)


def cmd_close(args: argparse.Namespace) -> None:
    change(args, "close", CloseIncidentV1)


def register(add: AddCommand) -> None:
    add("schools", cmd_schools, "list the district's schools")

    report = add("report", cmd_report, "report a student in distress")
    report.add_argument("--school", required=True)
    report.add_argument("--student", required=True, help="pseudonymous student reference")
    report.add_argument(
        "--category", required=True, action="append", help="concern category (repeat for several)"
    )
    report.add_argument(
        "--risk", default=None, help="low|moderate|high|imminent (required without --screener)"
    )
    report.add_argument("--reporter", required=True, help="staff id of the reporter")
    report.add_argument("--reporter-role", default=None, help="teacher, coach, front_office...")
    report.add_argument("--note", default="")
    report.add_argument("--location", default=None, help="where in the school")
    report.add_argument(
        "--warning-sign", action="append", help="an observed warning sign (repeat for several)"
    )
    report.add_argument(
        "--immediate-danger",
        default=None,
        metavar="KIND",
        help="weapon|medical_emergency|attempt_in_progress: call 911 first; risk becomes imminent",
    )
    report.add_argument("--language", default=None, help="a responder language, e.g. es")
    report.add_argument(
        "--screener", default=None, help="C-SSRS answers, e.g. 1=yes,2=yes,3=no,4=no,5=no,6=no"
    )
    report.add_argument(
        "--override-reason", default=None, help="why --risk differs from the screener's suggestion"
    )
    report.add_argument("--student-name", default=None, help="sensitive; kept only at intake")
    report.add_argument("--student-dob", default=None, help="YYYY-MM-DD; sensitive")
    report.add_argument("--student-grade", default=None, help="sensitive")
    report.add_argument(
        "--linked-incident", default=None, help="an earlier incident this one follows"
    )
    report.add_argument(
        "--idempotency-key", default="", help="retrying with the same key returns the same incident"
    )

    def later(name: str, fn: Any, help_: str) -> argparse.ArgumentParser:
        parser = add(name, fn, help_)
        parser.add_argument("incident_id")
        parser.add_argument("--as", dest="by", required=True, help="staff id of who does it")
        return parser

    note = later("note", cmd_note, "add a note or observed warning signs to an incident")
    note.add_argument("--text", default="")
    note.add_argument("--warning-sign", action="append", default=[])

    reclassify = later("reclassify", cmd_reclassify, "change an incident's risk, with a reason")
    reclassify.add_argument("--risk", required=True, help="low|moderate|high|imminent")
    reclassify.add_argument("--reason", required=True)

    correct = later("correct", cmd_correct, "correct an earlier fact (a new event, never an edit)")
    correct.add_argument("--field", required=True, help="location, categories, student_details.*")
    correct.add_argument("--value", required=True)
    correct.add_argument("--reason", required=True)
    correct.add_argument(
        "--effective-at", default=None, help="ISO 8601 with offset: since when it was true"
    )

    cancel = later("cancel", cmd_cancel, "cancel an incident (a false alarm), with a reason")
    cancel.add_argument("--reason", required=True)

    later("close", cmd_close, "close an incident")
