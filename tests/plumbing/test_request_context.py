"""A caller's correlation id and W3C trace context are honoured when well-formed, never refused."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from structlog.contextvars import get_contextvars

from plumbing.interface.commands import Context, Operation, execute
from plumbing.interface.requests import correlation_from, trace_context

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


class Ping(msgspec.Struct, frozen=True):
    pass


def seen_by_handler() -> tuple[Operation[Any], list[tuple[Context, dict[str, Any]]]]:
    seen: list[tuple[Context, dict[str, Any]]] = []

    def handle(_: Ping, ctx: Context) -> dict[str, str]:
        seen.append((ctx, dict(get_contextvars())))
        return {"ok": "yes"}

    return Operation("ping", Ping, "POST", "/ping", handle), seen


async def test_a_valid_correlation_id_and_traceparent_reach_the_handler_and_its_logs() -> None:
    op, seen = seen_by_handler()
    headers = {"x-correlation-id": "district-req-42", "traceparent": TRACEPARENT}

    result = await execute(op, b"{}", headers, "http")

    context, log_context = seen[0]
    assert result.correlation_id == "district-req-42"
    assert context.trace.correlation_id == "district-req-42"
    assert context.trace_context is not None
    assert context.trace_context.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert context.trace_context.traceparent == TRACEPARENT
    assert log_context["correlation_id"] == "district-req-42"
    assert log_context["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "has spaces in it",
        "x" * 200,
        "line\nbreak",
        "../../etc",
    ],
)
def test_a_malformed_correlation_id_is_replaced_not_refused(bad: str) -> None:
    made = correlation_from({"X-Correlation-Id": bad})
    assert made != bad
    assert len(made) == 36  # a fresh UUID


@pytest.mark.parametrize(
    "bad",
    [
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # all-zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  # all-zero parent
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # forbidden version
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",  # v00 has no more
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",  # short trace id
        "not a traceparent",
    ],
)
async def test_an_invalid_traceparent_is_ignored_and_the_request_still_served(bad: str) -> None:
    assert trace_context({"traceparent": bad}) is None
    op, seen = seen_by_handler()

    result = await execute(op, b"{}", {"traceparent": bad}, "nats")

    assert result.status == 200
    assert seen[0][0].trace_context is None
    assert "trace_id" not in seen[0][1]


def test_a_later_version_of_trace_context_is_read_for_its_known_fields() -> None:
    later = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future"
    found = trace_context({"Traceparent": later})
    assert found is not None
    assert found.parent_id == "00f067aa0ba902b7"
