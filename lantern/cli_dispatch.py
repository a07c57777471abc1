"""``lantern`` sub-commands that talk to dispatch."""

from __future__ import annotations

import argparse
from urllib.parse import urlencode

from lantern.cli_support import AddCommand, call, emit


def cmd_dispatches(args: argparse.Namespace) -> None:
    query = urlencode(
        {k: v for k, v in (("responder_id", args.responder), ("state", args.state)) if v}
    )
    rows = call(args, "dispatch", "GET", "/dispatches" + (f"?{query}" if query else ""))
    emit(
        args,
        rows,
        lambda rs: "\n".join(
            f"{r['dispatch_id']}  {r['state']:<12} {r['responder_id']:<12} {r['incident_id']}"
            for r in rs
        ),
    )


def cmd_roster(args: argparse.Namespace) -> None:
    rows = call(args, "dispatch", "GET", "/roster/responders")
    emit(
        args,
        rows,
        lambda rs: "\n".join(
            f"{r['responder_id']:<12} {r['role']:<22} {','.join(r['schools'])}" for r in rs
        ),
    )


def register(add: AddCommand) -> None:
    add("roster", cmd_roster, "list the responders on the roster")
    dispatches = add("dispatches", cmd_dispatches, "list dispatches")
    dispatches.add_argument("--responder", default=None)
    dispatches.add_argument("--state", default=None)
