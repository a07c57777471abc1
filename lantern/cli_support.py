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


class Parser(argparse.ArgumentParser):
    """argparse that reports usage errors in the same JSON shape when --json is given."""

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
    return request(method, f"{service_url(args, service)}{path}", body, headers)


def validated(data: dict[str, Any], kind: type[T]) -> T:
    """Validate CLI input against the contract before sending it (same field names as HTTP)."""
    try:
        return convert(data, kind)
    except ContractError as exc:
        raise CliError(exc.reason, exc.field, EXIT_INPUT) from None
