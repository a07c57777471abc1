"""Replies to queries and commands: the JSON every operation answers with, as msgspec Structs.

Each service's handlers build these answers from their read models; the Structs
here are their published shape (``lantern schema`` exports them, the OpenAPI and
AsyncAPI documents reference them, and the system tests validate every reply
against them).  Like events, a reply is extended compatibly with optional
fields, never changed incompatibly (``events/CHANGES.md``).

Times are RFC 3339 strings in one form (``2026-11-28T09:30:00.123456Z``, see
``events.codec.timestamp``), declared ``format: date-time``.
"""

from __future__ import annotations

import msgspec

from events.replies import access, dispatch, followup, intake, operations, records, whatif

MESSAGES: dict[str, type[msgspec.Struct]] = {
    **intake.MESSAGES,
    **dispatch.MESSAGES,
    **followup.MESSAGES,
    **records.MESSAGES,
    **access.MESSAGES,
    **operations.MESSAGES,
    **whatif.MESSAGES,
}
