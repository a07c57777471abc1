"""Replies of the access operations every service serves (break-the-glass review)."""

from __future__ import annotations

import msgspec

from events.common import Time


class ReviewV1(msgspec.Struct, frozen=True, kw_only=True):
    by: str
    note: str
    at: Time


class BreakGlassAccessV1(msgspec.Struct, frozen=True, kw_only=True):
    """One break-the-glass access recorded by a service, and compliance's review of it."""

    audit_id: str
    service: str
    actor: str
    role: str
    action: str
    interface: str
    outcome: str
    reason: str
    incident_id: str | None
    student_ref: str | None
    at: Time
    reviewed: bool
    review: ReviewV1 | None


class ReviewedV1(msgspec.Struct, frozen=True, kw_only=True):
    audit_id: str
    reviewed: bool


class RefusalRecordedV1(msgspec.Struct, frozen=True, kw_only=True):
    """A refusal a client decided itself (the console's pages) is on the audit trail."""

    audit_id: str
    recorded: bool


MESSAGES: dict[str, type[msgspec.Struct]] = {
    "reply.refusal_recorded.v1": RefusalRecordedV1,
    "reply.break_glass_access.v1": BreakGlassAccessV1,
    "reply.break_glass_reviewed.v1": ReviewedV1,
}
