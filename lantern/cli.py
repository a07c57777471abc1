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
from typing import Any

from lantern import (
    cli_auth,
    cli_bench,
    cli_demo,
    cli_deploy,
    cli_dispatch,
    cli_docs,
    cli_followup,
    cli_intake,
    cli_operations,
    cli_records,
    cli_whatif,
    runfile,
)
from lantern.cli_support import (
    EXIT_FAILURE,
    EXIT_INPUT,
    EXIT_UNREACHABLE,
    CliError,
    Parser,
    call,
    emit,
    system,
)
from lantern.client import ServiceError, Unreachable
from lantern.render import deadline, local, table, when
from lantern.services import SERVICES, builder, validate_config
from plumbing import redaction


# -- commands ------------------------------------------------------------------------------
def cmd_info(args: argparse.Namespace) -> None:
    info = system(args)
    emit(args, info, _human_info)


def _human_info(info: dict[str, Any]) -> str:
    """For people: credentials masked (``--json`` keeps the contract's full ``nats_url``)."""
    return "\n".join(f"{k}: {redaction.redact(str(v))}" for k, v in info.items())


def cmd_status(args: argparse.Namespace) -> None:
    incident = call(args, "intake", "GET", f"/incidents/{args.incident_id}")
    try:
        response = call(args, "dispatch", "GET", f"/incidents/{args.incident_id}/response")
    except ServiceError as exc:
        if exc.status != 404:
            raise
        response = None
    incident["dispatch"] = _dispatch_summary(response)
    incident["escalations"] = (incident["dispatch"] or {}).get("escalations", [])
    emit(args, incident, _human_status)


def _dispatch_summary(response: dict[str, Any] | None) -> dict[str, Any] | None:
    if response is None:
        return None
    current = response.get("current")
    escalations = [
        {"reason": e["reason"], "to": e["to"], "step": e["step"], "at": e["at"]}
        for e in response.get("escalations", [])
    ]
    base = {
        "phase": response.get("phase"),
        "escalations": escalations,
        "policy_version": response.get("policy_version"),
    }
    if current is None:
        return {"state": response.get("phase"), "responder_id": None, **base}
    return {
        "dispatch_id": current["dispatch_id"],
        "state": current["state"],
        "responder_id": current["responder_id"],
        "assigned_at": current.get("assigned_at"),
        "ack_deadline": current.get("ack_deadline"),
        "rule": current.get("rule"),
        "reason": current.get("reason"),
        "candidates": current.get("candidates", []),
        **base,
    }


EXHAUSTED = (
    "ESCALATION CHAIN EXHAUSTED: every step of the pinned chain was paged and nobody "
    "acknowledged. Nobody else will be paged; a person must take this incident now."
)


def _human_status(s: dict[str, Any]) -> str:
    d = s.get("dispatch")
    lines = [
        table(
            "",
            ("incident", "risk", "categories", "school", "state", "reported"),
            [
                (
                    s["incident_id"],
                    s["risk"],
                    ",".join(s["categories"]),
                    s.get("school_id", ""),
                    s.get("state", ""),
                    when(s.get("reported_at")),
                )
            ],
        )
    ]
    if d is None:
        lines.append("dispatch: not yet dispatched")
    else:
        waiting = d.get("state") == "assigned"
        lines.append(
            table(
                "",
                ("dispatch", "state", "responder", "ack by", "rule"),
                [
                    (
                        d.get("dispatch_id") or "-",
                        d.get("phase") if d.get("phase") == "exhausted" else d.get("state"),
                        d.get("responder_id") or "-",
                        deadline(d.get("ack_deadline"), open_=waiting),
                        d.get("rule") or "-",
                    )
                ],
            )
        )
    steps = s.get("escalations") or []
    if steps:
        lines.append(
            table(
                "escalations",
                ("at", "reason", "step", "to"),
                [(local(e["at"]), e["reason"], e["step"], e["to"] or "nobody") for e in steps],
            )
        )
    if d is not None and d.get("phase") == "exhausted":
        lines.append(EXHAUSTED)
    return "\n".join(lines)


def cmd_schema(args: argparse.Namespace) -> None:
    from events import schema

    if args.out:
        for path in schema.write(Path(args.out)):
            print(path)
    else:
        print(json.dumps(schema.schemas(), indent=2, sort_keys=True))


def cmd_up(args: argparse.Namespace) -> None:
    from lantern.lock import Locked
    from lantern.stores import StoreChoice, StoreUnreachable
    from lantern.supervisor import Supervisor
    from plumbing.config import ConfigError

    if args.config:
        try:
            validate_config(args.config)
        except ConfigError as exc:
            raise CliError(exc.reason, exc.key, EXIT_INPUT) from None

    chosen = StoreChoice.from_env()
    store = StoreChoice(
        store=args.store or ("postgres" if args.postgres_dsn else chosen.store),
        postgres_dsn=args.postgres_dsn or chosen.postgres_dsn,
        postgres_schema=args.postgres_schema or chosen.postgres_schema,
    )
    supervisor = Supervisor(
        data_dir=Path(args.data_dir),
        nats_url=args.nats_url,
        demo=args.demo,
        dev=args.dev or args.demo,
        config=Path(args.config) if args.config else None,
        store=store,
    )
    try:
        code = supervisor.run()
    except StoreUnreachable as exc:
        raise CliError(str(exc), "store", EXIT_UNREACHABLE) from None
    except Locked as exc:
        pid = exc.holder.pid if exc.holder else None
        how = f"stop it first (Ctrl-C where it runs, or kill {pid})" if pid else "stop it first"
        raise CliError(f"lantern up refused: {exc}; {how}, or use another --data-dir") from None
    raise SystemExit(code)


def cmd_serve(args: argparse.Namespace) -> None:
    from plumbing import logs
    from plumbing.integrity.chainer import IntegrityKeyMissing
    from plumbing.messaging import natsurl
    from plumbing.secretfiles import SecretExposed, refuse_unsafe
    from plumbing.settings import Settings

    settings = Settings.from_env(
        args.service,
        data_dir=Path(args.data_dir),
        nats_url=args.nats_url,
        http_port=args.http_port,
        config_file=args.config,
    )
    logs.configure(args.service, level=os.environ.get("LANTERN_LOG_LEVEL", "INFO"))
    try:
        refuse_unsafe(settings)
        natsurl.tls_context()  # a TLS file that cannot be used stops start-up, not each connect
    except (IntegrityKeyMissing, SecretExposed, natsurl.TlsSettingError) as exc:
        raise CliError(f"{args.service} refused to start: {exc}") from None
    asyncio.run(builder(args.service)(settings).run())


# -- parser ----------------------------------------------------------------------------------
def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("lantern")
    except PackageNotFoundError:  # a source tree that was never installed
        return "unknown"


def parser() -> Parser:
    p = Parser(prog="lantern", description="Lantern crisis coordination")
    p.add_argument(
        "--data-dir",
        default=str(runfile.default_data_dir()),
        help="where the running system is recorded (default ./.lantern)",
    )
    p.add_argument("--version", action="version", version=f"lantern {_version()}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)

    def add(
        name: str, fn: Callable[[argparse.Namespace], None], help_: str, json_flag: bool = True
    ) -> Parser:
        sp: Parser = sub.add_parser(name, help=help_)
        sp.set_defaults(fn=fn)
        if json_flag:
            sp.add_argument("--json", action="store_true", help="machine-readable output")
        sp.add_argument(
            "--data-dir",
            default=argparse.SUPPRESS,
            help="where the running system is recorded (default ./.lantern)",
        )
        return sp

    up = add("up", cmd_up, "run the whole system in the foreground", json_flag=False)
    up.add_argument(
        "--demo", action="store_true", help="seed the synthetic demo district (implies --dev)"
    )
    up.add_argument(
        "--dev",
        action="store_true",
        help="development mode: keys generated under the data dir, the public integrity key, "
        "no secret-file checks (never the default)",
    )
    up.add_argument("--nats-url", default=None, help="use this NATS instead of an embedded one")
    up.add_argument("--config", default=None, help="TOML policy file")
    up.add_argument(
        "--store",
        choices=["sqlite", "postgres"],
        default=None,
        help="where every service keeps its events (default sqlite under the data dir; "
        "postgres when a DSN is given)",
    )
    up.add_argument(
        "--postgres-dsn",
        default=None,
        metavar="DSN",
        help='PostgreSQL connection, e.g. "host=127.0.0.1 user=postgres dbname=lantern"',
    )
    up.add_argument(
        "--postgres-schema",
        default=None,
        metavar="NAME",
        help="schema for the services' tables; created if missing (default public)",
    )

    serve = add("serve", cmd_serve, "run one service (used by `up`)", json_flag=False)
    serve.add_argument("service", choices=list(SERVICES))
    serve.add_argument("--nats-url", default=None)
    serve.add_argument(
        "--http-port", type=int, default=int(os.environ.get("LANTERN_HTTP_PORT", "0"))
    )
    serve.add_argument("--config", default=None)

    add("info", cmd_info, "where the running system is")
    cli_intake.register(add)
    cli_dispatch.register(add)
    cli_followup.register(add)
    cli_records.register(add)
    cli_whatif.register(add)
    cli_demo.register(add)
    cli_auth.register(add)
    cli_operations.register(add)
    cli_deploy.register(add)
    cli_bench.register(add)
    cli_docs.register(add)

    status = add("status", cmd_status, "an incident and its dispatch")
    status.add_argument("incident_id")

    completion = add(
        "completion", cmd_completion, "print a shell completion script", json_flag=False
    )
    completion.add_argument(
        "shell",
        choices=["bash", "zsh", "tcsh"],
        help="e.g. `lantern completion bash > /etc/bash_completion.d/lantern`",
    )

    schema = add("schema", cmd_schema, "JSON Schemas of the wire contract", json_flag=False)
    schema.add_argument("--out", default=None, help="write one file per message into DIR")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.fn(args)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
    except BrokenPipeError:
        return _reader_went_away()
    except CliError as exc:
        return fail(args, exc.error, exc.field, exc.code)
    except ServiceError as exc:  # 503: the service cannot do it now (its store, NATS): retry
        code = (
            EXIT_INPUT
            if exc.status in (400, 413, 422)
            else EXIT_UNREACHABLE
            if exc.status == 503
            else EXIT_FAILURE
        )
        return fail(args, exc.error, exc.field, code)
    except Unreachable as exc:
        return fail(args, f"service unreachable: {exc}", None, EXIT_UNREACHABLE)
    except KeyboardInterrupt:
        return 130
    return 0


def _reader_went_away() -> int:
    """``lantern … --json | head -1``: the reader has what it wanted; stop quietly.

    stdout is pointed at /dev/null so the interpreter's last flush cannot raise
    again, and the exit status is 0: the output was cut short by its reader, not
    by an error of ours.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 0


def cmd_completion(args: argparse.Namespace) -> None:
    import shtab

    print(shtab.complete(parser(), shell=args.shell, root_prefix="lantern"))


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
