"""Who is asking, and in which conversation: derived the same way for HTTP and NATS requests.

A caller may name the conversation (``X-Correlation-Id``) and the trace it belongs
to (W3C ``traceparent``).  Both are honoured when they are well-formed, so a
district's own tracing follows a report through Lantern: the correlation id goes
on every event the request causes, and both are bound to every log line written
while it is served.  A malformed value is ignored (a new correlation id is made;
no trace context is carried), as the W3C recommendation asks, rather than refused:
tracing must never turn a report away.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import uuid4

from plumbing.domain import Trace

CORRELATION_HEADER = "X-Correlation-Id"
TRACEPARENT_HEADER = "traceparent"
ACTOR_HEADER = "X-Lantern-Actor"

#: What a caller's correlation id may look like (it lands in events, headers and logs).
_CORRELATION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/=+-]{0,127}$")
#: W3C Trace Context, version 00 layout (later versions extend it after these fields).
_TRACEPARENT = re.compile(
    r"^(?P<version>[0-9a-f]{2})-(?P<trace_id>[0-9a-f]{32})-(?P<parent_id>[0-9a-f]{16})"
    r"-(?P<flags>[0-9a-f]{2})(?P<rest>-.*)?$"
)


@dataclass(frozen=True)
class TraceContext:
    """A caller's W3C trace context (``traceparent``), already checked."""

    traceparent: str
    trace_id: str
    parent_id: str


def _lowered(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def correlation_from(headers: Mapping[str, str]) -> str:
    """The caller's correlation id when it is well-formed, else a new one."""
    given = _lowered(headers).get(CORRELATION_HEADER.lower(), "").strip()
    return given if _CORRELATION.match(given) else str(uuid4())


def trace_context(headers: Mapping[str, str]) -> TraceContext | None:
    """The caller's ``traceparent``, or None when there is none or it is invalid."""
    value = _lowered(headers).get(TRACEPARENT_HEADER, "").strip().lower()
    found = _TRACEPARENT.match(value)
    if found is None:
        return None
    version, trace_id, parent_id = found["version"], found["trace_id"], found["parent_id"]
    if version == "ff" or (version == "00" and found["rest"]):
        return None
    if trace_id == "0" * 32 or parent_id == "0" * 16:
        return None
    return TraceContext(traceparent=value, trace_id=trace_id, parent_id=parent_id)


def trace_from(
    headers: Mapping[str, str], *, interface: str, actor: str = "", correlation_id: str = ""
) -> Trace:
    """A trace for a command arriving from outside: a new causation id per request."""
    return Trace(
        actor=actor or _lowered(headers).get(ACTOR_HEADER.lower(), "") or "anonymous",
        correlation_id=correlation_id or correlation_from(headers),
        causation_id=f"{interface}:{uuid4()}",
    )


def utcnow() -> datetime:
    return datetime.now(UTC)
