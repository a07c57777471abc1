"""The published documents: every subject in the catalogue, valid AsyncAPI 3 and OpenAPI 3.1.

An integrator writes a client from ``/asyncapi.json`` and ``/openapi.json`` alone,
so these must be complete (every operation, every event, every status a reply
can have) and valid for the tools they will use: the official AsyncAPI parser
and openapi-spec-validator.
"""

from __future__ import annotations

import asyncio
import json
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from openapi_spec_validator import validate

from events import asyncapi, schema
from events.subjects import (
    COMMANDS,
    CONSUMERS,
    EVENTS,
    INBOX,
    SERVICES,
    SHARED_COMMANDS,
    STORES,
    Subjects,
    commands,
)
from lantern.services import builder
from plumbing.access import keys
from plumbing.interface import openapi
from plumbing.interface.process import ServiceProcess
from plumbing.settings import Settings
from tests.js import node
from tests.lantern_cli import lantern

pytestmark = pytest.mark.contract


@pytest.fixture(scope="module")
def processes() -> Iterator[dict[str, ServiceProcess]]:
    """Every service's composition root, on a memory store (nothing runs)."""
    with tempfile.TemporaryDirectory() as scratch:
        built = {
            name: builder(name)(
                Settings(
                    service=name,
                    data_dir=Path(scratch),
                    store="memory",
                    jwks=str(keys.dev_keys(Path(scratch))[1]),
                    dev_mode=True,
                )
            )
            for name in STORES  # the services with an API (the console is a web app)
        }
        yield built
        for process in built.values():
            process.app.close()


def http_operations(process: ServiceProcess) -> dict[str, str]:
    """operation name -> HTTP method, from the routes the process serves."""
    out = {}
    for route in process.routes:
        methods = getattr(route, "methods", None)
        name = getattr(route, "name", "")
        if methods and name and not name.startswith(("openapi", "asyncapi", "docs")):
            out[name] = sorted(methods - {"HEAD"})[0]
    return out


def get(process: ServiceProcess, path: str) -> httpx.Response:
    """One GET against the process's ASGI app, in memory (nothing listens)."""

    async def fetch() -> httpx.Response:
        transport = httpx.ASGITransport(app=process.asgi())
        async with httpx.AsyncClient(transport=transport, base_url="http://lantern") as client:
            return await client.get(path)

    return asyncio.run(fetch())


def document_of(process: ServiceProcess, path: str) -> dict[str, Any]:
    response = get(process, path)
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


# -- the catalogue ---------------------------------------------------------------------------------
def test_every_operation_each_service_serves_is_in_the_catalogue_and_nothing_else(
    processes: dict[str, ServiceProcess],
) -> None:
    for name, process in processes.items():
        served = set(http_operations(process))
        not_operations = {n for n in served if n.startswith(("calendar", "metrics"))}
        assert served - not_operations == set(commands(name)), name
        assert set(COMMANDS[name]) | set(SHARED_COMMANDS) <= set(commands(name))


def test_each_operation_takes_the_request_type_the_catalogue_names(
    processes: dict[str, ServiceProcess],
) -> None:
    for name, process in processes.items():
        document = document_of(process, "/openapi.json")
        for path_item in document["paths"].values():
            for operation in path_item.values():
                command = openapi.command_of(name, operation["operationId"])
                if command is None:
                    continue
                assert command.request in schema.CATALOGUE
                assert command.reply.removesuffix("[]") in schema.CATALOGUE


def test_every_event_subject_of_the_catalogue_names_a_published_message() -> None:
    subjects = Subjects("lantern")
    for service, events in EVENTS.items():
        for token, tag in events.items():
            assert tag in schema.CATALOGUE
            assert subjects.event(service, token).startswith(
                subjects.stream_subjects(service).removesuffix(">")
            )
    # the named properties the services publish with are all catalogued
    named = {
        value
        for attr in dir(Subjects)
        if isinstance(getattr(Subjects, attr), property)
        and isinstance(value := getattr(subjects, attr), str)
        and ".evt." in value
    }
    catalogued = {subjects.event(s, t) for s, events in EVENTS.items() for t in events}
    assert named <= catalogued
    assert set(INBOX) <= set(SERVICES)


# -- AsyncAPI -------------------------------------------------------------------------------
def test_the_asyncapi_document_is_valid_for_the_official_parser(tmp_path: Path) -> None:
    path = tmp_path / "asyncapi.json"
    path.write_text(json.dumps(asyncapi.document()))

    result = node.run("validate-asyncapi.mjs", str(path))

    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(result.stdout)
    assert summary["valid"]
    assert summary["errors"] == summary["warnings"] == []
    assert summary["operations"] == len(asyncapi.document()["operations"])


def test_the_asyncapi_parser_check_can_fail(tmp_path: Path) -> None:
    broken = asyncapi.document()
    broken["operations"]["intake.report_incident"]["action"] = "publish"  # AsyncAPI 2 word
    path = tmp_path / "asyncapi.json"
    path.write_text(json.dumps(broken))

    result = node.run("validate-asyncapi.mjs", str(path))

    assert result.returncode == 1
    assert "/operations/intake.report_incident/action" in result.stdout


def test_the_asyncapi_document_has_a_channel_for_every_subject_in_the_catalogue() -> None:
    document = asyncapi.document()
    addresses = {c["address"] for c in document["channels"].values() if c["address"]}
    s = Subjects("lantern")

    def address(subject: str) -> str:
        tokens = subject.replace("lantern", "{prefix}", 1).split(".")
        if tokens[1] in ("evt", "audit") and tokens[3] == "*":
            tokens[3] = "{partition}"
        return ".".join(tokens)

    expected = {address(s.command(svc, op)) for svc in STORES for op in commands(svc)}
    expected |= {address(s.event(svc, t)) for svc, events in EVENTS.items() for t in events}
    expected |= {address(s.audit(svc)) for svc in SERVICES}
    expected |= {address(s.inbox(svc, "{person}")) for svc in INBOX}
    expected |= {address(s.dlq(svc, "{consumer}")) for svc in CONSUMERS}
    expected |= {address(s.checkpoint("{store}"))}

    assert addresses == expected
    assert "{prefix}.evt.intake.{partition}.incident_reported" in addresses
    for channel in document["channels"].values():
        for parameter in re.findall(r"{(\w+)}", channel["address"] or ""):
            assert parameter in channel["parameters"]


def test_every_request_reply_operation_documents_its_reply_error_and_status_header() -> None:
    document = asyncapi.document()
    receives = [o for o in document["operations"].values() if o["action"] == "receive"]
    assert len(receives) == sum(len(commands(service)) for service in STORES)
    for operation in receives:
        reply_channel = operation["reply"]["channel"]["$ref"].rsplit("/", 1)[-1]
        messages = document["channels"][reply_channel]["messages"]
        assert set(messages) == {"reply", "error"}
    headers = document["components"]["schemas"]["ReplyHeaders"]
    assert headers["required"] == ["Lantern-Status"]


def test_lantern_docs_prints_the_served_documents(
    tmp_path: Path, processes: dict[str, ServiceProcess]
) -> None:
    printed = lantern(tmp_path, "docs", "asyncapi")
    assert printed.returncode == 0, printed.stderr
    assert json.loads(printed.stdout) == document_of(processes["intake"], "/asyncapi.json")

    printed = lantern(tmp_path, "docs", "openapi", "dispatch")
    assert printed.returncode == 0, printed.stderr
    assert json.loads(printed.stdout) == document_of(processes["dispatch"], "/openapi.json")


# -- OpenAPI --------------------------------------------------------------------------------
def test_every_service_serves_a_valid_openapi_3_1_document(
    processes: dict[str, ServiceProcess],
) -> None:
    for name, process in processes.items():
        document = document_of(process, "/openapi.json")
        assert document["openapi"] == "3.1.0", name
        validate(document)  # raises on any violation: undeclared path parameters included


def test_every_operation_has_its_path_parameters_success_statuses_and_reply_schema(
    processes: dict[str, ServiceProcess],
) -> None:
    for name, process in processes.items():
        document = document_of(process, "/openapi.json")
        for path, item in document["paths"].items():
            for operation in item.values():
                declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
                assert declared == set(re.findall(r"{(\w+)}", path)), (name, path)
                command = openapi.command_of(name, operation["operationId"])
                if command is None:
                    continue
                for status in command.statuses:
                    content = operation["responses"][str(status)]["content"]
                    assert "schema" in content["application/json"], (path, status)
                for code in ("400", "401", "403", "404", "409", "422", "500"):
                    assert code in operation["responses"], (path, code)


def test_creates_document_201_and_a_repeated_report_200() -> None:
    assert COMMANDS["intake"]["report_incident"].statuses == (201, 200)
    created = {op for ops in COMMANDS.values() for op, c in ops.items() if 201 in c.statuses}
    assert {"add_school", "add_responder", "import_roster", "add_resource"} <= created


def test_the_docs_page_and_its_assets_are_served_by_lantern_itself(
    processes: dict[str, ServiceProcess],
) -> None:
    page = get(processes["intake"], "/docs")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources, page.text
    for source in sources:
        assert not source.startswith(("http:", "https:", "//")), source
        assert get(processes["intake"], f"/{source}").status_code == 200, source


# -- timestamps ------------------------------------------------------------------------------------
def _time_fields(node_: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(node_, dict):
        for key, value in node_.get("properties", {}).items():
            if key == "at" or key.endswith(("_at", "_until")) or key in ("until", "as_of"):
                yield f"{path}.{key}", value
        for key, value in node_.items():
            yield from _time_fields(value, f"{path}/{key}")
    elif isinstance(node_, list):
        for value in node_:
            yield from _time_fields(value, path)


def test_every_time_in_the_contract_is_declared_as_an_rfc3339_date_time() -> None:
    found = 0
    for name, kind in schema.CATALOGUE.items():
        _, components = msgspec.json.schema_components([kind])
        for where, field in _time_fields(components):
            options = field.get("anyOf", [field])
            formats = {o.get("format") for o in options if o.get("type") == "string"}
            assert formats == {"date-time"}, f"{name}{where}: {field}"
            found += 1
    assert found > 50


# -- the change log ------------------------------------------------------------------------------
CHANGES = Path(__file__).resolve().parents[2] / "events" / "CHANGES.md"


def test_the_change_log_is_in_date_order_and_names_only_current_subjects() -> None:
    text = CHANGES.read_text()
    dates = re.findall(r"^## (\d{4}-\d{2}-\d{2})", text, flags=re.M)
    assert dates == sorted(dates)
    current = {
        "<prefix>.evt.<service>.p<N>.<event>",
        "<prefix>.evt.followup.p<N>.*",
        "<prefix>.audit.<service>.p<N>",
        "<prefix>.inbox.<service>.<person>",
        "<prefix>.inbox.*.<person>",
        "<prefix>.inbox.dispatch.<person>",
        "<prefix>.inbox.followup.<person>",
        "<prefix>.cmd.<service>.<name>",
        "<prefix>.cmd.records.<name>",
        "<prefix>.cmd.followup.<name>",
        "<prefix>.integrity.<store>",
        "<prefix>.dlq.<service>.<consumer>",
    }
    s = Subjects("prefix")
    words = ("prefix", "service", "person", "consumer", "store", "name", "event")

    def written(subject: str) -> str:
        tokens = [
            "p<N>" if t == "p0" else f"<{t}>" if t in words else t for t in subject.split(".")
        ]
        return ".".join(tokens)

    for subject in (
        s.event("service", "event", 0),
        s.audit("service", 0),
        s.inbox("service", "person"),
        s.command("service", "name"),
        s.checkpoint("store"),
        s.dlq("service", "consumer"),
    ):
        assert written(subject) in current, subject
    for entry in re.split(r"^## ", text, flags=re.M)[1:]:
        if "moved" in entry.splitlines()[0]:
            continue  # an entry that says what moved, from where
        for subject in re.findall(r"`(<prefix>\.[^`]*)`", entry):
            assert any(_matches(subject, c) for c in current), f"{entry.splitlines()[0]}: {subject}"


def _matches(subject: str, pattern: str) -> bool:
    """A subject as written in the log fits a current layout (``<x>`` is any one token)."""
    tokens = [re.escape(t) if not t.startswith("<") else r"[^.]+" for t in pattern.split(".")]
    return re.fullmatch(r"\.".join(tokens), subject) is not None
