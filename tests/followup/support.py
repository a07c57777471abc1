"""Givens shared by the follow-up specifications."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from services.followup.domain.plan import FollowupPlan
from services.followup.domain.protocol import DEFAULT_PROTOCOL, Protocol
from tests.support import NOW, TRACE

HOURS = timedelta(hours=1)
DAYS = timedelta(days=1)


def opened_plan(
    risk: str = "high",
    *,
    protocol: Protocol = DEFAULT_PROTOCOL,
    at: datetime = NOW,
    incident_id: UUID | None = None,
) -> FollowupPlan:
    """A plan as it stands right after the dispatch status opened it (events collected)."""
    plan = FollowupPlan.open(
        incident_id=incident_id or uuid4(),
        school_id="s0",
        student_ref="stu-1",
        risk=risk,
        owner_id="co-owner",
        protocol=protocol,
        trigger="resolved",
        at=at,
        trace=TRACE,
    )
    plan.collect_events()
    return plan


def checkin_ids(plan: FollowupPlan) -> list[UUID]:
    return list(plan.checkins)


def with_referral(plan: FollowupPlan, resource: str = "res-therapy") -> UUID:
    return plan.propose_referral(resource, note="", at=NOW, trace=TRACE)


def consent_for(plan: FollowupPlan, referral_id: UUID, **overrides: Any) -> UUID:
    values: dict[str, Any] = {
        "given_by": "guardian of stu-1",
        "given_by_role": "guardian",
        "recipients": [plan.referrals[referral_id].resource_id],
        "information": ["contact_details"],
        "purpose": "referral for outpatient therapy",
        "given_at": NOW,
        "referral_id": referral_id,
        "at": NOW,
        "trace": TRACE,
    }
    values.update(overrides)
    consent_id: UUID = plan.grant_consent(**values)
    return consent_id
