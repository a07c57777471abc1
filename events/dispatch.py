"""Integration events published by dispatch."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from events.vocabulary import RiskLevel


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
