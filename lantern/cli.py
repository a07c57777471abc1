"""The ``lantern`` command line.  See ``lantern --help``.

Errors: every command exits non-zero; with ``--json`` the error goes to stderr
as ``{"error": ..., "field": ...}`` (``field`` for bad input), the same shape
the HTTP and NATS interfaces use.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from events.codec import ContractError, convert
from events.intake import ReportIncidentV1
from lantern import runfile
from lantern.client import ServiceError, Unreachable, request

EXIT_INPUT = 2
EXIT_FAILURE = 1
EXIT_UNREACHABLE = 3


class CliError(Exception):
    def __init__(self, error: str, field: str | None = None, code: int = EXIT_FAILURE) -> None:
        super().__init__(error)
        self.error = error
        self.field = field
        self.code = code


class Parser(argparse.ArgumentParser):
    """argparse that reports usage errors in the same JSON shape when --json is given."""

    def error(self, message: str) -> NoReturn:
        if "--json" in sys.argv:
            print(json.dumps({"error": message}), file=sys.stderr)
            raise SystemExit(EXIT_INPUT)
        super().error(message)


def emit(args: argparse.Namespace, data: Any, human: Callable[[Any], str] | None = None) -> None:
    if getattr(args, "json", False) or human is None:
        print(json.dumps(data, indent=2, default=str))
    else:
        print(human(data))


def services(args: argparse.Namespace) -> dict[str, Any]:
    try:
        return runfile.read(Path(args.data_dir))
    except LookupError as exc:
        raise CliError(str(exc), code=EXIT_UNREACHABLE) from None


# -- commands ------------------------------------------------------------------------------
def cmd_info(args: argparse.Namespace) -> None:
    info = services(args)
    emit(args, info, lambda i: "\n".join(f"{k}: {v}" for k, v in i.items()))


def cmd_schools(args: argparse.Namespace) -> None:
    schools = request("GET", f"{services(args)['services']['intake']}/schools")
    emit(args, schools, lambda rows: "\n".join(f"{r['id']:<12} {r['name']}" for r in rows))


def report_command(args: argparse.Namespace) -> ReportIncidentV1:
    data = {
        "school_id": args.school,
        "student_ref": args.student,
        "categories": args.category,
        "risk": args.risk,
        "reporter_id": args.reporter,
        "note": args.note or "",
        "idempotency_key": args.idempotency_key or "",
    }
    try:
        return convert(data, ReportIncidentV1)
    except ContractError as exc:
        raise CliError(exc.reason, exc.field, EXIT_INPUT) from None


def cmd_report(args: argparse.Namespace) -> None:
    command = report_command(args)
    url = services(args)["services"]["intake"]
    body = _struct_dict(command)
    accepted = request("POST", f"{url}/incidents", body, {"X-Lantern-Actor": args.reporter})
    emit(
        args,
        accepted,
        lambda a: (
            f"incident {a['incident_id']} recorded"
            + (" (already recorded: same idempotency key)" if a.get("duplicate") else "")
        ),
    )


def _struct_dict(struct: Any) -> dict[str, Any]:
    import msgspec

    result: dict[str, Any] = msgspec.to_builtins(struct)
    return result


def cmd_status(args: argparse.Namespace) -> None:
    urls = services(args)["services"]
    incident = request("GET", f"{urls['intake']}/incidents/{args.incident_id}")
    try:
        response = request("GET", f"{urls['dispatch']}/incidents/{args.incident_id}/response")
    except ServiceError as exc:
        if exc.status != 404:
            raise
        response = None
    incident["dispatch"] = _dispatch_summary(response)
    emit(args, incident, _human_status)


def _dispatch_summary(response: dict[str, Any] | None) -> dict[str, Any] | None:
    if response is None:
        return None
    current = response.get("current")
    if current is None:
        return {
            "state": "unassigned",
            "responder_id": None,
            "reason": "no eligible responder" if response.get("unassigned") else None,
        }
    return {
        "dispatch_id": current["dispatch_id"],
        "state": current["state"],
        "responder_id": current["responder_id"],
        "assigned_at": current.get("assigned_at"),
        "rule": current.get("rule"),
        "reason": current.get("reason"),
        "candidates": current.get("candidates", []),
    }


def _human_status(s: dict[str, Any]) -> str:
    d = s.get("dispatch")
    who = "not yet dispatched" if d is None else f"{d['state']} -> {d['responder_id']}"
    return f"incident {s['incident_id']}  {s['risk']}  {','.join(s['categories'])}  {who}"


def cmd_dispatches(args: argparse.Namespace) -> None:
    url = services(args)["services"]["dispatch"]
    query = "&".join(
        f"{k}={v}" for k, v in (("responder_id", args.responder), ("state", args.state)) if v
    )
    rows = request("GET", f"{url}/dispatches" + (f"?{query}" if query else ""))
    emit(
        args,
        rows,
        lambda rs: "\n".join(
            f"{r['dispatch_id']}  {r['state']:<12} {r['responder_id']:<12} {r['incident_id']}"
            for r in rs
        ),
    )


def cmd_roster(args: argparse.Namespace) -> None:
    rows = request("GET", f"{services(args)['services']['dispatch']}/roster/responders")
    emit(
        args,
        rows,
        lambda rs: "\n".join(
            f"{r['responder_id']:<12} {r['role']:<22} {','.join(r['schools'])}" for r in rs
        ),
    )


def cmd_schema(args: argparse.Namespace) -> None:
    from events import schema

    if args.out:
        for path in schema.write(Path(args.out)):
            print(path)
    else:
        print(json.dumps(schema.schemas(), indent=2, sort_keys=True))


def cmd_up(args: argparse.Namespace) -> None:
    from lantern.supervisor import Supervisor

    supervisor = Supervisor(
        data_dir=Path(args.data_dir),
        nats_url=args.nats_url,
        demo=args.demo,
        config=Path(args.config) if args.config else None,
    )
    raise SystemExit(supervisor.run())


def cmd_serve(args: argparse.Namespace) -> None:
    from plumbing import logs
    from plumbing.settings import Settings

    settings = Settings.from_env(
        args.service,
        data_dir=Path(args.data_dir),
        nats_url=args.nats_url,
        http_port=args.http_port,
    )
    logs.configure(args.service)
    if args.service == "intake":
        from services.intake.main import build
    elif args.service == "dispatch":
        from services.dispatch.main import build
    else:
        raise CliError(f"unknown service {args.service!r}", "service", EXIT_INPUT)
    asyncio.run(build(settings).run())


# -- parser ----------------------------------------------------------------------------------
def parser() -> Parser:
    p = Parser(prog="lantern", description="Lantern crisis coordination")
    p.add_argument(
        "--data-dir",
        default=str(runfile.default_data_dir()),
        help="where the running system is recorded (default ./.lantern)",
    )
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)

    def add(
        name: str, fn: Callable[[argparse.Namespace], None], help_: str, json_flag: bool = True
    ) -> Parser:
        sp: Parser = sub.add_parser(name, help=help_)
        sp.set_defaults(fn=fn)
        if json_flag:
            sp.add_argument("--json", action="store_true", help="machine-readable output")
        sp.add_argument("--data-dir", default=argparse.SUPPRESS)
        return sp

    up = add("up", cmd_up, "run the whole system in the foreground", json_flag=False)
    up.add_argument("--demo", action="store_true", help="seed the synthetic demo district")
    up.add_argument("--nats-url", default=None, help="use this NATS instead of an embedded one")
    up.add_argument("--config", default=None, help="TOML policy file")

    serve = add("serve", cmd_serve, "run one service (used by `up`)", json_flag=False)
    serve.add_argument("service", choices=["intake", "dispatch"])
    serve.add_argument("--nats-url", default=None)
    serve.add_argument(
        "--http-port", type=int, default=int(os.environ.get("LANTERN_HTTP_PORT", "0"))
    )
    serve.add_argument("--config", default=None)

    add("info", cmd_info, "where the running system is")
    add("schools", cmd_schools, "list the district's schools")
    add("roster", cmd_roster, "list the responders on the roster")

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

    status = add("status", cmd_status, "an incident and its dispatch")
    status.add_argument("incident_id")

    dispatches = add("dispatches", cmd_dispatches, "list dispatches")
    dispatches.add_argument("--responder", default=None)
    dispatches.add_argument("--state", default=None)

    schema = add("schema", cmd_schema, "JSON Schemas of the wire contract", json_flag=False)
    schema.add_argument("--out", default=None, help="write one file per message into DIR")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.fn(args)
    except CliError as exc:
        return fail(args, exc.error, exc.field, exc.code)
    except ServiceError as exc:
        code = EXIT_INPUT if exc.status in (400, 422) else EXIT_FAILURE
        return fail(args, exc.error, exc.field, code)
    except Unreachable as exc:
        return fail(args, f"service unreachable: {exc}", None, EXIT_UNREACHABLE)
    except KeyboardInterrupt:
        return 130
    return 0


def fail(args: argparse.Namespace, error: str, field: str | None, code: int) -> int:
    if getattr(args, "json", False):
        payload: dict[str, Any] = {"error": error}
        if field:
            payload["field"] = field
        print(json.dumps(payload), file=sys.stderr)
    else:
        where = f" ({field})" if field else ""
        print(f"lantern: error{where}: {error}", file=sys.stderr)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
