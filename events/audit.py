"""The audit trail's part of the contract: who did or read what, when, why, and how.

Every service records one audit entry per command and per read of student
data, in its own store, and publishes it here.  The records service builds the
audit history, exports and the FERPA record of disclosures from these.
"""

from __future__ import annotations

import msgspec

from events.common import Time


class AuditRecordedV1(msgspec.Struct, frozen=True, kw_only=True, tag="audit.recorded.v1"):
    """One access: a command or a read, allowed or refused."""

    audit_id: str
    service: str
    actor: str
    role: str
    action: str  # the operation name, e.g. "show_incident", "acknowledge_dispatch"
    kind: str  # command | read
    interface: str  # http | nats | cli
    outcome: str  # allowed | refused
    status: int
    purpose: str = ""
    incident_id: str | None = None
    student_ref: str | None = None
    school_id: str | None = None
    break_glass: bool = False
    break_glass_reason: str = ""
    at: Time
    # Added compatibly: an entry may stand for ``count`` identical reads by the same
    # identity, the first at ``at`` and the last at ``last_at`` (a polling dashboard).
    count: int = 1
    last_at: Time | None = None


MESSAGES: dict[str, type[msgspec.Struct]] = {"audit.recorded.v1": AuditRecordedV1}
