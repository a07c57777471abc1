"""Refusals on NATS request-reply subjects, in the same shape as HTTP's."""

from __future__ import annotations

from events.codec import ContractError, encode
from events.commands import ErrorV1
from plumbing import logs
from plumbing.domain import DomainError

log = logs.get("lantern.nats")


def refusal(exc: BaseException) -> bytes:
    if isinstance(exc, ContractError):
        return encode(ErrorV1(error=exc.reason, field=exc.field))
    if isinstance(exc, DomainError):
        return encode(ErrorV1(error=exc.message, field=exc.field))
    log.exception("unexpected error", error=repr(exc))
    return encode(ErrorV1(error="internal error; see the service log"))
