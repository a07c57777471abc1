"""Operators' commands: ``lantern dlq list|show|redrive|dismiss`` and ``lantern relay new-epoch``.

They go through each service's administrator operations (HTTP, like every CLI
command), so a redrive is decided by the consuming service itself and applied
exactly once, and every one of them is audited.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from lantern.cli_support import EXIT_INPUT, AddCommand, CliError, call, emit

CONSUMING = ("intake", "dispatch", "followup", "records")
PUBLISHING = ("intake", "dispatch", "followup")


def _services(args: argparse.Namespace) -> tuple[str, ...]:
    return (args.service,) if args.service else CONSUMING


def cmd_dlq_list(args: argparse.Namespace) -> None:
    rows: list[dict[str, Any]] = []
    for service in _services(args):
        query = f"/dlq?limit={args.limit}" + ("&unsettled=true" if args.unsettled else "")
        rows += [{"service": service, **r} for r in call(args, service, "GET", query)]
    emit(args, rows, _human_list)


def _human_list(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no dead letters"
    lines = []
    for r in rows:
        settled = r["settled"] or "UNSETTLED"
        lines.append(
            f"{r['service']:<9} seq {r['seq']:<5} {settled:<10} {r['failure']:<9} "
            f"{r['consumer']}  {r['reason']}"
        )
    return "\n".join(lines)


def cmd_dlq_show(args: argparse.Namespace) -> None:
    emit(args, call(args, args.service, "GET", f"/dlq/{args.seq}"), None)


def cmd_dlq_redrive(args: argparse.Namespace) -> None:
    body: dict[str, Any] = {"reason": args.reason}
    if args.payload:
        try:
            body["payload"] = json.loads(Path(args.payload).read_text())
        except (OSError, ValueError) as exc:
            raise CliError(f"cannot read the payload: {exc}", "payload", EXIT_INPUT) from None
    result = call(args, args.service, "POST", f"/dlq/{args.seq}/redrive", body)
    emit(args, result, lambda r: f"redriven: {r['stream']} seq {r['seq']} ({r['changed']} changed)")


def cmd_dlq_dismiss(args: argparse.Namespace) -> None:
    result = call(args, args.service, "POST", f"/dlq/{args.seq}/dismiss", {"reason": args.reason})
    emit(args, result, lambda r: f"dismissed: {r['stream']} seq {r['seq']}")


def cmd_new_epoch(args: argparse.Namespace) -> None:
    result = call(args, args.service, "POST", "/relay/epoch", {"reason": args.reason})
    emit(
        args,
        result,
        lambda r: (
            f"{args.service} now publishes as epoch {r['epoch']} "
            f"(follows {r['follows'] or 'nothing'}, from position {r['starts_after']})"
        ),
    )


def register(add: AddCommand) -> None:
    dlq = add("dlq", lambda _: None, "dead letters: parked messages and what to do with them")
    sub = dlq.add_subparsers(dest="dlq_command", required=True)

    def action(name: str, fn: Any, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_)
        p.set_defaults(fn=fn)
        p.add_argument("--json", action="store_true", help="machine-readable output")
        return p

    listing = action("list", cmd_dlq_list, "parked messages of every consuming service")
    listing.add_argument("--service", choices=CONSUMING, default=None, help="only this service")
    listing.add_argument("--limit", type=int, default=100, help="at most this many per service")
    listing.add_argument("--unsettled", action="store_true", help="only those not yet settled")
    show = action("show", cmd_dlq_show, "one parked message: why, headers, payload")
    show.add_argument("service", choices=CONSUMING, help="the service that parked it")
    show.add_argument("seq", type=int, help="its sequence in the service's dead-letter stream")
    redrive = action("redrive", cmd_dlq_redrive, "apply a parked message now, exactly once")
    redrive.add_argument("service", choices=CONSUMING, help="the service that parked it")
    redrive.add_argument("seq", type=int, help="its sequence in the service's dead-letter stream")
    redrive.add_argument("--payload", default=None, help="a JSON file with the fixed message")
    redrive.add_argument("--reason", default="redriven by an operator", help="why (audited)")
    dismiss = action("dismiss", cmd_dlq_dismiss, "settle a parked message without applying it")
    dismiss.add_argument("service", choices=CONSUMING, help="the service that parked it")
    dismiss.add_argument("seq", type=int, help="its sequence in the service's dead-letter stream")
    dismiss.add_argument("--reason", required=True, help="why it needs nothing (audited)")

    relay = add("relay", lambda _: None, "the outbox relays: epochs after a store regression")
    rsub = relay.add_subparsers(dest="relay_command", required=True)
    epoch = rsub.add_parser("new-epoch", help="publish as a new epoch of a service's store")
    epoch.set_defaults(fn=cmd_new_epoch)
    epoch.add_argument("--json", action="store_true", help="machine-readable output")
    epoch.add_argument("service", choices=PUBLISHING, help="whose store was restored or replaced")
    epoch.add_argument("--reason", required=True, help="what happened to the store (audited)")
