"""Dispatch's part of the contract: its integration events, and the commands it accepts."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

import msgspec

from events.common import NonEmpty, Note, Reason, Ref, Time
from events.vocabulary import ResponderRole, RiskLevel

# -- integration events ------------------------------------------------------------------


class ResponderAssignedV1(
    msgspec.Struct, frozen=True, kw_only=True, tag="dispatch.responder_assigned.v1"
):
    """A responder was asked to take an incident and must acknowledge."""

    incident_id: UUID
    dispatch_id: UUID
    responder_id: str
    school_id: str
    risk: RiskLevel
    assigned_at: Time
    rule: str
    # Added compatibly (optional, with defaults): older readers ignore them.
    ack_deadline: Time | None = None
    step: str = "initial"  # initial | next_responder | supervisor | district_crisis_lead


class ResponderEnrolledV1(
    msgspec.Struct, frozen=True, kw_only=True, tag="dispatch.responder_enrolled.v1"
):
    """A responder joined the roster or changed (no contact details on the wire)."""

    responder_id: str
    role: ResponderRole
    schools: list[str]
    available: bool


class DispatchAcknowledgedV1(
    msgspec.Struct, frozen=True, kw_only=True, tag="dispatch.dispatch_acknowledged.v1"
):
    """ "I have it": every pending escalation step for the incident stopped."""

    incident_id: UUID
    dispatch_id: UUID
    responder_id: str
    at: Time


class DispatchDeclinedV1(
    msgspec.Struct, frozen=True, kw_only=True, tag="dispatch.dispatch_declined.v1"
):
    incident_id: UUID
    dispatch_id: UUID
    responder_id: str
    reason: str
    at: Time


class DispatchDeclinedV2(
    msgspec.Struct, frozen=True, kw_only=True, tag="dispatch.dispatch_declined.v2"
):
    """A responder said "I can't take it"; the escalation chain moves on.

    No free text on the wire: why they declined (it may name a student or a
    colleague) stays in dispatch's record of the response, read through its
    audited ``show_response`` and ``list_dispatches`` (``declined_reason``).
    v1 carried it.
    """

    incident_id: UUID
    dispatch_id: UUID
    responder_id: str
    at: Time


class DispatchEscalatedV1(
    msgspec.Struct, frozen=True, kw_only=True, tag="dispatch.dispatch_escalated.v1"
):
    """One step of the pinned escalation chain, with its reason."""

    incident_id: UUID
    from_dispatch_id: UUID | None
    reason: str  # ack_timeout | declined | not_with_student | no_eligible_responder
    step: str  # next_responder | supervisor | district_crisis_lead
    to_responder_id: str | None
    to_dispatch_id: UUID | None
    at: Time


class DispatchStatusChangedV1(
    msgspec.Struct, frozen=True, kw_only=True, tag="dispatch.dispatch_status_changed.v1"
):
    """A field status after acknowledgement (en route ... resolved)."""

    incident_id: UUID
    dispatch_id: UUID
    responder_id: str
    school_id: str
    student_ref: str
    risk: RiskLevel
    status: str  # en_route | with_student | stabilized | handed_off | resolved
    handed_off_to: str = ""
    at: Time


class DispatchStatusChangedV2(
    msgspec.Struct, frozen=True, kw_only=True, tag="dispatch.dispatch_status_changed.v2"
):
    """A field status after acknowledgement (en route ... resolved).

    No free text on the wire: to whom a student was handed off (a name, often)
    stays in dispatch's record of the response, read through its audited
    ``show_response`` (``GET /incidents/{id}/response``).  v1 carried it.
    """

    incident_id: UUID
    dispatch_id: UUID
    responder_id: str
    school_id: str
    student_ref: str
    risk: RiskLevel
    status: str  # en_route | with_student | stabilized | handed_off | resolved
    at: Time


class ResponderPagedV1(
    msgspec.Struct, frozen=True, kw_only=True, tag="dispatch.responder_paged.v1"
):
    """What a responder's inbox receives: no student-identifying data, by design."""

    dispatch_id: UUID
    incident_id: UUID
    responder_id: str
    kind: str  # page | escalation | stand_down
    school_id: str
    risk: RiskLevel
    ack_deadline: Time | None
    message: str = "Open Lantern to view"


class NoResponderEligibleV1(
    msgspec.Struct, frozen=True, kw_only=True, tag="dispatch.no_responder_eligible.v1"
):
    """Nobody on the roster could take the incident; a supervisor must."""

    incident_id: UUID
    school_id: str
    at: Time
    reason: str


class NotificationDeliveryV1(
    msgspec.Struct, frozen=True, kw_only=True, tag="dispatch.notification_delivery.v1"
):
    """How a page fared on an outside channel (webhook, e-mail)."""

    incident_id: UUID
    dispatch_id: UUID
    responder_id: str
    kind: str
    channel: str
    outcome: str  # delivered | failed | skipped
    detail: str
    attempts: int
    at: Time


DispatchEvent = (
    ResponderEnrolledV1
    | ResponderAssignedV1
    | NoResponderEligibleV1
    | DispatchAcknowledgedV1
    | DispatchDeclinedV1
    | DispatchDeclinedV2
    | DispatchEscalatedV1
    | DispatchStatusChangedV1
    | DispatchStatusChangedV2
    | ResponderPagedV1
    | NotificationDeliveryV1
)

# -- commands ------------------------------------------------------------------------------


Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
HHMM = Annotated[str, msgspec.Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$")]
DispatchState = Literal[
    "assigned",
    "acknowledged",
    "declined",
    "escalated",
    "en_route",
    "with_student",
    "stabilized",
    "handed_off",
    "resolved",
    "stood_down",
    "cancelled",
]
FieldStatus = Literal["en_route", "with_student", "stabilized", "handed_off", "resolved"]


class ShiftV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A weekly on-call window in the responder's time zone."""

    days: Annotated[list[Day], msgspec.Meta(min_length=1)]
    start: HHMM
    end: HHMM


class AddResponderV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Put a responder on the roster (or update them: the roster keeps the latest)."""

    responder_id: Ref
    name: NonEmpty
    role: ResponderRole
    schools: list[Ref]
    skills: list[Ref] = []
    available: bool = True
    # Added compatibly: languages spoken, weekly on-call shifts (None = round the clock),
    # a contact address for the e-mail channel, and the zone the shifts are written in.
    languages: list[Ref] = []
    shifts: list[ShiftV1] | None = None
    email: Annotated[str, msgspec.Meta(max_length=200)] = ""
    timezone: Annotated[str, msgspec.Meta(max_length=64)] = "UTC"


class ImportRosterV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Many responders at once, all or nothing (a CSV import)."""

    responders: Annotated[list[AddResponderV1], msgspec.Meta(min_length=1, max_length=5000)]


class SetAvailabilityV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    responder_id: Ref
    available: bool
    reason: Reason


class AddOverrideV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """On or off call for an interval, whatever the weekly pattern says."""

    responder_id: Ref
    start: Time
    end: Time
    on_call: bool
    reason: Reason


class SwapShiftV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``to_responder_id`` covers ``from_responder_id`` for the interval."""

    from_responder_id: Ref
    to_responder_id: Ref
    start: Time
    end: Time
    reason: Reason


class AcknowledgeDispatchV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    dispatch_id: UUID
    responder_id: Ref


class DeclineDispatchV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    dispatch_id: UUID
    responder_id: Ref
    reason: Reason


class UpdateDispatchStatusV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    dispatch_id: UUID
    responder_id: Ref
    state: FieldStatus
    to: Annotated[str, msgspec.Meta(max_length=200)] = ""  # hand-off recipient
    note: Note = ""


class DispatchReplyV1(msgspec.Struct, frozen=True, kw_only=True):
    dispatch_id: UUID
    incident_id: UUID
    state: str
    changed: bool = True


MESSAGES: dict[str, type[msgspec.Struct]] = {
    "dispatch.responder_enrolled.v1": ResponderEnrolledV1,
    "dispatch.responder_assigned.v1": ResponderAssignedV1,
    "dispatch.dispatch_acknowledged.v1": DispatchAcknowledgedV1,
    "dispatch.dispatch_declined.v1": DispatchDeclinedV1,
    "dispatch.dispatch_declined.v2": DispatchDeclinedV2,
    "dispatch.dispatch_escalated.v1": DispatchEscalatedV1,
    "dispatch.dispatch_status_changed.v1": DispatchStatusChangedV1,
    "dispatch.dispatch_status_changed.v2": DispatchStatusChangedV2,
    "dispatch.responder_paged.v1": ResponderPagedV1,
    "dispatch.notification_delivery.v1": NotificationDeliveryV1,
    "dispatch.no_responder_eligible.v1": NoResponderEligibleV1,
    "command.add_responder.v1": AddResponderV1,
    "command.import_roster.v1": ImportRosterV1,
    "command.set_availability.v1": SetAvailabilityV1,
    "command.add_override.v1": AddOverrideV1,
    "command.swap_shift.v1": SwapShiftV1,
    "command.acknowledge_dispatch.v1": AcknowledgeDispatchV1,
    "command.decline_dispatch.v1": DeclineDispatchV1,
    "command.update_dispatch_status.v1": UpdateDispatchStatusV1,
    "reply.dispatch.v1": DispatchReplyV1,
}


# -- queries -----------------------------------------------------------------------------------


class ShowResponseV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    incident_id: UUID


class ListDispatchesV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    responder_id: str | None = None
    state: DispatchState | None = None


class ListRosterV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class RunWhatIfV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Replay the incidents reported in [since, until) under another policy (read-only).

    ``policy`` is TOML text in the format of ``lantern up --config`` (its
    ``[dispatch]`` section).  A supervisor gets only their schools.  The reply
    is a self-describing document (``kind``: ``lantern.dispatch.whatif``);
    ``incidents`` adds one row per incident, which can make it large.
    """

    policy: Annotated[str, msgspec.Meta(min_length=1, max_length=64_000)]
    since: Time | None = None
    until: Time | None = None
    schools: Annotated[list[Ref], msgspec.Meta(max_length=500)] = []
    seed: Annotated[int, msgspec.Meta(ge=0, le=2**31)] = 0
    incidents: bool = False


MESSAGES.update(
    {
        "query.show_response.v1": ShowResponseV1,
        "query.list_dispatches.v1": ListDispatchesV1,
        "query.list_roster.v1": ListRosterV1,
        "query.run_whatif.v1": RunWhatIfV1,
    }
)


# -- calendar feeds ----------------------------------------------------------------------------


class IssueCalendarFeedV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A new secret calendar URL for a responder's on-call shifts and check-ins.

    Any earlier URL of theirs stops working.
    """

    responder_id: Ref


class RevokeCalendarFeedV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The responder's calendar URL stops working (a lost phone, a leaked link)."""

    responder_id: Ref


MESSAGES.update(
    {
        "command.issue_calendar_feed.v1": IssueCalendarFeedV1,
        "command.revoke_calendar_feed.v1": RevokeCalendarFeedV1,
    }
)
