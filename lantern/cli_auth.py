"""``lantern token``, ``break-glass``, ``review-queue``, ``shred``: identities and privacy.

Which identity the CLI sends (``cli_support.call``), first match wins:

1. ``LANTERN_TOKEN``: a token minted by ``lantern token`` or the district's
   identity provider (production);
2. development mode: the secret ``lantern up`` keeps in ``<data dir>/auth.secret``
   signs a short-lived token for ``LANTERN_AS`` (default ``dev-admin``) with
   ``LANTERN_ROLE`` (default ``admin``) and ``LANTERN_SCHOOLS`` (comma-separated).

``LANTERN_PURPOSE`` is sent as the purpose of every access (audited).
"""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from lantern.cli_support import EXIT_INPUT, AddCommand, CliError, call, emit, system
from plumbing.access import auth
from plumbing.domain import rfc3339

DEV_SUBJECT = "dev-admin"


def secret(data_dir: Path) -> bytes | None:
    """The district secret: ``LANTERN_AUTH_SECRET``, or the dev secret ``lantern up`` wrote."""
    configured = os.environ.get("LANTERN_AUTH_SECRET", "")
    if configured:
        return configured.encode()
    path = data_dir / auth.DEV_SECRET_FILE
    return path.read_text().strip().encode() if path.exists() else None


def token_for(data_dir: Path) -> str:
    """The bearer token the CLI sends ('' when it has none: the service then says 401)."""
    given = os.environ.get("LANTERN_TOKEN", "")
    if given:
        return given
    key = secret(data_dir)
    if key is None:
        return ""
    schools = [s for s in os.environ.get("LANTERN_SCHOOLS", "").split(",") if s]
    return auth.issue(
        key,
        subject=os.environ.get("LANTERN_AS", DEV_SUBJECT),
        role=os.environ.get("LANTERN_ROLE", auth.Role.ADMIN),
        schools=schools,
        ttl=timedelta(minutes=10),
    )


def cmd_token(args: argparse.Namespace) -> None:
    key = secret(Path(args.data_dir))
    if key is None:
        raise CliError(
            "no secret: set LANTERN_AUTH_SECRET (or run `lantern up` in development mode)",
            "LANTERN_AUTH_SECRET",
        )
    try:
        role = auth.Role(args.role)
    except ValueError:
        raise CliError(f"unknown role {args.role!r}", "role", EXIT_INPUT) from None
    now = datetime.now(UTC)
    ttl = timedelta(minutes=args.ttl)
    token = auth.issue(
        key,
        subject=args.subject,
        role=role,
        schools=args.school,
        ttl=ttl,
        now=now,
        break_glass_reason=args.break_glass or "",
    )
    expiry = (now + ttl).replace(microsecond=0)  # what the token says: whole seconds
    emit(
        args,
        {"token": token, "subject": args.subject, "role": str(role), "expires_at": rfc3339(expiry)},
        lambda d: str(d["token"]),
    )


def cmd_break_glass(args: argparse.Namespace) -> None:
    body: dict[str, Any] = {"reason": args.reason, "minutes": args.minutes}
    if args.incident:
        body["incident_id"] = args.incident
    granted = call(args, "intake", "POST", "/access/break-glass", body)
    emit(args, granted, lambda g: f"{g['token']}\n(valid until {g['until']}; flagged for review)")


def cmd_review_queue(args: argparse.Namespace) -> None:
    query = "" if args.all else "?unreviewed=true"
    rows: list[dict[str, Any]] = []
    for service in system(args)["services"]:
        rows += call(args, service, "GET", f"/audit/break-glass{query}")
    rows.sort(key=lambda r: str(r["at"]))
    emit(args, rows, lambda rs: "\n".join(_row(r) for r in rs) or "nothing to review")


def _row(r: dict[str, Any]) -> str:
    return f"{r['at']}  {r['service']:<9} {r['actor']} ({r['role']}) {r['action']}: {r['reason']}"


def cmd_review(args: argparse.Namespace) -> None:
    path = f"/audit/break-glass/{args.audit_id}/review"
    emit(args, call(args, args.service, "POST", path, {"note": args.note}))


def cmd_shred(args: argparse.Namespace) -> None:
    path = f"/students/{args.student_ref}/shred"
    emit(args, call(args, "intake", "POST", path, {"reason": args.reason}))


def cmd_student(args: argparse.Namespace) -> None:
    emit(args, call(args, "intake", "GET", f"/students/{args.student_ref}"))


def register(add: AddCommand) -> None:
    token = add("token", cmd_token, "mint a signed identity token (district secret needed)")
    token.add_argument("--as", dest="subject", required=True, help="who (staff id)")
    token.add_argument("--role", required=True, choices=[str(r) for r in auth.Role])
    token.add_argument("--school", action="append", default=[], help="a school (repeatable)")
    token.add_argument("--ttl", type=int, default=480, help="minutes (default 480)")
    token.add_argument("--break-glass", default=None, help=argparse.SUPPRESS)

    bg = add("break-glass", cmd_break_glass, "emergency access beyond your role (reviewed)")
    bg.add_argument("--reason", required=True)
    bg.add_argument("--minutes", type=int, default=30, help="at most 60")
    bg.add_argument("--incident", default=None)

    queue = add("review-queue", cmd_review_queue, "break-the-glass accesses to review")
    queue.add_argument("--all", action="store_true", help="reviewed ones too")

    review = add("review", cmd_review, "mark one break-the-glass access as reviewed")
    review.add_argument("audit_id")
    review.add_argument("--service", required=True)
    review.add_argument("--note", default="")

    shred = add("shred", cmd_shred, "crypto-shred a student's PII (a retention decision)")
    shred.add_argument("student_ref")
    shred.add_argument("--reason", required=True)

    student = add("student", cmd_student, "a student's details and notes (audited)")
    student.add_argument("student_ref")
