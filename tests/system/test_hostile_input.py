"""Generated malformed requests against every operation of the running services, HTTP and NATS.

One stack (intake, dispatch, follow-up, records on SQLite, real NATS) serves the
whole module from a thread of its own.  For every operation, on both
interfaces, Hypothesis generates requests that cannot be valid:

* **bad UTF-8** in a field's value, or a body that is not UTF-8 JSON at all;
* **oversized**: a body over the services' limit (``max_request_bytes``);
* **wrong types**: a field given a value its type refuses;
* **unknown fields**: a key the request type does not have.

Every reply must be the refusal it deserves: 400 (413 when oversized) with a
JSON ``{"error", "field"}`` naming the field where one applies, never a 5xx.
Nothing may be stored or published: each service's store position and the
prefix's JetStream message count are the same after an operation's requests
as before.  The operations and their types come from the published contract
(each service's OpenAPI document and the subject catalogue), so a new
operation is covered without touching this file.
"""

from __future__ import annotations

import math
import string
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.codec import ContractError, convert, encode
from events.schema import CATALOGUE
from events.subjects import INTAKE, commands
from plumbing.interface.commands import STATUS_HEADER
from tests.threaded import SERVICES, ThreadedStack

pytestmark = pytest.mark.system

#: a small limit, so oversized requests are cheap to send (and fit NATS's own max_payload)
LIMIT = 16_384
#: at least this many generated requests in all, spread evenly over (operation, interface)
TOTAL = 10_000
#: a syntactically valid path value (every id in a path is a UUID, a Ref or a number)
PATH_VALUE = "00000000-0000-4000-8000-000000000001"
#: bytes that are never valid UTF-8 wherever they stand
NOT_UTF8 = [b"\xff", b"\xfe", b"\xc3", b"\x80", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80"]
#: JSON values of every shape; each field is given those its type refuses
VALUES: list[Any] = [0, -1, 1.5, True, None, "", "x", [], [1], {}, {"a": 1}, "2026-13-45"]
SENT = {"requests": 0, "pairs": 0}


@dataclass(frozen=True)
class Op:
    service: str
    name: str
    method: str
    path: str  # with a valid value for each path parameter
    path_params: tuple[str, ...]
    kind: type[Any]

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(f.encode_name for f in msgspec.structs.fields(self.kind))


def operation(service: str, name: str, document: dict[str, Any]) -> Op:
    """The operation as its service documents it, its request type from the catalogue."""
    for path, item in document["paths"].items():
        for method, entry in item.items():
            if entry.get("operationId") != name:
                continue
            params = [p for p in entry.get("parameters", []) if p["in"] == "path"]
            for param in params:
                value = "1" if param["schema"].get("type") == "integer" else PATH_VALUE
                path = path.replace("{" + param["name"] + "}", value)
            kind = CATALOGUE[commands(service)[name].request]
            names = tuple(p["name"] for p in params)
            return Op(service, name, method.upper(), path, names, kind)
    raise LookupError(f"{service} does not document {name}")


#: every operation each service answers (the catalogue), on both interfaces
PAIRS = [
    (service, name, interface)
    for service in SERVICES
    for name in sorted(commands(service))
    for interface in ("http", "nats")
]
EXAMPLES = math.ceil(TOTAL / len(PAIRS))


# -- what each operation refuses --------------------------------------------------------------
def refuses(op: Op, field: str, value: Any, *, query: bool = False) -> bool:
    """Whether ``{field: value}`` is refused naming ``field`` (not merely for what is missing)."""
    data = {field: str(value) if query else value}
    try:
        if query:  # text, as the service converts a query string
            msgspec.convert(data, op.kind, strict=False)
        else:
            convert(data, op.kind)
    except ContractError as exc:
        return _names(exc.field, field)
    except msgspec.ValidationError as exc:
        return any(f"`$.{field}{end}" in str(exc) for end in ("`", ".", "["))
    return False


def _names(reported: str | None, field: str) -> bool:
    return reported is not None and (
        reported == field or reported.startswith((f"{field}.", f"{field}["))
    )


def wrong_values(op: Op, field: str, *, query: bool) -> list[Any]:
    return [v for v in VALUES if refuses(op, field, v, query=query)]


@dataclass(frozen=True)
class Case:
    what: str
    body: bytes = b""
    query: dict[str, str] | None = None
    status: int = 400
    field: str | None = None  # the field the refusal must name (None: none applies)


def unknown_keys(op: Op) -> st.SearchStrategy[str]:
    taken = {*op.fields, *op.path_params}
    alphabet = string.ascii_letters + string.digits + "_"
    return st.text(alphabet, min_size=1, max_size=24).filter(lambda k: k not in taken)


def json_values() -> st.SearchStrategy[Any]:
    return st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
        max_leaves=5,
    )


@st.composite
def bad_utf8(draw: st.DrawFn, op: Op) -> Case:
    if draw(st.booleans()):  # a body that is not UTF-8 JSON at all
        return Case("garbage", draw(st.sampled_from(NOT_UTF8)) + draw(st.binary(max_size=64)))
    field = draw(st.sampled_from(op.fields or ("x",)))
    before, after = draw(st.text(max_size=30)), draw(st.text(max_size=10))
    bad = draw(st.sampled_from(NOT_UTF8))
    value = encode(before)[:-1] + bad + encode(after)[1:]  # JSON text, bytes spliced in
    return Case("bad UTF-8", b"{" + encode(field) + b": " + value + b"}", field=field)


@st.composite
def oversized(draw: st.DrawFn, op: Op) -> Case:
    field = draw(st.sampled_from(op.fields or ("x",)))
    size = draw(st.integers(LIMIT + 1, LIMIT + 4_096))
    padding = size - len(field) - 8
    body = b"{" + encode(field) + b': "' + b"a" * padding + b'"}'
    return Case("oversized", body, status=413, field="body")


@st.composite
def wrong_type(draw: st.DrawFn, op: Op, query: bool) -> Case:
    choices = {f: wrong_values(op, f, query=query) for f in op.fields}
    choices = {f: values for f, values in choices.items() if values}
    field = draw(st.sampled_from(sorted(choices)))
    generated = json_values().filter(lambda v: refuses(op, field, v, query=query))
    value = draw(st.sampled_from(choices[field]) | generated)
    if query:
        return Case("wrong type", query={field: str(value)}, field=field)
    return Case("wrong type", encode({field: value}), field=field)


@st.composite
def unknown_field(draw: st.DrawFn, op: Op, query: bool) -> Case:
    key = draw(unknown_keys(op))
    if query:
        return Case("unknown field", query={key: draw(st.text(max_size=20))}, field=key)
    return Case("unknown field", encode({key: draw(json_values())}), field=key)


def malformed(op: Op, interface: str) -> st.SearchStrategy[Case]:
    query = interface == "http" and op.method == "GET"  # a GET's input is its query string
    kinds = [unknown_field(op, query)]
    if any(wrong_values(op, f, query=query) for f in op.fields):
        kinds.append(wrong_type(op, query))
    if not query:
        kinds += [bad_utf8(op), oversized(op)]
    return st.one_of(kinds)


# -- the running stack -------------------------------------------------------------------------
class Stack(ThreadedStack):
    """The module's one stack, with a small request limit, sending :class:`Case` values."""

    def operation(self, service: str, name: str) -> Op:
        return operation(service, name, self.documents[service])

    def send(self, op: Op, interface: str, case: Case) -> tuple[int, Any]:
        SENT["requests"] += 1
        if interface == "http":
            url = f"{self.url(op.service)}{op.path}"
            response = self.http.request(
                op.method, url, params=case.query, content=case.body or None
            )
            return response.status_code, _json(response.content)
        subject = self.subjects.command(op.service, op.name)
        nc = self.nc
        assert nc is not None
        reply = self.run(nc.request(subject, case.body, timeout=10, headers=self.harness.headers()))
        return int((reply.headers or {})[STATUS_HEADER]), _json(reply.data)


def _json(raw: bytes) -> Any:
    try:
        return msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return raw


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = Stack(tmp_path_factory.mktemp("hostile"), max_request_bytes=LIMIT)
    try:
        running.start()
        yield running
    finally:
        running.stop()


# -- the specifications ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("service", "name", "interface"), PAIRS, ids=[f"{s}.{n}-{i}" for s, n, i in PAIRS]
)
def test_malformed_requests_are_refused_naming_the_field_and_store_nothing(
    stack: Stack, service: str, name: str, interface: str
) -> None:
    op = stack.operation(service, name)
    before = stack.settled() if SENT["pairs"] == 0 else stack.counts()

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(case=malformed(op, interface))
    def refused(case: Case) -> None:
        status, reply = stack.send(op, interface, case)

        assert status < 500, (case.what, status, reply)
        assert status == case.status, (case.what, status, reply)
        assert isinstance(reply, dict), (case.what, reply)
        assert isinstance(reply.get("error"), str), (case.what, reply)
        if case.field is not None:
            assert _names(reply.get("field"), case.field), (case.what, case.field, reply)

    refused()
    SENT["pairs"] += 1
    assert stack.counts() == before, "a refused request stored or published something"


def test_at_least_ten_thousand_malformed_requests_were_sent(stack: Stack) -> None:
    if SENT["pairs"] < len(PAIRS):
        pytest.skip("only some operations were selected")
    assert SENT["requests"] >= TOTAL


# -- single stories on the same stack ------------------------------------------------------------
SYNTHETIC_NAME = "Synthetic Rowan Example"


def report(**fields: Any) -> dict[str, Any]:
    return {
        "school_id": "s0",
        "student_ref": "stu-hostile",
        "categories": ["acute_distress"],
        "risk": "moderate",
        "reporter_id": "t-1",
        **fields,
    }


def test_a_name_in_bad_utf8_or_a_refused_value_reaches_no_log(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    op = stack.operation(INTAKE, "report_incident")
    note = encode(report(note=SYNTHETIC_NAME)).replace(
        SYNTHETIC_NAME.encode(), SYNTHETIC_NAME.encode() + b" \xff\xfe"
    )
    wrong_enum = encode(report(risk=SYNTHETIC_NAME))

    for body, field in ((note, "note"), (wrong_enum, "risk")):
        for interface in ("http", "nats"):
            status, reply = stack.send(op, interface, Case("story", body))
            assert (status, reply["field"]) == (400, field)
            assert SYNTHETIC_NAME not in reply["error"]

    assert SYNTHETIC_NAME not in caplog.text


def test_a_50_mb_body_is_refused_with_413_before_it_is_sent_whole(stack: Stack) -> None:
    """Only the headers and 1 KB of a declared 50 MB body are sent; the 413 comes anyway."""
    import socket
    from urllib.parse import urlsplit

    url = urlsplit(stack.harness.running[INTAKE].url)
    auth = stack.harness.headers()
    head = (
        "POST /incidents HTTP/1.1\r\n"
        f"Host: {url.hostname}\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in auth.items())
        + "Content-Type: application/json\r\n"
        f"Content-Length: {50 * 1024 * 1024}\r\n\r\n"
    )
    with socket.create_connection((url.hostname, url.port), timeout=10) as conn:
        conn.sendall(head.encode() + b'{"note": "' + b"a" * 1024)
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.endswith(b"}"):
            chunk = conn.recv(65_536)
            if not chunk:
                break
            answer += chunk

    head_part, _, body = answer.partition(b"\r\n\r\n")
    assert head_part.split(b" ")[1] == b"413"
    assert msgspec.json.decode(body)["field"] == "body"


def test_a_method_an_operation_does_not_take_is_a_405_in_json(stack: Stack) -> None:
    response = stack.http.request("PATCH", f"{stack.harness.running[INTAKE].url}/incidents")

    assert response.status_code == 405
    assert response.headers["content-type"] == "application/json"
    assert response.json()["field"] == "method"


def test_shredding_a_student_no_report_named_is_a_404_and_no_shredding_is_recorded(
    stack: Stack,
) -> None:
    """The attempt itself is audited, as every access to student data is; nothing is shredded."""
    from plumbing.privacy import shred_record_id

    op = stack.operation(INTAKE, "shred_student")

    for interface in ("http", "nats"):
        status, reply = stack.send(
            op, interface, Case("story", encode({"student_ref": PATH_VALUE, "reason": "over"}))
        )
        assert (status, reply["field"]) == (404, "student_ref"), reply

    intake = stack.harness.running[INTAKE].process.app
    assert not stack.run(_exists(intake, shred_record_id(PATH_VALUE)))


async def _exists(app: Any, aggregate_id: uuid.UUID) -> bool:
    return bool(app.exists(aggregate_id))


def test_a_body_disagreeing_with_the_path_is_a_400_naming_the_field(stack: Stack) -> None:
    url = f"{stack.harness.running[INTAKE].url}/students/stu-a/shred"

    response = stack.http.post(url, json={"student_ref": "stu-b", "reason": "retention"})

    assert response.status_code == 400
    assert response.json()["field"] == "student_ref"
