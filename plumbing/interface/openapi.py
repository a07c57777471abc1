"""The OpenAPI 3.1 document of one service, generated from its operations and the catalogue.

Every operation's request type comes from its declaration (``Operation.kind``),
its reply type and success statuses from the subject catalogue
(``events.subjects.COMMANDS``), which also drives the AsyncAPI document, so
both documents describe the same replies.  Path parameters are declared with
their types and left out of the request body; every error status the
interfaces produce is listed with ``reply.error.v1``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from events.asyncapi import CORRELATION, PURPOSE, STATUS, TRACEPARENT
from events.common import ErrorV1
from events.schema import CATALOGUE
from events.subjects import Command, commands

if TYPE_CHECKING:
    from plumbing.interface.commands import Operation

#: a path parameter, with or without a Starlette converter (``{seq:int}``)
_PATH_PARAM = re.compile(r"{(\w+)(?::\w+)?}")

#: Every refusal status, and what it means (each with ``reply.error.v1``).
ERRORS: dict[str, str] = {
    "400": "Bad input: malformed JSON or a field that does not fit (named in `field`)",
    "401": "No valid bearer token",
    "403": "Not allowed (audited as refused)",
    "404": "Not found (`field` names what pointed at nothing)",
    "409": "The state does not allow it (already acknowledged, moved on, ...)",
    "413": "The request body is over the service's limit (refused before it is read whole)",
    "422": "Well-formed but not acceptable (an unknown school, an interval that ends first)",
    "500": "Internal error; the service log has the details",
}


def command_of(service: str, name: str) -> Command | None:
    """The catalogue entry of one of ``service``'s operations (None: not catalogued)."""
    return commands(service).get(name)


def documented(path: str) -> str:
    """A route path as OpenAPI writes it: Starlette's converters (``{seq:int}``) dropped."""
    return _PATH_PARAM.sub(r"{\1}", path)


def reply_schema(tag: str) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{CATALOGUE[tag.removesuffix('[]')].__name__}"}
    return {"type": "array", "items": ref} if tag.endswith("[]") else ref


def _json(schema: Mapping[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": dict(schema)}}


def _without(schema: dict[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """A request body schema without the fields that travel in the path."""
    dropped = set(fields)
    body = dict(schema)
    body["properties"] = {k: v for k, v in schema.get("properties", {}).items() if k not in dropped}
    if "required" in schema:
        body["required"] = [r for r in schema["required"] if r not in dropped]
    body.pop("title", None)
    return body


def _parameters(op: Operation[Any], schema: Mapping[str, Any]) -> list[dict[str, Any]]:
    in_path = _PATH_PARAM.findall(op.path)
    properties: Mapping[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", ()))
    out = [
        {"name": name, "in": "path", "required": True, "schema": properties.get(name, {})}
        for name in in_path
    ]
    if op.method == "GET":
        out += [
            {
                "name": name,
                "in": "query",
                "required": name in required,
                "schema": prop,
                **({"description": prop["description"]} if "description" in prop else {}),
            }
            for name, prop in properties.items()
            if name not in in_path
        ]
    return out


def document(
    title: str,
    service: str,
    operations: list[Operation[Any]],
    *,
    extra_paths: Mapping[str, Any] | None = None,
    extra_schemas: Iterable[type[Any]] = (),
) -> dict[str, Any]:
    """An OpenAPI 3.1 document: one path item per operation, plus ``extra_paths`` as given."""
    catalogued = {op.name: command_of(service, op.name) for op in operations}
    missing = [name for name, command in catalogued.items() if command is None]
    if missing:
        raise LookupError(f"operations not in the subject catalogue: {missing}")
    replies = {CATALOGUE[c.reply.removesuffix("[]")] for c in catalogued.values() if c}
    kinds = [*{op.kind for op in operations}, *replies, ErrorV1, *extra_schemas]
    kinds = list(dict.fromkeys(kinds))
    schemas, components = msgspec.json.schema_components(
        kinds, ref_template="#/components/schemas/{name}"
    )
    error = {"content": _json({"$ref": "#/components/schemas/ErrorV1"})}
    correlation = {
        CORRELATION: {
            "description": "The request's correlation id (yours, or a new one)",
            "schema": {"type": "string"},
        }
    }
    paths: dict[str, Any] = {}
    for op in operations:
        command = catalogued[op.name]
        assert command is not None
        kind_schema = components[op.kind.__name__]
        responses: dict[str, Any] = {
            str(status): {
                "description": "Created" if status == 201 else "OK",
                "headers": correlation,
                "content": _json(reply_schema(command.reply)),
            }
            for status in command.statuses
        }
        responses.update(
            {
                code: {"description": text, "headers": correlation, **error}
                for code, text in ERRORS.items()
            }
        )
        entry: dict[str, Any] = {
            "operationId": op.name,
            "summary": op.summary or op.name.replace("_", " "),
            "description": (
                f"Request `{command.request}`, reply `{command.reply}`. The same operation "
                f"answers on NATS at `<prefix>.cmd.{service}.{op.name}`."
            ),
            "tags": [service],
            "responses": responses,
        }
        parameters = _parameters(op, kind_schema)
        if parameters:
            entry["parameters"] = parameters
        if op.method != "GET":
            body = _without(kind_schema, _PATH_PARAM.findall(op.path))
            entry["requestBody"] = {"required": True, "content": _json(body)}
        paths.setdefault(documented(op.path), {})[op.method.lower()] = entry
    for path, item in (extra_paths or {}).items():
        paths.setdefault(path, {}).update(item)
    del schemas
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": "1",
            "description": (
                "Every operation needs `Authorization: Bearer <token>`. Refusals are "
                "`reply.error.v1` (`{error, field}`) with the status listed. Optional request "
                f"headers: `{PURPOSE}` (the audited purpose), `{CORRELATION}` and "
                f"`{TRACEPARENT}` (carried on to every event the request causes). Times are "
                "RFC 3339 (`2026-11-28T09:30:00Z`). Over NATS the status travels in the "
                f"`{STATUS}` reply header (see `/asyncapi.json`)."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }
