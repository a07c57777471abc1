"""HTTP plumbing shared by the services' JSON APIs.

Every refusal has the same shape as on NATS and the CLI: ``{"error", "field"}``.
A domain error never becomes a 200, and an unexpected one never shows a
traceback to the client (it is logged instead).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import msgspec
from starlette.requests import Request
from starlette.responses import Response

from events.codec import ContractError, decode
from events.commands import ErrorV1
from plumbing import logs
from plumbing.domain import Conflict, DomainError, Invalid, NotFound

T = TypeVar("T")
log = logs.get("lantern.http")


def reply(obj: Any, status: int = 200) -> Response:
    return Response(msgspec.json.encode(obj), status_code=status, media_type="application/json")


def error_reply(exc: BaseException) -> Response:
    """Map an exception to the contract's error reply and an HTTP status."""
    if isinstance(exc, ContractError):
        return reply(ErrorV1(error=exc.reason, field=exc.field), 400)
    if isinstance(exc, NotFound):
        return reply(ErrorV1(error=exc.message, field=exc.field), 404)
    if isinstance(exc, Conflict):
        return reply(ErrorV1(error=exc.message, field=exc.field), 409)
    if isinstance(exc, Invalid):
        return reply(ErrorV1(error=exc.message, field=exc.field), 422)
    if isinstance(exc, DomainError):
        return reply(ErrorV1(error=exc.message, field=exc.field), 400)
    log.exception("unexpected error", error=repr(exc))
    return reply(ErrorV1(error="internal error; see the service log"), 500)


async def read(request: Request, kind: type[T]) -> T:
    return decode(await request.body(), kind)


async def call(fn: Callable[..., T], *args: Any) -> T:
    """Run a synchronous application method off the event loop."""
    return await anyio.to_thread.run_sync(fn, *args)


def endpoint(
    handler: Callable[[Request], Any],
) -> Callable[[Request], Any]:
    """Wrap a route so any exception becomes the contract's error reply."""

    async def wrapped(request: Request) -> Response:
        try:
            result: Response = await handler(request)
        except Exception as exc:  # noqa: BLE001 - mapped to a status, never a traceback
            return error_reply(exc)
        return result

    return wrapped
