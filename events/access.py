"""Access control's part of the contract: break-the-glass, its review, and crypto-shredding.

Every service serves these the same way (``<prefix>.cmd.<service>.<name>`` and
HTTP).  Audit entries themselves are ``events.audit.AuditRecordedV1``.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec

from events.common import Note, Reason, Ref, Time

Minutes = Annotated[int, msgspec.Meta(ge=1, le=60)]


class BreakGlassV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Ask for emergency access beyond one's role: a reason, at most 60 minutes, reviewed later."""

    reason: Reason
    minutes: Minutes = 30
    incident_id: UUID | None = None  # what the emergency is about, when known


class BreakGlassRecordedV1(msgspec.Struct, frozen=True, kw_only=True):
    """A grant as the service decided and recorded it, for the issuer to sign.

    ``until`` is capped by the policy's maximum and by the caller's own token;
    ``audit_id`` is the entry compliance reviews.  Services hold no signing key,
    so the grant's token comes from the issuer (``lantern break-glass`` does both).
    """

    reason: str
    until: Time
    audit_id: str


class ListBreakGlassV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Break-the-glass accesses recorded by one service (compliance's review queue)."""

    unreviewed: bool = True


class ReviewBreakGlassV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Compliance looked at one break-the-glass access and says what they found."""

    audit_id: UUID
    note: Note = ""


class ShredStudentV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A retention decision: destroy the student's data key, so their PII becomes unreadable.

    The events stay (the history and its hash chain remain verifiable); only the
    sealed fields can no longer be opened, and readers show ``[shredded]``.
    """

    student_ref: Ref
    reason: Reason


class ShowStudentV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A student's identifying details and note texts as recorded (an audited read)."""

    student_ref: Ref


class RecordRefusalV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A client refused the caller something it guards itself (a console page, say).

    Audited as a refusal of the caller (``outcome`` refused, status 403, action
    ``what``): anyone may record a refusal, but only of themselves.
    """

    what: Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:/-]+$")]
    reason: Reason
    incident_id: UUID | None = None


MESSAGES: dict[str, type[msgspec.Struct]] = {
    "command.break_glass.v1": BreakGlassV1,
    "reply.break_glass_recorded.v1": BreakGlassRecordedV1,
    "query.list_break_glass.v1": ListBreakGlassV1,
    "command.review_break_glass.v1": ReviewBreakGlassV1,
    "command.shred_student.v1": ShredStudentV1,
    "query.show_student.v1": ShowStudentV1,
    "command.record_refusal.v1": RecordRefusalV1,
}
