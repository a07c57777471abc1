"""Encoding and validating decoding of contract messages.

Every interface funnels input through :func:`decode`, so a bad field is named
the same way over HTTP, NATS and the CLI.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec

T = TypeVar("T")

_AT_PATH = re.compile(r"^(?P<reason>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_MISSING = re.compile(r"missing required field `(?P<field>[^`]+)`")
_UNKNOWN = re.compile(r"unknown field `(?P<field>[^`]+)`")


class ContractError(ValueError):
    """Input that does not fit the contract; ``field`` is a dotted path or None."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason if field is None else f"{field}: {reason}")
        self.reason = reason
        self.field = field


def _field_from(message: str) -> tuple[str, str | None]:
    match = _AT_PATH.match(message)
    reason = match.group("reason") if match else message
    path = (match.group("path") if match else None) or ""
    path = path.lstrip(".")
    for pattern in (_MISSING, _UNKNOWN):
        found = pattern.search(reason)
        if found:
            path = f"{path}.{found.group('field')}" if path else found.group("field")
    return reason, (path or None)


def convert(data: Any, kind: type[T]) -> T:
    """Validate already-parsed data (a dict from a CLI, say) into ``kind``."""
    try:
        return msgspec.convert(data, kind)
    except msgspec.ValidationError as exc:
        reason, field = _field_from(str(exc))
        raise ContractError(reason, field) from None


def decode(raw: bytes | str, kind: type[T]) -> T:
    """Parse JSON into ``kind``, raising :class:`ContractError` naming the field."""
    try:
        return msgspec.json.decode(raw, type=kind)
    except msgspec.ValidationError as exc:
        reason, field = _field_from(str(exc))
        raise ContractError(reason, field) from None
    except msgspec.DecodeError as exc:
        raise ContractError(f"malformed JSON: {exc}") from None


def encode(message: Any) -> bytes:
    return msgspec.json.encode(message)
