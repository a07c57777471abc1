"""Dispatch's part of the contract: its integration events, and the commands it accepts."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from events.common import NonEmpty, Ref
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
    assigned_at: datetime
    rule: str


class NoResponderEligibleV1(
    msgspec.Struct, frozen=True, kw_only=True, tag="dispatch.no_responder_eligible.v1"
):
    """Nobody on the roster could take the incident; a supervisor must."""

    incident_id: UUID
    school_id: str
    at: datetime
    reason: str


DispatchEvent = ResponderAssignedV1 | NoResponderEligibleV1

# -- commands ------------------------------------------------------------------------------


class AddResponderV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Put a responder on the roster (or update them: the roster keeps the latest)."""

    responder_id: Ref
    name: NonEmpty
    role: ResponderRole
    schools: list[Ref]
    skills: list[Ref] = []
    available: bool = True


MESSAGES: dict[str, type[msgspec.Struct]] = {
    "dispatch.responder_assigned.v1": ResponderAssignedV1,
    "dispatch.no_responder_eligible.v1": NoResponderEligibleV1,
    "command.add_responder.v1": AddResponderV1,
}


# -- queries -----------------------------------------------------------------------------------


class ShowResponseV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    incident_id: UUID


class ListDispatchesV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    responder_id: str | None = None
    state: str | None = None


class ListRosterV1(msgspec.Struct, frozen=True, kw_only=True):
    pass


MESSAGES.update(
    {
        "query.show_response.v1": ShowResponseV1,
        "query.list_dispatches.v1": ListDispatchesV1,
        "query.list_roster.v1": ListRosterV1,
    }
)
