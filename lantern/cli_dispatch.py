"""``lantern`` sub-commands that talk to dispatch: dispatches, acknowledgements, the roster."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from events.dispatch import (
    AcknowledgeDispatchV1,
    AddOverrideV1,
    AddResponderV1,
    DeclineDispatchV1,
    ImportRosterV1,
    SetAvailabilityV1,
    SwapShiftV1,
    UpdateDispatchStatusV1,
)
from lantern import cli_oneroster
from lantern.cli_support import (
    EXIT_INPUT,
    AddCommand,
    CliError,
    call,
    emit,
    service_url,
    validated,
)
from lantern.render import deadline, local, progress, table


def cmd_dispatches(args: argparse.Namespace) -> None:
    query = urlencode(
        {k: v for k, v in (("responder_id", args.responder), ("state", args.state)) if v}
    )
    rows = call(args, "dispatch", "GET", "/dispatches" + (f"?{query}" if query else ""))
    emit(args, rows, _human_dispatches)


def _human_dispatches(rows: list[dict[str, Any]]) -> str:
    return table(
        "dispatches",
        ("dispatch", "state", "responder", "incident", "assigned", "ack by"),
        [
            (
                r["dispatch_id"],
                r["state"],
                r["responder_id"],
                r["incident_id"],
                local(r.get("assigned_at")),
                deadline(r.get("ack_deadline"), open_=r["state"] == "assigned"),
            )
            for r in sorted(rows, key=lambda r: str(r.get("assigned_at")))
        ],
        empty="no dispatches",
    )


def _dispatch_reply(args: argparse.Namespace, verb: str, reply: dict[str, Any]) -> None:
    emit(
        args,
        reply,
        lambda r: (
            f"dispatch {r['dispatch_id']} {verb}: now {r['state']}"
            + ("" if r.get("changed", True) else " (no change)")
        ),
    )


def cmd_ack(args: argparse.Namespace) -> None:
    command = validated(
        {"dispatch_id": args.dispatch_id, "responder_id": args.as_}, AcknowledgeDispatchV1
    )
    reply = call(
        args, "dispatch", "POST", f"/dispatches/{command.dispatch_id}/ack", command, actor=args.as_
    )
    _dispatch_reply(args, "acknowledged", reply)


def cmd_decline(args: argparse.Namespace) -> None:
    command = validated(
        {"dispatch_id": args.dispatch_id, "responder_id": args.as_, "reason": args.reason},
        DeclineDispatchV1,
    )
    reply = call(
        args,
        "dispatch",
        "POST",
        f"/dispatches/{command.dispatch_id}/decline",
        command,
        actor=args.as_,
    )
    _dispatch_reply(args, "declined", reply)


def cmd_update(args: argparse.Namespace) -> None:
    command = validated(
        {
            "dispatch_id": args.dispatch_id,
            "responder_id": args.as_,
            "state": args.state,
            "to": args.to or "",
            "note": args.note or "",
        },
        UpdateDispatchStatusV1,
    )
    reply = call(
        args,
        "dispatch",
        "POST",
        f"/dispatches/{command.dispatch_id}/status",
        command,
        actor=args.as_,
    )
    _dispatch_reply(args, "updated", reply)


# -- roster -------------------------------------------------------------------------------------
def cmd_roster_list(args: argparse.Namespace) -> None:
    rows = call(args, "dispatch", "GET", "/roster/responders")
    emit(
        args,
        rows,
        lambda rs: table(
            "roster",
            ("responder", "name", "role", "schools", "available", "on call"),
            [
                (
                    r["responder_id"],
                    r["name"],
                    r["role"],
                    ",".join(r["schools"]) or "district",
                    "yes" if r["available"] else "no",
                    _shifts(r.get("shifts")),
                )
                for r in rs
            ],
            empty="nobody on the roster",
        ),
    )


def _shifts(shifts: list[dict[str, Any]] | None) -> str:
    if shifts is None:
        return "round the clock"
    return "; ".join(f"{','.join(s['days'])} {s['start']}-{s['end']}" for s in shifts) or "never"


def parse_shift(text: str) -> dict[str, Any]:
    """ "mon-fri 07:00-16:00" or "sat,sun 00:00-24:00" -> a ShiftV1 object."""
    days_part, _, hours = text.strip().partition(" ")
    start, _, end = hours.partition("-")
    order = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    days: list[str] = []
    for piece in days_part.split(","):
        first, _, last = piece.partition("-")
        if last and first in order and last in order:
            days.extend(order[order.index(first) : order.index(last) + 1])
        else:
            days.append(first)
    return {"days": days, "start": start, "end": end}


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.replace(";", ",").split(",") if v.strip()] if value else []


def responder_data(row: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "responder_id": row.get("responder_id", ""),
        "name": row.get("name", ""),
        "role": row.get("role", ""),
        "schools": _split(row.get("schools", "")),
        "skills": _split(row.get("skills", "")),
        "languages": _split(row.get("languages", "")),
        "email": row.get("email", "") or "",
        "timezone": row.get("timezone", "") or "UTC",
    }
    if row.get("available", "").strip():
        data["available"] = row["available"].strip().lower() in ("1", "true", "yes", "y")
    if row.get("shifts", "").strip():
        data["shifts"] = [parse_shift(s) for s in row["shifts"].split(";") if s.strip()]
    return data


def cmd_roster_add(args: argparse.Namespace) -> None:
    row = {
        "responder_id": args.id,
        "name": args.name,
        "role": args.role,
        "schools": ",".join(args.school),
        "skills": ",".join(args.skill or []),
        "languages": ",".join(args.language or []),
        "email": args.email or "",
        "timezone": args.timezone or "UTC",
        "shifts": ";".join(args.shift or []),
    }
    command = validated(responder_data(row), AddResponderV1)
    emit(
        args,
        call(args, "dispatch", "POST", "/roster/responders", command),
        lambda r: f"responder {r['responder_id']} is on the roster",
    )


def cmd_roster_import(args: argparse.Namespace) -> None:
    """CSV columns: responder_id,name,role,schools,skills,languages,shifts,available,email,timezone.

    Lists inside a cell are separated by ``;`` (shifts: ``mon-fri 07:00-16:00;sat 08:00-12:00``).
    The import is one change: a bad row refuses the whole file, naming the row and field.
    """
    try:
        with Path(args.file).open(newline="") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise CliError(f"cannot read {args.file}: {exc.strerror}", "file", EXIT_INPUT) from None
    if not rows:
        raise CliError("the CSV file has no rows", "file", EXIT_INPUT)
    with progress("rows read", len(rows)) as read:
        responders = []
        for row in rows:
            responders.append(responder_data(row))
            read.advance()
    command = validated({"responders": responders}, ImportRosterV1)
    emit(
        args,
        call(args, "dispatch", "POST", "/roster/import", command),
        lambda r: f"imported {r['responders']} responders ({r['changed']} new or changed)",
    )


def cmd_roster_availability(args: argparse.Namespace) -> None:
    command = validated(
        {"responder_id": args.id, "available": args.available == "yes", "reason": args.reason},
        SetAvailabilityV1,
    )
    emit(
        args,
        call(
            args,
            "dispatch",
            "POST",
            f"/roster/responders/{command.responder_id}/availability",
            command,
        ),
        lambda r: f"{r['responder_id']} available: {r['available']}",
    )


def cmd_roster_override(args: argparse.Namespace) -> None:
    command = validated(
        {
            "responder_id": args.id,
            "start": args.start,
            "end": args.end,
            "on_call": args.on_call == "on",
            "reason": args.reason,
        },
        AddOverrideV1,
    )
    emit(
        args,
        call(
            args,
            "dispatch",
            "POST",
            f"/roster/responders/{command.responder_id}/overrides",
            command,
        ),
        lambda r: f"override recorded for {r['responder_id']}",
    )


def cmd_roster_swap(args: argparse.Namespace) -> None:
    command = validated(
        {
            "from_responder_id": args.from_id,
            "to_responder_id": args.to_id,
            "start": args.start,
            "end": args.end,
            "reason": args.reason,
        },
        SwapShiftV1,
    )
    emit(
        args,
        call(args, "dispatch", "POST", "/roster/swaps", command),
        lambda r: f"{r['to_responder_id']} covers {r['from_responder_id']}",
    )


def cmd_calendar(args: argparse.Namespace) -> None:
    """Issue (or replace) or revoke a responder's secret calendar URL."""
    path = f"/calendar/feeds/{args.as_}" + ("/revoke" if args.action == "revoke" else "")
    reply = call(args, "dispatch", "POST", path, {"responder_id": args.as_}, actor=args.as_)
    if reply.get("path"):
        reply["url"] = service_url(args, "dispatch") + reply["path"]
    emit(
        args,
        reply,
        lambda r: (
            f"subscribe to {r['url']}\n(anyone with this URL can read your shifts and check-in "
            "times; `lantern calendar revoke` ends it)"
            if r["active"]
            else f"calendar feed of {r['responder_id']} revoked"
        ),
    )


def register(add: AddCommand) -> None:
    dispatches = add("dispatches", cmd_dispatches, "list dispatches")
    dispatches.add_argument("--responder", default=None)
    dispatches.add_argument("--state", default=None)

    ack = add("ack", cmd_ack, "acknowledge a dispatch (I have it)")
    ack.add_argument("dispatch_id")
    ack.add_argument("--as", dest="as_", required=True, metavar="RESPONDER_ID")

    decline = add("decline", cmd_decline, "decline a dispatch, with a reason")
    decline.add_argument("dispatch_id")
    decline.add_argument("--as", dest="as_", required=True, metavar="RESPONDER_ID")
    decline.add_argument("--reason", required=True)

    update = add("update", cmd_update, "report a field status for an acknowledged dispatch")
    update.add_argument("dispatch_id")
    update.add_argument("--as", dest="as_", required=True, metavar="RESPONDER_ID")
    update.add_argument(
        "--state", required=True, help="en_route|with_student|stabilized|handed_off|resolved"
    )
    update.add_argument("--to", default="", help="for handed_off: to whom (EMS, guardian...)")
    update.add_argument("--note", default="")

    calendar = add("calendar", cmd_calendar, "your on-call shifts and check-ins as a calendar")
    calendar.add_argument(
        "action",
        choices=["issue", "revoke"],
        help="issue: a new secret iCalendar URL (replacing any earlier one); revoke: end it",
    )
    calendar.add_argument("--as", dest="as_", required=True, metavar="RESPONDER_ID")

    roster = add("roster", cmd_roster_list, "the roster: list (default), add, import, ...")
    actions = roster.add_subparsers(dest="roster_action")

    def action(name: str, fn: Any, help_: str) -> argparse.ArgumentParser:
        sp = actions.add_parser(name, help=help_)
        sp.set_defaults(fn=fn)
        sp.add_argument("--json", action="store_true", help="machine-readable output")
        return sp

    action("list", cmd_roster_list, "list the responders")
    added = action("add", cmd_roster_add, "add or update a responder")
    added.add_argument("--id", required=True)
    added.add_argument("--name", required=True)
    added.add_argument("--role", required=True)
    added.add_argument("--school", action="append", required=True)
    added.add_argument("--skill", action="append")
    added.add_argument("--language", action="append")
    added.add_argument(
        "--shift", action="append", help='weekly on-call, e.g. "mon-fri 07:00-16:00"'
    )
    added.add_argument("--email", default="")
    added.add_argument("--timezone", default="UTC")
    imported = action("import", cmd_roster_import, "import responders from a CSV file")
    imported.add_argument("file")
    cli_oneroster.register(actions)
    avail = action("availability", cmd_roster_availability, "mark a responder (un)available")
    avail.add_argument("--id", required=True)
    avail.add_argument("--available", choices=["yes", "no"], required=True)
    avail.add_argument("--reason", required=True)
    over = action("override", cmd_roster_override, "on/off call for an interval")
    over.add_argument("--id", required=True)
    over.add_argument("--start", required=True)
    over.add_argument("--end", required=True)
    over.add_argument("--on-call", choices=["on", "off"], required=True)
    over.add_argument("--reason", required=True)
    swap = action("swap", cmd_roster_swap, "one responder covers another's on-call time")
    swap.add_argument("--from", dest="from_id", required=True)
    swap.add_argument("--to", dest="to_id", required=True)
    swap.add_argument("--start", required=True)
    swap.add_argument("--end", required=True)
    swap.add_argument("--reason", required=True)
