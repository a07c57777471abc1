"""Every reply a test receives is checked against the schema the system publishes for it.

HTTP replies are matched to their operation in the service's own ``/openapi.json``
(method and path template): the status must be one the document declares, and
the body must validate against that status's schema.  NATS replies are checked
the same way against the catalogue (``events.subjects``), which the AsyncAPI
document is generated from, with the status from the ``Lantern-Status`` header.

The check is stricter than the documents: an object built from a Struct may
not carry a field its schema does not name, so a reply cannot grow an
undocumented field without a test failing.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from functools import cache
from typing import Any

import msgspec
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from events.schema import CATALOGUE
from events.subjects import ERROR_MESSAGE, commands

STATUS_HEADER = "Lantern-Status"


def _strict(schema: Any) -> Any:
    """Close every object schema that lists its properties (a copy; the document is untouched)."""
    if isinstance(schema, dict):
        out = {k: _strict(v) for k, v in schema.items()}
        if out.get("type") == "object" and "properties" in out:
            out.setdefault("additionalProperties", False)
        return out
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


class OpenApiReplies:
    """The reply schemas of one service's OpenAPI document, by method and path."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = _strict(copy.deepcopy(dict(document)))
        self.registry: Registry[Any] = Registry().with_resource(
            "urn:openapi", DRAFT202012.create_resource(self.document)
        )
        self.routes: list[tuple[str, re.Pattern[str], dict[str, Any]]] = []
        for path, item in self.document["paths"].items():
            pattern = re.compile("^" + re.sub(r"{[^}]+}", "[^/]+", path) + "$")
            for method, operation in item.items():
                self.routes.append((method.upper(), pattern, operation))

    def operation(self, method: str, path: str) -> dict[str, Any]:
        bare = path.split("?", 1)[0]
        for m, pattern, operation in self.routes:
            if m == method.upper() and pattern.match(bare):
                return operation
        raise AssertionError(f"{method} {bare} is not in the OpenAPI document")

    def check(self, method: str, path: str, status: int, body: Any) -> None:
        operation = self.operation(method, path)
        responses = operation["responses"]
        where = f"{method} {path} ({operation['operationId']})"
        assert str(status) in responses, f"{where} answered {status}, not documented"
        content = responses[str(status)].get("content", {}).get("application/json")
        if content is None:
            return
        schema = {**content["schema"], "$id": "urn:reply"}
        schema = _rebase(schema)
        validator = Draft202012Validator(schema, registry=self.registry)
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
        assert not errors, f"{where} {status} reply does not fit its schema: " + "; ".join(
            f"{'/'.join(map(str, e.path))}: {e.message[:300]}" for e in errors[:5]
        )


def _rebase(schema: Any) -> Any:
    """Point the document's local references at the registered document."""
    if isinstance(schema, dict):
        return {
            k: (f"urn:openapi{v}" if k == "$ref" and v.startswith("#/") else _rebase(v))
            for k, v in schema.items()
        }
    if isinstance(schema, list):
        return [_rebase(v) for v in schema]
    return schema


@cache
def _message_schema(tag: str) -> dict[str, Any]:
    kind = CATALOGUE[tag.removesuffix("[]")]
    (one,), components = msgspec.json.schema_components([kind], ref_template="#/$defs/{name}")
    schema: dict[str, Any] = {"type": "array", "items": one} if tag.endswith("[]") else one
    strict: dict[str, Any] = _strict({**schema, "$defs": components})
    return strict


def check_nats_reply(service: str, operation: str, headers: Mapping[str, str], body: Any) -> int:
    """Check one NATS reply against the catalogue; returns its status."""
    command = commands(service).get(operation)
    assert command is not None, f"{service}.{operation} is not in the catalogue"
    assert STATUS_HEADER in headers, f"{service}.{operation} reply has no {STATUS_HEADER}"
    status = int(headers[STATUS_HEADER])
    if 200 <= status < 300:
        assert status in command.statuses, f"{service}.{operation} answered {status}"
        tag = command.reply
    else:
        tag = ERROR_MESSAGE
    errors = list(Draft202012Validator(_message_schema(tag)).iter_errors(body))
    assert not errors, f"{service}.{operation} {status} reply does not fit {tag}: " + "; ".join(
        f"{'/'.join(map(str, e.path))}: {e.message[:300]}" for e in errors[:5]
    )
    return status
