"""Dispatch's replies: the roster, dispatches and an incident's response."""

from __future__ import annotations

import msgspec

from events.common import Time


class ShiftViewV1(msgspec.Struct, frozen=True, kw_only=True):
    days: list[str]
    start: str
    end: str


class OverrideViewV1(msgspec.Struct, frozen=True, kw_only=True):
    start: Time
    end: Time
    on_call: bool
    reason: str


class ResponderV1(msgspec.Struct, frozen=True, kw_only=True):
    """One responder on the roster (``shifts`` null: on call round the clock)."""

    responder_id: str
    name: str
    role: str
    schools: list[str]
    skills: list[str]
    languages: list[str]
    available: bool
    shifts: list[ShiftViewV1] | None
    overrides: list[OverrideViewV1]
    email: str
    timezone: str


class ResponderChangedV1(msgspec.Struct, frozen=True, kw_only=True):
    """Reply to a roster change about one responder."""

    responder_id: str
    available: bool | None = None


class RosterImportedV1(msgspec.Struct, frozen=True, kw_only=True):
    responders: int  # how many were in the import
    changed: int  # how many of them were new or different (each change is an event)


class ShiftSwappedV1(msgspec.Struct, frozen=True, kw_only=True):
    from_responder_id: str
    to_responder_id: str


class CandidateV1(msgspec.Struct, frozen=True, kw_only=True):
    responder_id: str
    load: int
    language_match: bool


class DispatchRowV1(msgspec.Struct, frozen=True, kw_only=True):
    """One dispatch: who was asked, when, why (rule, candidates) and where it stands."""

    dispatch_id: str
    incident_id: str
    school_id: str | None
    responder_id: str
    state: str
    step: str
    assigned_at: Time
    ack_deadline: Time | None
    rule: str
    reason: str
    candidates: list[CandidateV1]
    acknowledged_at: Time | None = None
    #: to whom the student was handed off (kept here, not published: no free text on the wire)
    handed_off_to: str | None = None
    #: why the responder declined (kept here, not published: no free text on the wire)
    declined_reason: str | None = None


class EscalationV1(msgspec.Struct, frozen=True, kw_only=True):
    """One step of the pinned chain; ``to`` null with phase ``exhausted``: nobody is left."""

    reason: str
    step: str
    to: str | None
    at: Time
    skipped: list[str]
    from_dispatch_id: str | None
    dispatch_id: str | None


class ResponseViewV1(msgspec.Struct, frozen=True, kw_only=True):
    """An incident's response (``show_response``).

    ``phase`` is ``exhausted`` when the escalation chain ran out: nobody else
    will be paged, and a person must act.
    """

    incident_id: str
    phase: str
    unassigned: bool
    held_until: Time | None
    policy_version: str
    current: DispatchRowV1 | None
    dispatches: list[DispatchRowV1]
    escalations: list[EscalationV1]


class CalendarFeedV1(msgspec.Struct, frozen=True, kw_only=True):
    """A responder's iCalendar feed: ``path`` (on the dispatch service) while it is active.

    The path holds the secret; whoever has it can read the feed (shifts and
    check-in times, never student details), so it is shown once and can be
    revoked or replaced at any time.
    """

    responder_id: str
    active: bool
    path: str | None = None


MESSAGES: dict[str, type[msgspec.Struct]] = {
    "reply.calendar_feed.v1": CalendarFeedV1,
    "reply.responder.v1": ResponderV1,
    "reply.responder_changed.v1": ResponderChangedV1,
    "reply.roster_imported.v1": RosterImportedV1,
    "reply.shift_swapped.v1": ShiftSwappedV1,
    "reply.dispatch_row.v1": DispatchRowV1,
    "reply.response.v1": ResponseViewV1,
}
