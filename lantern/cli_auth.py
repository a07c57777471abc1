"""``lantern token``, ``rotate-keys``, ``break-glass``, ``review-queue``, ``shred``: identities.

The CLI is an *issuer* when it holds the Ed25519 signing key
(``LANTERN_SIGNING_KEY``, or in development mode the ``issuer.key`` that
``lantern up`` made under the data dir): ``lantern token`` signs tokens for
people and delegations for services.  Services hold only the public keys.

Which identity the CLI sends (``cli_support.call``), first match wins:

1. ``LANTERN_TOKEN``: a token signed by ``lantern token`` or the district's
   identity provider (production);
2. development mode: the dev issuer key signs a short-lived token for
   ``LANTERN_AS`` (default ``dev-admin``) with ``LANTERN_ROLE`` (default
   ``admin``) and ``LANTERN_SCHOOLS`` (comma-separated).

``LANTERN_PURPOSE`` is sent as the purpose of every access (audited).
"""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from lantern.cli_support import EXIT_INPUT, AddCommand, CliError, call, emit, system
from plumbing.access import auth, keys, trust
from plumbing.domain import rfc3339
from plumbing.settings import Settings

DEV_SUBJECT = "dev-admin"


def settings_of(data_dir: Path) -> Settings:
    return Settings.from_env("cli", data_dir=data_dir)


def issuer(data_dir: Path) -> auth.Issuer | None:
    """The issuer the CLI may act as: the configured signing key, or the dev one."""
    try:
        return trust.issuer(settings_of(data_dir))
    except keys.KeyFileError as exc:
        raise CliError(str(exc), "LANTERN_SIGNING_KEY") from None


def token_for(data_dir: Path) -> str:
    """The bearer token the CLI sends ('' when it has none: the service then says 401)."""
    given = os.environ.get("LANTERN_TOKEN", "")
    if given:
        return given
    signer = issuer(data_dir)
    if signer is None:
        return ""
    schools = [s for s in os.environ.get("LANTERN_SCHOOLS", "").split(",") if s]
    return signer.issue(
        subject=os.environ.get("LANTERN_AS", DEV_SUBJECT),
        role=os.environ.get("LANTERN_ROLE", auth.Role.ADMIN),
        schools=schools,
        ttl=timedelta(minutes=10),
    )


def _signer(data_dir: Path) -> auth.Issuer:
    signer = issuer(data_dir)
    if signer is None:
        raise CliError(
            "no signing key: set LANTERN_SIGNING_KEY (or run `lantern up --demo` for a dev key)",
            "LANTERN_SIGNING_KEY",
        )
    return signer


def cmd_token(args: argparse.Namespace) -> None:
    signer = _signer(Path(args.data_dir))
    now = datetime.now(UTC).replace(microsecond=0)
    ttl = timedelta(minutes=args.ttl)
    if args.service:
        if args.service not in auth.DELEGATIONS:
            raise CliError(f"no delegation for service {args.service!r}", "service", EXIT_INPUT)
        token = signer.delegation(args.service, ttl, now)
        subject, role = f"service:{args.service}", auth.Role.SERVICE
    else:
        if not args.subject or not args.role:
            raise CliError("--as and --role are required (or --service)", "role", EXIT_INPUT)
        try:
            role = auth.Role(args.role)
        except ValueError:
            raise CliError(f"unknown role {args.role!r}", "role", EXIT_INPUT) from None
        subject = args.subject
        token = signer.issue(subject=subject, role=role, schools=args.school, ttl=ttl, now=now)
    emit(
        args,
        {"token": token, "subject": subject, "role": str(role), "expires_at": rfc3339(now + ttl)},
        lambda d: str(d["token"]),
    )


def cmd_keys_rotate(args: argparse.Namespace) -> None:
    """A new signing key; the JWKS keeps the old public key until its tokens have expired."""
    settings = settings_of(Path(args.data_dir))
    private = trust.signing_key_path(settings)
    if private is None:
        raise CliError("no signing key to rotate (LANTERN_SIGNING_KEY)", "LANTERN_SIGNING_KEY")
    jwks = Path(args.jwks or settings.jwks or Path(args.data_dir) / keys.DEV_JWKS)
    kid = keys.rotate(private, jwks)
    emit(args, {"kid": kid, "jwks": str(jwks), "signing_key": str(private)})


def cmd_break_glass(args: argparse.Namespace) -> None:
    """Two steps: intake decides and records the grant, the issuer (this CLI) signs it."""
    data_dir = Path(args.data_dir)
    signer = _signer(data_dir)
    body: dict[str, Any] = {"reason": args.reason, "minutes": args.minutes}
    if args.incident:
        body["incident_id"] = args.incident
    recorded = call(args, "intake", "POST", "/access/break-glass", body)
    try:  # the caller, as the services see them (public keys only)
        caller = trust.verifier(settings_of(data_dir)).verify(token_for(data_dir))
    except (keys.KeyFileError, auth.AuthError) as exc:
        raise CliError(f"cannot read your token: {exc}", "LANTERN_TOKEN") from None
    until = datetime.fromisoformat(str(recorded["until"]).replace("Z", "+00:00"))
    grant = auth.Grant(reason=args.reason, until=until, audit_id=str(recorded["audit_id"]))
    token = signer.break_glass(caller, grant)
    granted = {"token": token, "until": recorded["until"], "audit_id": recorded["audit_id"]}
    emit(args, granted, lambda g: f"{g['token']}\n(valid until {g['until']}; flagged for review)")


#: The services that keep an audit trail of their own, and so a break-the-glass review queue.
AUDITED = ("intake", "dispatch", "followup", "records")


def cmd_review_queue(args: argparse.Namespace) -> None:
    query = "?unreviewed=false" if args.all else "?unreviewed=true"
    rows: list[dict[str, Any]] = []
    for service in system(args)["services"]:
        if service in AUDITED:  # the console has no store: its callers are audited by these
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
    token = add("token", cmd_token, "sign an identity token (the issuer's signing key needed)")
    token.add_argument("--as", dest="subject", default=None, help="who (staff id)")
    token.add_argument("--role", default=None, choices=sorted(str(r) for r in auth.PEOPLE))
    token.add_argument("--school", action="append", default=[], help="a school (repeatable)")
    token.add_argument("--ttl", type=int, default=480, help="minutes (default 480)")
    token.add_argument(
        "--service",
        default=None,
        choices=sorted(auth.DELEGATIONS),
        help="a service's delegation token instead (its operations only)",
    )

    rotate = add("rotate-keys", cmd_keys_rotate, "new signing key; the JWKS keeps the old one")
    rotate.add_argument("--jwks", default=None, help="the JWKS file (default: LANTERN_JWKS)")

    bg = add("break-glass", cmd_break_glass, "emergency access beyond your role (reviewed)")
    bg.add_argument(
        "--reason",
        required=True,
        help="why, naming nobody (it travels with the audit entry, for compliance's review)",
    )
    bg.add_argument("--minutes", type=int, default=30, help="at most the policy (60)")
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
