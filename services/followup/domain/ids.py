"""Deterministic ids: a redelivered event or a retried command finds the same thing again."""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5


def plan_id_for(incident_id: UUID) -> UUID:
    """One plan per incident: a later status for the same incident finds the same plan."""
    return uuid5(NAMESPACE_URL, f"lantern:followup:plan:{incident_id}")


def item_id_for(plan_id: UUID, kind: str, number: int) -> UUID:
    """The n-th check-in, referral, consent or disclosure of a plan."""
    return uuid5(NAMESPACE_URL, f"lantern:followup:{kind}:{plan_id}:{number}")


def renewed_risk_key(checkin_id: UUID) -> str:
    """Idempotency key of the report a renewed-risk check-in sends to intake."""
    return f"followup-renewed-risk-{checkin_id}"
