"""Encoding and validating decoding of contract messages.

Every interface funnels input through :func:`decode`, so a bad field is named
the same way over HTTP, NATS and the CLI.  A refusal's reason never quotes the
value it refuses (an enum "value" may be a student's name typed in the wrong
box): reasons travel into replies, audit entries and, through callers, logs.
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

import msgspec

T = TypeVar("T")

_AT_PATH = re.compile(r"^(?P<reason>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_MISSING = re.compile(r"missing required field `(?P<field>[^`]+)`")
_UNKNOWN = re.compile(r"unknown field `(?P<field>[^`]+)`")
#: msgspec quotes the refused value here (``Invalid enum value 'Jane Doe'``): it is cut off
_QUOTED_VALUE = re.compile(r"^(?P<reason>Invalid (?:enum )?value)\b.*$", re.DOTALL)


class ContractError(ValueError):
    """Input that does not fit the contract; ``field`` is a dotted path or None."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason if field is None else f"{field}: {reason}")
        self.reason = reason
        self.field = field


def _field_from(message: str) -> tuple[str, str | None]:
    match = _AT_PATH.match(message)
    reason = match.group("reason") if match else message
    reason = _QUOTED_VALUE.sub(r"\g<reason>", reason)
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
    except UnicodeDecodeError:
        raise _not_utf8(raw) from None


def parse(raw: bytes | str) -> Any:
    """Parse JSON without a type (to merge path parameters in), refusing like :func:`decode`."""
    try:
        return msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise ContractError(f"malformed JSON: {exc}") from None
    except UnicodeDecodeError:
        raise _not_utf8(raw) from None


def _not_utf8(raw: bytes | str) -> ContractError:
    """A refusal of text that is not UTF-8, naming the field that holds it when it can.

    The exception msgspec raises carries the offending bytes (a note, a name):
    it is dropped here, so no caller can log it.
    """
    reason = "invalid UTF-8"
    if isinstance(raw, str):
        return ContractError(reason)
    try:
        parsed = json.loads(raw.decode("utf-8", errors="surrogateescape"))
        return ContractError(reason, _escaped_at(parsed))
    except (ValueError, RecursionError):
        return ContractError(reason)


def _escaped_at(value: Any, path: str = "") -> str | None:
    """The dotted path of the first key or string holding an undecodable byte."""
    if isinstance(value, str):
        return (path or None) if _ESCAPED.search(value) else None
    items: list[tuple[Any, Any]] = (
        list(value.items())
        if isinstance(value, dict)
        else list(enumerate(value))
        if isinstance(value, list)
        else []
    )
    for key, item in items:
        where = f"{path}.{key}" if path else str(key)
        if isinstance(key, str) and _ESCAPED.search(key):
            return path or None  # the key itself cannot be named without quoting it
        found = _escaped_at(item, where)
        if found:
            return found
    return None


#: the surrogates ``errors="surrogateescape"`` puts where undecodable bytes were
_ESCAPED = re.compile("[\udc80-\udcff]")


def encode(message: Any) -> bytes:
    return msgspec.json.encode(message)
