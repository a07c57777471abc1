"""Hostile input at the request boundary: refused as ``{error, field}``, never a 5xx, never logged.

Every operation is served by the same endpoint code over HTTP and NATS
(``plumbing.interface.commands``); these specifications drive it in-process.
The system test ``tests/system/test_hostile_input.py`` sends thousands of
generated requests to running services.
"""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
import pytest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request

from events.codec import encode
from plumbing.interface.commands import (
    Context,
    Operation,
    TooLarge,
    http_routes,
    nats_responders,
    read_body,
)
from plumbing.interface.http import refused

LIMIT = 1_000
NAME = "Synthetic Jane Roe"  # what must never reach a log


class Note(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    student_ref: str
    text: str
    kind: str = "plain"


def service(
    handle: Any = None,
) -> tuple[httpx.AsyncClient, dict[str, Any], list[Note]]:
    handled: list[Note] = []

    def record(note: Note, _: Context) -> dict[str, str]:
        handled.append(note)
        return {"student_ref": note.student_ref}

    ops: list[Operation[Any]] = [
        Operation("add_note", Note, "POST", "/students/{student_ref}/notes", handle or record),
        Operation("plain_note", Note, "POST", "/notes", handle or record),
    ]
    app = Starlette(
        routes=http_routes(ops, max_bytes=LIMIT), exception_handlers={HTTPException: refused}
    )
    responders = nats_responders(ops, lambda name: f"cmd.{name}", max_bytes=LIMIT)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://svc"), responders, handled


async def test_invalid_utf8_is_a_400_naming_the_field_and_nothing_is_handled(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client, _, handled = service()
    raw = b'{"student_ref": "stu-1", "text": "' + NAME.encode() + b' \xff\xfe"}'

    response = await client.post("/notes", content=raw)

    assert response.status_code == 400
    assert response.json() == {"error": "invalid UTF-8", "field": "text"}
    assert handled == []
    assert NAME not in caplog.text


async def test_invalid_utf8_where_a_path_parameter_is_merged_in_is_a_400_too() -> None:
    client, _, handled = service()

    response = await client.post("/students/stu-1/notes", content=b'{"text": "\xc3"}')

    assert (response.status_code, response.json()["field"]) == (400, "text")
    assert handled == []


async def test_invalid_utf8_over_nats_is_the_same_400() -> None:
    _, responders, handled = service()

    body, headers = await responders["cmd.plain_note"](b'{"student_ref": "\xff"}', {})

    assert headers["Lantern-Status"] == "400"
    assert msgspec.json.decode(body) == {"error": "invalid UTF-8", "field": "student_ref"}
    assert handled == []


async def test_a_path_value_and_a_body_value_that_disagree_are_refused_naming_the_field() -> None:
    client, _, handled = service()

    response = await client.post(
        "/students/stu-1/notes", json={"student_ref": "stu-2", "text": "x"}
    )

    assert response.status_code == 400
    assert response.json()["field"] == "student_ref"
    assert handled == []


async def test_a_body_repeating_the_path_value_is_accepted() -> None:
    client, _, handled = service()

    response = await client.post(
        "/students/stu-1/notes", json={"student_ref": "stu-1", "text": "x"}
    )

    assert response.status_code == 200
    assert [n.student_ref for n in handled] == ["stu-1"]


async def test_a_declared_length_over_the_limit_is_a_413_and_nothing_is_handled() -> None:
    client, _, handled = service()

    response = await client.post("/notes", json={"student_ref": "s", "text": "x" * (LIMIT + 1)})

    assert response.status_code == 413
    assert response.json()["field"] == "body"
    assert handled == []


async def test_a_body_over_the_limit_is_refused_before_it_is_read_whole() -> None:
    """No Content-Length (chunked): the read stops at the first chunk past the limit."""
    pulled = 0

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": b"x" * 400, "more_body": pulled < 125_000}

    scope = {"type": "http", "method": "POST", "path": "/notes", "headers": []}
    request = Request(scope, receive)

    with pytest.raises(TooLarge):
        await read_body(request, LIMIT)
    assert pulled == 3  # 1,200 bytes of a 50 MB body


async def test_a_declared_length_over_the_limit_is_refused_before_a_byte_is_read() -> None:
    async def receive() -> dict[str, Any]:
        raise AssertionError("the body was read")

    headers = [(b"content-length", b"52428800")]
    request = Request({"type": "http", "method": "POST", "headers": headers}, receive)

    with pytest.raises(TooLarge):
        await read_body(request, LIMIT)


async def test_a_nats_request_over_the_limit_is_a_413_before_it_is_parsed() -> None:
    _, responders, handled = service()

    body, headers = await responders["cmd.plain_note"](b"{" + b" " * LIMIT + b"}", {})

    assert headers["Lantern-Status"] == "413"
    assert msgspec.json.decode(body)["field"] == "body"
    assert handled == []


async def test_a_method_the_path_does_not_take_is_a_405_in_json() -> None:
    client, _, _ = service()

    response = await client.delete("/notes")

    assert response.status_code == 405
    assert response.headers["content-type"] == "application/json"
    assert response.json()["field"] == "method"
    assert "POST" in response.headers["allow"]


async def test_no_such_path_is_a_404_in_json() -> None:
    client, _, _ = service()

    response = await client.get("/no/such/thing")

    assert (response.status_code, response.json()["field"]) == (404, "path")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"student_ref": 7, "text": "x"}, "student_ref"),
        ({"student_ref": "s", "text": "x", "by": NAME}, "by"),
        ({"text": "x"}, "student_ref"),
        ([1, 2], None),
    ],
)
async def test_wrong_types_unknown_and_missing_fields_are_400s_naming_the_field(
    body: Any, field: str | None
) -> None:
    client, _, handled = service()

    response = await client.post("/notes", content=encode(body))

    assert response.status_code == 400
    assert response.json().get("field") == field
    assert handled == []


async def test_a_refused_enum_value_is_not_quoted_back() -> None:
    from events.codec import ContractError, decode
    from events.intake import ReportIncidentV1

    with pytest.raises(ContractError) as refused_risk:
        decode(b'{"risk": "' + NAME.encode() + b'"}', ReportIncidentV1)

    assert refused_risk.value.field == "risk"
    assert NAME not in str(refused_risk.value)


async def test_an_unexpected_error_is_logged_without_its_message_or_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def crash(note: Note, _: Context) -> None:
        raise ValueError(f"could not file {note.text}")

    client, _, _ = service(crash)

    response = await client.post("/notes", json={"student_ref": "s", "text": NAME})

    assert response.status_code == 500
    logged = caplog.text
    assert "unexpected error" in logged
    assert NAME not in logged
    assert "Traceback" not in logged
