"""Who is asking, and in which conversation: derived the same way for HTTP and NATS requests."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from uuid import uuid4

from plumbing.domain import Trace

CORRELATION_HEADER = "X-Correlation-Id"
ACTOR_HEADER = "X-Lantern-Actor"


def trace_from(headers: Mapping[str, str], *, interface: str, actor: str = "") -> Trace:
    """A trace for a command arriving from outside: a new causation id per request."""
    lowered = {k.lower(): v for k, v in headers.items()}
    return Trace(
        actor=actor or lowered.get(ACTOR_HEADER.lower(), "") or "anonymous",
        correlation_id=lowered.get(CORRELATION_HEADER.lower(), "") or str(uuid4()),
        causation_id=f"{interface}:{uuid4()}",
    )


def utcnow() -> datetime:
    return datetime.now(UTC)
