"""One declaration per operation, served identically over HTTP and NATS request-reply.

A service lists its operations as :class:`Operation` values.  From that list
come its HTTP routes, its NATS request-reply responders and its OpenAPI
document, so validation, errors and access rules cannot differ between
interfaces: every request is decoded into the same msgspec Struct, and every
refusal is the contract's ``ErrorV1``.

HTTP: path parameters and (for GET) query parameters are merged into the body
before validation; a body naming a path parameter must give it the path's value
(400 naming the field otherwise, never a silent override).  A body larger than
the configured limit is refused with 413 before it is read whole, over HTTP
(``Content-Length``, then a capped read) and NATS (the payload's size) alike.

NATS: the request body is the same JSON object, sent to
``<prefix>.cmd.<service>.<name>``; the reply is the result or an ``ErrorV1``
with a ``Lantern-Status`` header carrying the HTTP-equivalent status.  Reply
types and success statuses are declared in the subject catalogue
(``events.subjects.COMMANDS``), from which both API documents are generated.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import anyio
import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from structlog.contextvars import bound_contextvars

from events.codec import ContractError, convert, decode, encode, parse
from events.common import ErrorV1
from plumbing import logs
from plumbing.access.auth import AuthError, Identity
from plumbing.access.rules import Access, Forbidden
from plumbing.domain import Conflict, DomainError, Invalid, NotFound, Trace
from plumbing.interface.requests import (
    CORRELATION_HEADER,
    TraceContext,
    correlation_from,
    trace_context,
    trace_from,
    utcnow,
)
from plumbing.messaging.failures import Failure, classify, describe
from plumbing.settings import DEFAULT_MAX_REQUEST_BYTES

if TYPE_CHECKING:
    from plumbing.interface.guard import Guard

C = TypeVar("C")
log = logs.get("lantern.commands")
STATUS_HEADER = "Lantern-Status"


@dataclass(frozen=True)
class Context:
    """Who asks, when, and through which interface (for audit and access rules)."""

    trace: Trace
    now: datetime
    interface: str
    headers: Mapping[str, str]
    identity: Identity | None = None  # who the bearer token says is asking (None: no guard)
    #: the caller's W3C trace context, when a valid ``traceparent`` came with the request
    trace_context: TraceContext | None = None


@dataclass(frozen=True)
class Result:
    """A reply with an explicit status (201 Created, 200 for an idempotent repeat...)."""

    body: Any
    status: int = 200
    correlation_id: str = ""  # echoed to the caller (``X-Correlation-Id``)


@dataclass(frozen=True)
class Operation(Generic[C]):
    name: str
    kind: type[C]
    method: str
    path: str
    handle: Callable[[C, Context], Any]
    summary: str = ""
    returns: Any = None
    actor_field: str | None = None  # a command field that names the acting person
    #: who may call it and what it touches (``plumbing.access.rules``); None = administrators only
    access: Access | None = None


class TooLarge(Exception):
    """A request body over the configured limit (refused unread, 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is larger than {limit} bytes")
        self.limit = limit


def status_of(exc: BaseException) -> int:
    if isinstance(exc, TooLarge):
        return 413
    if isinstance(exc, ContractError):
        return 400
    if isinstance(exc, AuthError):
        return 401
    if isinstance(exc, Forbidden):
        return 403
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, Invalid):
        return 422
    if isinstance(exc, DomainError):
        return 400
    if classify(exc) is Failure.INFRASTRUCTURE:
        return 503
    return 500


def refusal(exc: BaseException) -> ErrorV1:
    if isinstance(exc, TooLarge):
        return ErrorV1(error=str(exc), field="body")
    if isinstance(exc, ContractError):
        return ErrorV1(error=exc.reason, field=exc.field)
    if isinstance(exc, AuthError):
        return ErrorV1(error=exc.message, field="authorization")
    if isinstance(exc, DomainError):
        return ErrorV1(error=exc.message, field=exc.field)
    if classify(exc) is Failure.INFRASTRUCTURE:
        log.warning("store or broker unavailable", error=describe(exc))
        return ErrorV1(
            error="the service cannot reach its store right now; nothing was changed, try again"
        )
    # No traceback: its messages may quote the request (a note, a name).  Where it was
    # raised, frame by frame, is enough to find the defect.
    log.error("unexpected error", error=describe(exc), stack=_frames(exc))
    return ErrorV1(error="internal error; see the service log")


def _frames(exc: BaseException) -> list[str]:
    return [
        f"{frame.filename.rsplit('/', 2)[-1]}:{frame.lineno} {frame.name}"
        for frame in traceback.extract_tb(exc.__traceback__)[-8:]
    ]


async def execute(
    op: Operation[Any],
    data: bytes | dict[str, Any],
    headers: Mapping[str, str],
    interface: str,
    guard: Guard | None = None,
) -> Result:
    """Authenticate, validate, authorize and audit, run off the event loop, shape the reply.

    The guard is the one enforcement point for HTTP and NATS alike (and the CLI,
    which speaks HTTP): see ``plumbing.interface.guard``.
    """
    correlation_id = correlation_from(headers)
    traced = trace_context(headers)
    try:
        identity = guard.identify(headers) if guard is not None else None
        command = decode(data, op.kind) if isinstance(data, bytes) else convert(data, op.kind)
        actor = str(getattr(command, op.actor_field, "")) if op.actor_field else ""
        context = Context(
            trace=trace_from(
                headers,
                interface=interface,
                actor=actor or (identity.subject if identity else ""),
                correlation_id=correlation_id,
            ),
            now=utcnow(),
            interface=interface,
            headers=headers,
            identity=identity,
            trace_context=traced,
        )
        with bound_contextvars(
            correlation_id=correlation_id,
            causation_id=context.trace.causation_id,
            **({"trace_id": traced.trace_id} if traced else {}),
        ):
            if guard is None:
                outcome = await anyio.to_thread.run_sync(op.handle, command, context)
            else:
                outcome = await anyio.to_thread.run_sync(guard.run, op, command, context)
    except Exception as exc:  # noqa: BLE001 - every refusal becomes an ErrorV1
        return Result(refusal(exc), status_of(exc), correlation_id)
    result = outcome if isinstance(outcome, Result) else Result(outcome)
    return replace(result, correlation_id=correlation_id)


# -- HTTP ---------------------------------------------------------------------------------
async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused (:class:`TooLarge`) as soon as it is known to exceed ``limit``.

    A declared ``Content-Length`` over the limit is refused before a byte is read;
    otherwise the body is read in chunks and refused once it passes the limit, so
    a lying or missing length cannot make the service buffer more than that.
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise ContractError("not a number of bytes", "content-length")
        if int(declared) > limit:
            raise TooLarge(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise TooLarge(limit)
    return bytes(body)


def _http_data(op: Operation[Any], request: Request, body: bytes) -> bytes | dict[str, Any]:
    params: dict[str, Any] = dict(request.path_params)
    if op.method == "GET":
        params.update(request.query_params)
        return _loosely(params, op.kind)
    if not params:
        return body or b"{}"
    parsed = parse(body or b"{}")
    if not isinstance(parsed, dict):
        raise ContractError("expected a JSON object")
    for name, value in params.items():
        given = parsed.get(name, value)
        if type(given) is not type(value) or given != value:  # True == 1, yet it disagrees
            raise ContractError("differs from the value in the path", name)
    parsed.update(params)
    return parsed


def _loosely(params: dict[str, Any], kind: type[Any]) -> dict[str, Any]:
    """Query strings are text: let msgspec coerce "3" to 3 and "true" to True."""
    try:
        return msgspec.to_builtins(msgspec.convert(params, kind, strict=False))  # type: ignore[no-any-return]
    except msgspec.ValidationError:
        return params  # the strict conversion reports the field


def http_routes(
    operations: list[Operation[Any]],
    guard: Guard | None = None,
    *,
    max_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
) -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    for op in operations:

        async def endpoint(request: Request, op: Operation[Any] = op) -> Response:
            try:
                data = _http_data(op, request, await read_body(request, max_bytes))
            except (ContractError, TooLarge) as exc:
                return _response(Result(refusal(exc), status_of(exc)))
            return _response(await execute(op, data, request.headers, "http", guard))

        routes.append(Route(op.path, endpoint, methods=[op.method], name=op.name))
    return routes


def _response(result: Result) -> Response:
    return Response(
        encode(result.body),
        status_code=result.status,
        media_type="application/json",
        headers={CORRELATION_HEADER: result.correlation_id} if result.correlation_id else None,
    )


# -- NATS -----------------------------------------------------------------------------------
Responder = Callable[[bytes, dict[str, str]], Any]


def nats_responders(
    operations: list[Operation[Any]],
    subject: Callable[[str], str],
    guard: Guard | None = None,
    *,
    max_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
) -> dict[str, Callable[[bytes, dict[str, str]], Any]]:
    """Request-reply handlers keyed by subject; each returns (reply bytes, headers)."""
    responders: dict[str, Callable[[bytes, dict[str, str]], Any]] = {}
    for op in operations:

        async def respond(
            raw: bytes, headers: dict[str, str], op: Operation[Any] = op
        ) -> tuple[bytes, dict[str, str]]:
            if len(raw) > max_bytes:  # refused before it is parsed (the server caps it too)
                too_large = TooLarge(max_bytes)
                result = Result(refusal(too_large), 413, correlation_from(headers))
            else:
                result = await execute(op, raw or b"{}", headers, "nats", guard)
            return encode(result.body), {
                STATUS_HEADER: str(result.status),
                CORRELATION_HEADER: result.correlation_id,
            }

        responders[subject(op.name)] = respond
    return responders


# -- documents ---------------------------------------------------------------------------------
def openapi(service: str, operations: list[Operation[Any]]) -> dict[str, Any]:
    """The service's OpenAPI 3.1 document (see ``plumbing.interface.openapi``)."""
    from plumbing.interface.openapi import document

    return document(f"Lantern {service}", service, operations)
