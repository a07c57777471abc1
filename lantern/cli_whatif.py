"""``lantern whatif``: replay past incidents under another policy, beside what happened.

By default it asks the running dispatch service (``POST /whatif``, so the
caller's role and schools apply).  ``--offline`` reads the dispatch store
directly instead (SQLite under ``--data-dir``, or PostgreSQL from
``LANTERN_POSTGRES_DSN``), for a stopped system or a copy of one: whoever
holds the store and its key already holds everything, so no role applies.
Either way nothing is written.

``--json`` prints the result document; ``--out DIR`` also writes
``whatif.json``, ``summary.csv``, ``responders.csv``, ``incidents.csv`` and
``whatif.png`` there.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lantern import runfile
from lantern.cli_support import (
    EXIT_INPUT,
    EXIT_UNREACHABLE,
    AddCommand,
    CliError,
    call,
    emit,
)


def cmd_whatif(args: argparse.Namespace) -> None:
    from services.dispatch.whatif import files, report

    try:
        policy_text = Path(args.policy).read_text()
    except OSError as exc:
        raise CliError(
            f"cannot read the policy file: {exc.strerror}", "policy", EXIT_INPUT
        ) from None
    since, until = _instant(args.since, "since"), _instant(args.until, "until")
    if args.offline:
        document = _offline(args, policy_text, since, until)
    else:
        body = {
            "policy": policy_text,
            "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None,
            "schools": args.school or [],
            "seed": args.seed,
            "incidents": True,
        }
        document = call(args, "dispatch", "POST", "/whatif", body, timeout=args.timeout)
    emit(args, document, report.table)
    if args.out:
        sys.stdout.flush()
        for path in files.write(document, Path(args.out)):
            if not args.json:  # with --json, stderr carries only errors
                print(f"wrote {path}", file=sys.stderr)


def _offline(
    args: argparse.Namespace, policy_text: str, since: datetime | None, until: datetime | None
) -> dict[str, Any]:
    from plumbing.domain import DomainError
    from plumbing.settings import Settings
    from services.dispatch.whatif import reading
    from services.dispatch.whatif.run import policy_from_toml, run

    settings = Settings.from_env(
        "dispatch", data_dir=Path(args.data_dir), dev_mode=runfile.dev_mode(Path(args.data_dir))
    )
    try:
        policy = policy_from_toml(policy_text)
        started = time.perf_counter()
        with reading.offline(settings, pages=False) as history:
            return run(
                history,
                policy,
                since=since,
                until=until,
                schools=set(args.school) if args.school else None,
                seed=args.seed,
                include_incidents=True,
                read_seconds=time.perf_counter() - started,
            )
    except DomainError as exc:
        raise CliError(exc.message, exc.field, EXIT_INPUT) from None
    except reading.StoreUnavailable as exc:
        raise CliError(str(exc), None, EXIT_UNREACHABLE) from None


def _instant(text: str | None, name: str) -> datetime | None:
    """ISO 8601; without an offset it is taken as UTC."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise CliError(f"not an ISO 8601 instant: {text!r}", name, EXIT_INPUT) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def register(add: AddCommand) -> None:
    whatif = add("whatif", cmd_whatif, "replay past incidents under another policy (read-only)")
    whatif.add_argument("--policy", required=True, help="TOML, as for `lantern up --config`")
    whatif.add_argument("--since", default=None, help="reported at or after (ISO 8601)")
    whatif.add_argument("--until", default=None, help="reported before (ISO 8601)")
    whatif.add_argument(
        "--school", action="append", default=None, help="only this school (repeatable)"
    )
    whatif.add_argument("--seed", type=int, default=0, help="seed of the responder model")
    whatif.add_argument("--out", default=None, help="write JSON, CSV and a PNG chart into DIR")
    whatif.add_argument(
        "--offline", action="store_true", help="read the dispatch store directly (no service)"
    )
    whatif.add_argument(
        "--timeout", type=float, default=300.0, help="seconds to wait for the service's answer"
    )
