"""Follow-up's replies: plans as they stand, resources, the protocol and measures.

A plan holds what its owner works with (the Stanley-Brown safety plan, who
gave a consent, a guardian's name): it is answered only to those the access
rules allow, and never published as an event.
"""

from __future__ import annotations

import msgspec

from events.common import Time


class CheckinViewV1(msgspec.Struct, frozen=True, kw_only=True):
    """One check-in; fields after ``replaces`` appear once the check-in got that far."""

    checkin_id: str
    slot: str
    due_at: Time
    overdue_at: Time
    mode: str
    state: str  # scheduled | due | overdue | completed | no_show | rescheduled
    replaces: str | None
    due_notified: str | None = None
    overdue_notified: str | None = None
    outcome: str | None = None
    note: str | None = None
    completed_at: Time | None = None
    by: str | None = None
    missed_at: Time | None = None
    reason: str | None = None
    rescheduled_to: Time | None = None
    renewed_risk: str | None = None
    linked_incident_id: str | None = None
    linked_incident_error: dict[str, str | None] | None = None


class ReferralViewV1(msgspec.Struct, frozen=True, kw_only=True):
    referral_id: str
    resource_id: str
    state: str
    consent_id: str | None
    blocked: bool
    blocked_reason: str
    stalled: bool
    proposed_at: Time
    updated_at: Time


class ConsentViewV1(msgspec.Struct, frozen=True, kw_only=True):
    consent_id: str
    status: str  # granted | withdrawn
    given_by: str
    given_by_role: str
    recipients: list[str]
    information: list[str]
    purpose: str
    given_at: Time
    referral_id: str | None
    withdrawn_by: str | None = None
    withdrawn_at: Time | None = None
    reason: str | None = None


class SafetyPlanViewV1(msgspec.Struct, frozen=True, kw_only=True):
    revision: int
    revised_at: Time
    by: str
    warning_signs: list[str] = []
    coping_strategies: list[str] = []
    distractions: list[str] = []
    help_contacts: list[str] = []
    professionals: list[str] = []
    safe_environment: list[str] = []


class GuardianRecordV1(msgspec.Struct, frozen=True, kw_only=True):
    """A guardian notified (``by``, ``whom``, ``method``) or not (``reason``, ``justification``)."""

    notified: bool
    at: Time
    recorded_by: str
    by: str | None = None
    whom: str | None = None
    method: str | None = None
    reason: str | None = None
    justification: str | None = None
    agency_contacted: str | None = None


class DisclosureViewV1(msgspec.Struct, frozen=True, kw_only=True):
    disclosure_id: str
    party: str
    purpose: str
    legal_basis: str
    consent_id: str | None
    threat: str
    recipients: list[str]
    at: Time
    by: str


class ReentryViewV1(msgspec.Struct, frozen=True, kw_only=True):
    reason: str
    meeting_at: Time
    participants: list[str]
    accommodations: list[str]


class LinkedIncidentV1(msgspec.Struct, frozen=True, kw_only=True):
    incident_id: str
    checkin_id: str
    linked_to_open: bool


class PlanV1(msgspec.Struct, frozen=True, kw_only=True):
    """A follow-up plan as it stands (``show_plan``, ``list_plans``)."""

    plan_id: str
    incident_id: str
    school_id: str
    student_ref: str
    risk: str
    owner_id: str
    protocol_version: int
    opened_at: Time
    trigger: str
    checkins: list[CheckinViewV1]
    referrals: list[ReferralViewV1]
    consents: list[ConsentViewV1]
    safety_plan: SafetyPlanViewV1 | None
    guardian: list[GuardianRecordV1]
    disclosures: list[DisclosureViewV1]
    reentry: ReentryViewV1 | None
    linked_incidents: list[LinkedIncidentV1]


class PlanChangedV1(PlanV1, frozen=True, kw_only=True):
    """Reply to a change of a plan: the plan as it now stands, and the id of what was created."""

    referral_id: str | None = None
    consent_id: str | None = None
    disclosure_id: str | None = None
    checkin_id: str | None = None
    replacement_checkin_id: str | None = None
    blocked_referrals: list[str] | None = None


class ResourceV1(msgspec.Struct, frozen=True, kw_only=True):
    resource_id: str
    name: str
    kind: str
    languages: list[str] = []
    insurance: list[str] = []
    phone: str = ""
    address: str = ""
    website: str = ""


class ResourceListedV1(msgspec.Struct, frozen=True, kw_only=True):
    resource_id: str


class ProtocolStepV1(msgspec.Struct, frozen=True, kw_only=True):
    label: str
    offset_s: int
    mode: str


class ProtocolV1(msgspec.Struct, frozen=True, kw_only=True):
    """The check-in protocol version in force: steps per risk level, grace, stall time."""

    version: int
    steps: dict[str, list[ProtocolStepV1]]
    grace_s: int
    referral_stall_s: int


class CheckinRateV1(msgspec.Struct, frozen=True, kw_only=True):
    counted: int
    on_time: int
    rate: float | None


class ReferralRateV1(msgspec.Struct, frozen=True, kw_only=True):
    proposed: int
    attended: int
    rate: float | None
    mean_days_to_attended: float | None


class GuardianTimingV1(msgspec.Struct, frozen=True, kw_only=True):
    notified: int
    not_notified: int
    median_hours_to_notification: float | None


class EffectivenessV1(msgspec.Struct, frozen=True, kw_only=True):
    plans: int
    checkins: dict[str, CheckinRateV1]  # by slot label ("24h", "7d", ...)
    referrals: ReferralRateV1
    guardian: GuardianTimingV1


class EffectivenessGroupV1(EffectivenessV1, frozen=True, kw_only=True):
    school_id: str
    period: str


class MeasuresV1(msgspec.Struct, frozen=True, kw_only=True):
    """On-time check-ins, referrals attended and guardian notification, per school and month."""

    as_of: Time
    school_id: str | None
    period: str | None
    total: EffectivenessV1
    groups: list[EffectivenessGroupV1]


MESSAGES: dict[str, type[msgspec.Struct]] = {
    "reply.plan.v1": PlanV1,
    "reply.plan_changed.v1": PlanChangedV1,
    "reply.resource.v1": ResourceV1,
    "reply.resource_listed.v1": ResourceListedV1,
    "reply.protocol.v1": ProtocolV1,
    "reply.followup_measures.v1": MeasuresV1,
}
