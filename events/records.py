"""The records service's part of the contract: queries, their replies, and integrity anchors.

Records reads every service's stream and answers the questions that look back:
an incident's timeline and its state at a past instant, response measures,
the audit history, and a student's record of disclosures (34 CFR 99.32).  It
publishes no integration events of its own.

``IntegrityCheckpointV1`` is the anchor of a store's hash chain: every service
publishes one, HMAC-signed, to a stream that denies delete and purge, so that
cutting the newest records off a store (and off its chain table) is detected.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec

from events.common import Time

AwareTime = Time
Position = Annotated[int, msgspec.Meta(ge=0)]
Filter = Annotated[str, msgspec.Meta(max_length=64)]

# -- queries ---------------------------------------------------------------------------------


class ShowTimelineV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An incident's merged timeline; with ``as_of`` also its state at that instant.

    ``as_of``: only what was recorded by then, and the state as it was known then
    (``state``) and as it is now known to have been true then (``true_state``).
    ``position``: the state after the first N entries (stepping, event by event).
    """

    incident_id: UUID
    as_of: AwareTime | None = None
    position: Position | None = None
    access: bool = False  # also list the audited reads of the incident


class ReplayIncidentV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Every step of an incident's history: each entry with the state right after it."""

    incident_id: UUID
    view: Annotated[str, msgspec.Meta(pattern="^(known|true)$")] = "known"


class ShowResponseMeasuresV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Response times and escalations, per incident and summarised by school/responder/period.

    ``period`` is a month, ``YYYY-MM`` (by the report's time).
    """

    incident_id: UUID | None = None
    school_id: Filter | None = None
    responder_id: Filter | None = None
    period: Annotated[str, msgspec.Meta(pattern=r"^\d{4}-\d{2}$")] | None = None


class ListAuditV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Audit history (commands and reads of student data), oldest first, filtered."""

    since: AwareTime | None = None
    until: AwareTime | None = None
    school_id: Filter | None = None
    student_ref: Filter | None = None
    incident_id: Filter | None = None
    actor: Filter | None = None
    action: Filter | None = None
    kind: Annotated[str, msgspec.Meta(pattern="^(command|read)$")] | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 100_000


class ShowDisclosuresV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A student's record of disclosures and requests for access (34 CFR 99.32)."""

    student_ref: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


# -- replies ---------------------------------------------------------------------------------


class TimelineEntryV1(msgspec.Struct, frozen=True, kw_only=True):
    """One thing that happened to an incident, with who, when and why.

    ``at`` is when it happened (the event's own time); ``effective_at`` differs
    only for corrections (since when the corrected value was true);
    ``recorded_at`` is when the source service stored it.  ``event_id`` is the
    message id (``service/aggregate/version``); ``causation_id`` the id of what
    caused it (a message id, or ``http:…``/``nats:…`` for a person's request).
    """

    position: int  # 1-based place in the incident's timeline
    event_id: str
    type: str
    summary: str
    service: str
    at: Time
    effective_at: Time
    recorded_at: Time | None
    actor: str
    role: str
    causation_id: str
    correlation_id: str
    data: dict[str, Any] = {}
    kind: str = "event"  # event | access (an audited read, with ``access=true``)


class TimelineV1(msgspec.Struct, frozen=True, kw_only=True):
    incident_id: UUID
    entries: list[TimelineEntryV1]
    as_of: Time | None = None
    position: int | None = None
    state: dict[str, Any] | None = None
    true_state: dict[str, Any] | None = None


class ReplayStepV1(msgspec.Struct, frozen=True, kw_only=True):
    entry: TimelineEntryV1
    state: dict[str, Any]


class ReplayV1(msgspec.Struct, frozen=True, kw_only=True):
    incident_id: UUID
    view: str
    steps: list[ReplayStepV1]


class DisclosureEntryV1(msgspec.Struct, frozen=True, kw_only=True):
    """One line of the record of disclosures: a disclosure, or a request for access.

    ``party`` and ``purpose`` are the party and their legitimate interest;
    ``threat`` and ``recipients`` are required for the health-or-safety
    emergency exception (34 CFR 99.36).
    """

    kind: str  # disclosure | access_request
    at: Time
    party: str
    purpose: str
    legal_basis: str
    threat: str = ""
    recipients: list[str] = []
    consent_id: str | None = None
    incident_id: str | None = None
    school_id: str | None = None
    by: str = ""
    role: str = ""
    interface: str = ""
    outcome: str = ""
    source_id: str = ""  # the disclosure id or the audit id it comes from
    missing: list[str] = []  # required fields this line lacks (empty when complete)
    # Added compatibly: a line may stand for ``count`` identical reads, the last at ``last_at``.
    count: int = 1
    last_at: Time | None = None


class RecordOfDisclosuresV1(msgspec.Struct, frozen=True, kw_only=True):
    student_ref: str
    entries: list[DisclosureEntryV1]
    consents: list[dict[str, Any]] = []
    # Reads by school officials with a legitimate educational interest: no 99.32 entry
    # is required (99.32(d)), but compliance sees them here.
    official_access: list[DisclosureEntryV1] = []


# -- integrity anchors --------------------------------------------------------------------------


class IntegrityCheckpointV1(
    msgspec.Struct, frozen=True, kw_only=True, tag="integrity.checkpoint.v1"
):
    """A signed chain head: the store's history up to ``position`` hashes to ``chain_hash``.

    ``signature`` is HMAC-SHA256 (hex) over ``store|position|chain_hash|records``
    with the deployment's integrity key.
    """

    store: str
    position: int
    chain_hash: str
    records: int
    at: Time
    signature: str


MESSAGES: dict[str, type[msgspec.Struct]] = {
    "query.show_timeline.v1": ShowTimelineV1,
    "query.replay_incident.v1": ReplayIncidentV1,
    "query.show_response_measures.v1": ShowResponseMeasuresV1,
    "query.list_audit.v1": ListAuditV1,
    "query.show_disclosures.v1": ShowDisclosuresV1,
    "reply.timeline.v1": TimelineV1,
    "reply.replay.v1": ReplayV1,
    "reply.record_of_disclosures.v1": RecordOfDisclosuresV1,
    "integrity.checkpoint.v1": IntegrityCheckpointV1,
}
