"""One declaration per operation, served identically over HTTP and NATS request-reply.

A service lists its operations as :class:`Operation` values.  From that list
come its HTTP routes, its NATS request-reply responders and its OpenAPI
document, so validation, errors and access rules cannot differ between
interfaces: every request is decoded into the same msgspec Struct, and every
refusal is the contract's ``ErrorV1``.

HTTP: path parameters and (for GET) query parameters are merged into the body
before validation.  NATS: the request body is the same JSON object, sent to
``<prefix>.cmd.<service>.<name>``; the reply is the result or an ``ErrorV1``
with a ``Lantern-Status`` header carrying the HTTP-equivalent status.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import anyio
import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from structlog.contextvars import bound_contextvars

from events.codec import ContractError, convert, decode, encode
from events.common import ErrorV1
from plumbing import logs
from plumbing.access.auth import AuthError, Identity
from plumbing.access.rules import Access, Forbidden
from plumbing.domain import Conflict, DomainError, Invalid, NotFound, Trace
from plumbing.interface.requests import trace_from, utcnow
from plumbing.messaging.failures import Failure, classify, describe

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


@dataclass(frozen=True)
class Result:
    """A reply with an explicit status (201 Created, 200 for an idempotent repeat...)."""

    body: Any
    status: int = 200


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


def status_of(exc: BaseException) -> int:
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
    log.exception("unexpected error", error=describe(exc))
    return ErrorV1(error="internal error; see the service log")


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
    try:
        identity = guard.identify(headers) if guard is not None else None
        command = decode(data, op.kind) if isinstance(data, bytes) else convert(data, op.kind)
        actor = str(getattr(command, op.actor_field, "")) if op.actor_field else ""
        context = Context(
            trace=trace_from(
                headers, interface=interface, actor=actor or (identity.subject if identity else "")
            ),
            now=utcnow(),
            interface=interface,
            headers=headers,
            identity=identity,
        )
        with bound_contextvars(
            correlation_id=context.trace.correlation_id, causation_id=context.trace.causation_id
        ):
            if guard is None:
                outcome = await anyio.to_thread.run_sync(op.handle, command, context)
            else:
                outcome = await anyio.to_thread.run_sync(guard.run, op, command, context)
    except Exception as exc:  # noqa: BLE001 - every refusal becomes an ErrorV1
        return Result(refusal(exc), status_of(exc))
    return outcome if isinstance(outcome, Result) else Result(outcome)


# -- HTTP ---------------------------------------------------------------------------------
def _http_data(op: Operation[Any], request: Request, body: bytes) -> bytes | dict[str, Any]:
    params: dict[str, Any] = dict(request.path_params)
    if op.method == "GET":
        params.update(request.query_params)
        return _loosely(params, op.kind)
    if not params:
        return body or b"{}"
    try:
        parsed = msgspec.json.decode(body or b"{}")
    except msgspec.DecodeError as exc:
        raise ContractError(f"malformed JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise ContractError("expected a JSON object")
    parsed.update(params)
    return parsed


def _loosely(params: dict[str, Any], kind: type[Any]) -> dict[str, Any]:
    """Query strings are text: let msgspec coerce "3" to 3 and "true" to True."""
    try:
        return msgspec.to_builtins(msgspec.convert(params, kind, strict=False))  # type: ignore[no-any-return]
    except msgspec.ValidationError:
        return params  # the strict conversion reports the field


def http_routes(operations: list[Operation[Any]], guard: Guard | None = None) -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    for op in operations:

        async def endpoint(request: Request, op: Operation[Any] = op) -> Response:
            try:
                data = _http_data(op, request, await request.body())
            except ContractError as exc:
                return _response(Result(refusal(exc), 400))
            return _response(await execute(op, data, request.headers, "http", guard))

        routes.append(Route(op.path, endpoint, methods=[op.method], name=op.name))
    return routes


def _response(result: Result) -> Response:
    return Response(encode(result.body), status_code=result.status, media_type="application/json")


# -- NATS -----------------------------------------------------------------------------------
Responder = Callable[[bytes, dict[str, str]], Any]


def nats_responders(
    operations: list[Operation[Any]], subject: Callable[[str], str], guard: Guard | None = None
) -> dict[str, Callable[[bytes, dict[str, str]], Any]]:
    """Request-reply handlers keyed by subject; each returns (reply bytes, headers)."""
    responders: dict[str, Callable[[bytes, dict[str, str]], Any]] = {}
    for op in operations:

        async def respond(
            raw: bytes, headers: dict[str, str], op: Operation[Any] = op
        ) -> tuple[bytes, dict[str, str]]:
            result = await execute(op, raw or b"{}", headers, "nats", guard)
            return encode(result.body), {STATUS_HEADER: str(result.status)}

        responders[subject(op.name)] = respond
    return responders


# -- OpenAPI ----------------------------------------------------------------------------------
def openapi(title: str, operations: list[Operation[Any]]) -> dict[str, Any]:
    """An OpenAPI 3.1 document generated from the operations' msgspec types."""
    kinds = [op.kind for op in operations] + [op.returns for op in operations if op.returns]
    kinds.append(ErrorV1)
    (schemas, components) = msgspec.json.schema_components(
        kinds, ref_template="#/components/schemas/{name}"
    )
    by_kind = dict(zip(kinds, schemas, strict=True))
    paths: dict[str, Any] = {}
    error = {"content": {"application/json": {"schema": by_kind[ErrorV1]}}}
    for op in operations:
        entry: dict[str, Any] = {
            "operationId": op.name,
            "summary": op.summary or op.name.replace("_", " "),
            "responses": {
                "200": {"description": "OK"},
                "400": {"description": "Bad input (names the field)", **error},
                "401": {"description": "No valid bearer token", **error},
                "403": {"description": "Not allowed (audited as refused)", **error},
                "404": {"description": "Not found", **error},
                "409": {"description": "State conflict", **error},
                "422": {"description": "Unacceptable value", **error},
            },
        }
        if op.returns is not None:
            entry["responses"]["200"]["content"] = {
                "application/json": {"schema": by_kind[op.returns]}
            }
        if op.method == "GET":
            entry["parameters"] = [
                {
                    "name": f,
                    "in": "path" if "{" + f + "}" in documented(op.path) else "query",
                    "required": "{" + f + "}" in documented(op.path),
                    "schema": {"type": "string"},
                }
                for f in getattr(op.kind, "__struct_fields__", ())
            ]
        else:
            entry["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": by_kind[op.kind]}},
            }
        paths.setdefault(documented(op.path), {})[op.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1"},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }


def documented(path: str) -> str:
    """A route path as OpenAPI writes it: Starlette's converters (``{seq:int}``) dropped."""
    return re.sub(r"{(\w+):\w+}", r"{\1}", path)


def openapi_route(title: str, operations: list[Operation[Any]]) -> BaseRoute:
    document = encode(openapi(title, operations))

    async def endpoint(_: Request) -> Response:
        return Response(document, media_type="application/json")

    return Route("/openapi.json", endpoint, methods=["GET"])
