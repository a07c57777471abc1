"""What every ``lantern`` sub-command shares: errors, output, finding and calling services."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn, Protocol, TypeVar

import msgspec

from events.codec import ContractError, convert
from events.vocabulary import Category
from lantern import runfile
from lantern.client import request
from plumbing.domain import rfc3339

T = TypeVar("T")

EXIT_INPUT = 2
EXIT_FAILURE = 1
EXIT_UNREACHABLE = 3


class CliError(Exception):
    def __init__(self, error: str, field: str | None = None, code: int = EXIT_FAILURE) -> None:
        super().__init__(error)
        self.error = error
        self.field = field
        self.code = code


#: Help for options and arguments that mean the same wherever they appear, so every option
#: of every command explains itself (a test checks that none is left without help).
DEFAULT_HELP: dict[str, str] = {
    "--accommodation": "one accommodation agreed (repeat for more)",
    "--agency": "the agency contacted instead (e.g. CPS)",
    "--as": "who you act as: your responder or staff id (audited)",
    "--at": "when it happened: ISO 8601 with offset, e.g. 2026-11-30T09:30:00-06:00",
    "--available": "yes: can be dispatched; no: cannot",
    "--category": "concern category (repeat for more): " + ", ".join(Category),
    "--config": "TOML policy file (see the README's Configuration)",
    "--consent": "the consent id the disclosure relies on",
    "--coping": "a coping strategy (repeat for more)",
    "--data-dir": "where the running system is recorded (default ./.lantern)",
    "--distraction": "a person or social setting that distracts (repeat for more)",
    "--email": "address for e-mailed pages",
    "--end": "end of the interval: ISO 8601 with offset",
    "--format": "csv or ndjson",
    "--from": "the responder being covered",
    "--given-by": "who gave the consent (kept inside follow-up only)",
    "--help-contact": "a person to ask for help (repeat for more)",
    "--http-port": "port of the service's HTTP API (0: any free port)",
    "--id": "the responder's id",
    "--incident": "an incident id",
    "--info": "information that may be shared (repeat for more)",
    "--justification": "why, in words (kept on record)",
    "--kind": "resource kind, e.g. outpatient_therapy",
    "--language": "a language, as a BCP 47 tag such as es (repeat for more)",
    "--mode": "in_person, phone, telehealth or family",
    "--name": "the person's name",
    "--nats-url": "NATS to connect to (default LANTERN_NATS_URL)",
    "--note": "free text kept with the record (never published)",
    "--notified-by": "the staff member who made the contact",
    "--on-call": "on: on call for the interval; off: off call",
    "--owner": "a plan owner's id",
    "--participant": "who took part (repeat for more)",
    "--party": "who received the information (a resource or agency id)",
    "--professional": "a professional or agency to call, 988 included (repeat for more)",
    "--purpose": "why it is shared (the party's legitimate interest)",
    "--reason": "why (kept on record with the change)",
    "--recipient": "who may receive it (repeat for more)",
    "--referral": "the referral this is for",
    "--resource": "a community resource id (see `lantern resources`)",
    "--responder": "a responder id",
    "--role": "the role (see the README's roles)",
    "--safe-environment": "a step that makes the environment safe (repeat for more)",
    "--scenario": "morning, followup or all (default all)",
    "--school": "a school id (see `lantern schools`)",
    "--service": "the service that recorded it: intake, dispatch, followup or records",
    "--since": "from this instant on (ISO 8601 with offset)",
    "--skill": "a skill, e.g. suicide_risk_assessment (repeat for more)",
    "--start": "start of the interval: ISO 8601 with offset",
    "--state": "only dispatches in this state (assigned, acknowledged, escalated, ...)",
    "--student": "a student reference (pseudonymous id)",
    "--text": "the note's text (never published)",
    "--threat": "the articulable and significant threat (emergency disclosures)",
    "--timezone": "IANA zone the shifts are written in, e.g. America/Chicago",
    "--to": "the responder who takes over",
    "--until": "up to this instant (ISO 8601 with offset)",
    "--value": "the corrected value",
    "--view": "known: as recorded then; true: with later corrections applied",
    "--warning-sign": "an observed warning sign (repeat for more)",
    "--whom": "the guardian notified (kept inside follow-up only)",
    "--withdrawn-by": "who withdrew the consent",
    "action": "what to do (one of the choices listed)",
    "audit_id": "the audit entry's id (see `lantern review-queue`)",
    "checkin_id": "the check-in's id (see `lantern plans`)",
    "dispatch_id": "the dispatch's id (see `lantern dispatches`)",
    "file": "the CSV file",
    "incident_id": "the incident's id (from `lantern report`)",
    "plan_id": "the follow-up plan's id (see `lantern plans`)",
    "service": "which service",
    "student_ref": "the student's pseudonymous reference",
}


class Parser(argparse.ArgumentParser):
    """argparse that reports usage errors in the same JSON shape when --json is given.

    An option added without help gets the common wording of ``DEFAULT_HELP``.
    """

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        if not kwargs.get("help"):
            name = args[0] if args else kwargs.get("dest", "")
            if name in DEFAULT_HELP:
                kwargs["help"] = DEFAULT_HELP[name]
        return super().add_argument(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        if "--json" in sys.argv:
            print(json.dumps({"error": message}), file=sys.stderr)
            raise SystemExit(EXIT_INPUT)
        super().error(message)


class AddCommand(Protocol):
    def __call__(
        self,
        name: str,
        fn: Callable[[argparse.Namespace], None],
        help_: str,
        json_flag: bool = True,
    ) -> Parser: ...


def _jsonable(value: Any) -> Any:
    """Times as RFC 3339 (the form every reply uses), anything else as text."""
    return rfc3339(value) if isinstance(value, datetime) else str(value)


def emit(args: argparse.Namespace, data: Any, human: Callable[[Any], str] | None = None) -> None:
    if getattr(args, "json", False) or human is None:
        print(json.dumps(data, indent=2, default=_jsonable))
    else:
        print(human(data))


def system(args: argparse.Namespace) -> dict[str, Any]:
    try:
        return runfile.read(Path(args.data_dir))
    except LookupError as exc:
        raise CliError(str(exc), code=EXIT_UNREACHABLE) from None


def service_url(args: argparse.Namespace, service: str) -> str:
    url: str = system(args)["services"][service]
    return url


def call(
    args: argparse.Namespace,
    service: str,
    method: str,
    path: str,
    body: Any = None,
    actor: str = "",
    timeout: float = 10.0,
) -> Any:
    """Call a service's HTTP API; a refusal raises ``ServiceError`` (handled by ``main``).

    Every call carries the caller's token, says it comes from the CLI, and
    passes ``LANTERN_PURPOSE`` as the purpose of the access (see ``cli_auth``).
    """
    from lantern.cli_auth import token_for

    headers = {"X-Lantern-Actor": actor} if actor else {}
    headers["X-Lantern-Interface"] = "cli"
    token = token_for(Path(args.data_dir))
    if token:
        headers["Authorization"] = f"Bearer {token}"
    purpose = os.environ.get("LANTERN_PURPOSE", "")
    if purpose:
        headers["X-Lantern-Purpose"] = purpose
    if isinstance(body, msgspec.Struct):
        body = msgspec.to_builtins(body)
    return request(method, f"{service_url(args, service)}{path}", body, headers, timeout)


def validated(data: dict[str, Any], kind: type[T]) -> T:
    """Validate CLI input against the contract before sending it (same field names as HTTP)."""
    try:
        return convert(data, kind)
    except ContractError as exc:
        raise CliError(exc.reason, exc.field, EXIT_INPUT) from None
