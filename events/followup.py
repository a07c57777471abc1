"""Follow-up's part of the contract: its integration events, and the commands it accepts.

Minimum necessary on the wire: integration events carry ids, codes and times,
never names, notes or safety-plan text.  Those stay in follow-up's own store.
The one exception is deliberate. ``DisclosureRecordedV1`` carries the
articulable threat and the recipients of an emergency disclosure, because
34 CFR 99.32 and 99.36 require the record of disclosures to hold them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated
from uuid import UUID

import msgspec

from events.common import NonEmpty, Note, Reason, Ref, Time
from events.vocabulary import Category, RiskLevel

AwareTime = Time
Item = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
Items = Annotated[list[Item], msgspec.Meta(max_length=50)]

# -- vocabularies --------------------------------------------------------------------------


class CheckinMode(StrEnum):
    IN_PERSON = "in_person"
    PHONE = "phone"
    TELEHEALTH = "telehealth"
    FAMILY = "family"


class CheckinState(StrEnum):
    SCHEDULED = "scheduled"
    DUE = "due"
    OVERDUE = "overdue"
    COMPLETED = "completed"
    NO_SHOW = "no_show"
    RESCHEDULED = "rescheduled"


class CheckinOutcome(StrEnum):
    """What the person who held the check-in concluded (a human judgement, recorded)."""

    STABLE = "stable"
    IMPROVING = "improving"
    NEEDS_SUPPORT = "needs_support"
    RENEWED_RISK = "renewed_risk"  # opens a new, linked incident at intake


class ReferralState(StrEnum):
    PROPOSED = "proposed"
    CONSENT_REQUESTED = "consent_requested"
    CONSENT_GIVEN = "consent_given"
    CONSENT_DECLINED = "consent_declined"
    REFERRED = "referred"
    CONTACTED = "contacted"
    APPOINTMENT_SCHEDULED = "appointment_scheduled"
    ATTENDED = "attended"
    NOT_ATTENDED = "not_attended"
    CLOSED = "closed"


class ConsentGiver(StrEnum):
    """Who may consent: a parent/guardian, or a student who is an eligible student (18+)."""

    GUARDIAN = "guardian"
    ELIGIBLE_STUDENT = "eligible_student"


class LegalBasis(StrEnum):
    CONSENT = "consent"
    HEALTH_SAFETY_EMERGENCY = "health_safety_emergency"  # 34 CFR 99.36


class ContactMethod(StrEnum):
    IN_PERSON = "in_person"
    PHONE = "phone"
    VIDEO = "video"
    EMAIL = "email"
    LETTER = "letter"


class NotNotifiedReason(StrEnum):
    """Why a guardian was not told (model school policy requires the reason on record)."""

    SUSPECTED_ABUSE_CPS_CONTACTED = "suspected_abuse_cps_contacted"
    GUARDIAN_UNREACHABLE = "guardian_unreachable"
    ELIGIBLE_STUDENT = "eligible_student"
    OTHER = "other"


class NoticeKind(StrEnum):
    CHECKIN_DUE = "checkin_due"  # to the plan's owner
    CHECKIN_OVERDUE = "checkin_overdue"  # to the school's supervisor
    REFERRAL_STALLED = "referral_stalled"  # to the plan's owner
    RENEWED_RISK_REFUSED = "renewed_risk_refused"  # intake refused the linked report


# -- integration events ------------------------------------------------------------------


class PlanOpenedV1(msgspec.Struct, frozen=True, kw_only=True, tag="followup.plan_opened.v1"):
    """A follow-up plan opened for an incident, with the protocol version pinned to it."""

    plan_id: UUID
    incident_id: UUID
    school_id: str
    student_ref: str
    risk: RiskLevel
    owner_id: str
    protocol_version: int
    checkins: int
    opened_at: Time


class PlanReassignedV1(
    msgspec.Struct, frozen=True, kw_only=True, tag="followup.plan_reassigned.v1"
):
    plan_id: UUID
    incident_id: UUID
    owner_id: str
    previous_owner_id: str
    at: Time


class FollowupNoticeV1(msgspec.Struct, frozen=True, kw_only=True, tag="followup.notice.v1"):
    """What a person's inbox receives: ids and times only, like a dispatch page."""

    notice_id: str
    kind: NoticeKind
    recipient_id: str
    plan_id: UUID
    incident_id: UUID
    school_id: str
    item_id: UUID  # the check-in or referral concerned
    due_at: Time | None
    at: Time
    message: str = "Open Lantern to view"


class CheckinRecordedV1(
    msgspec.Struct, frozen=True, kw_only=True, tag="followup.checkin_recorded.v1"
):
    """A check-in was completed, missed or rescheduled (no outcome note on the wire)."""

    plan_id: UUID
    incident_id: UUID
    school_id: str
    checkin_id: UUID
    slot: str
    state: CheckinState
    due_at: Time
    at: Time
    outcome: CheckinOutcome | None = None
    rescheduled_to: Time | None = None


class RenewedRiskReportedV1(
    msgspec.Struct, frozen=True, kw_only=True, tag="followup.renewed_risk_reported.v1"
):
    """Renewed risk found at a check-in was reported to intake as a new, linked incident."""

    plan_id: UUID
    incident_id: UUID
    checkin_id: UUID
    new_incident_id: UUID
    at: Time


class ReferralChangedV1(
    msgspec.Struct, frozen=True, kw_only=True, tag="followup.referral_changed.v1"
):
    plan_id: UUID
    incident_id: UUID
    school_id: str
    referral_id: UUID
    resource_id: str
    state: ReferralState
    at: Time
    blocked: bool = False  # a consent the referral relied on was withdrawn


class ConsentChangedV1(
    msgspec.Struct, frozen=True, kw_only=True, tag="followup.consent_changed.v1"
):
    """A consent to release information was granted or withdrawn (who gave it stays inside)."""

    plan_id: UUID
    incident_id: UUID
    consent_id: UUID
    status: str  # granted | withdrawn
    given_by_role: ConsentGiver
    recipients: list[str]
    at: Time


class GuardianNotificationRecordedV1(
    msgspec.Struct, frozen=True, kw_only=True, tag="followup.guardian_notification_recorded.v1"
):
    """A guardian was notified (how, when), or was deliberately not notified (why, as a code)."""

    plan_id: UUID
    incident_id: UUID
    school_id: str
    notified: bool
    at: Time
    method: ContactMethod | None = None
    reason: NotNotifiedReason | None = None


class DisclosureRecordedV1(
    msgspec.Struct, frozen=True, kw_only=True, tag="followup.disclosure_recorded.v1"
):
    """One disclosure from the student's record: the source of the FERPA record of disclosures."""

    disclosure_id: UUID
    plan_id: UUID
    incident_id: UUID
    school_id: str
    student_ref: str
    party: str  # who received it (a resource id or an agency)
    purpose: str  # the party's legitimate interest
    legal_basis: LegalBasis
    consent_id: UUID | None
    threat: str  # the articulable and significant threat (emergency disclosures only)
    recipients: list[str]
    by: str
    at: Time


FollowupEvent = (
    PlanOpenedV1
    | PlanReassignedV1
    | FollowupNoticeV1
    | CheckinRecordedV1
    | RenewedRiskReportedV1
    | ReferralChangedV1
    | ConsentChangedV1
    | GuardianNotificationRecordedV1
    | DisclosureRecordedV1
)

MESSAGES: dict[str, type[msgspec.Struct]] = {
    "followup.plan_opened.v1": PlanOpenedV1,
    "followup.plan_reassigned.v1": PlanReassignedV1,
    "followup.notice.v1": FollowupNoticeV1,
    "followup.checkin_recorded.v1": CheckinRecordedV1,
    "followup.renewed_risk_reported.v1": RenewedRiskReportedV1,
    "followup.referral_changed.v1": ReferralChangedV1,
    "followup.consent_changed.v1": ConsentChangedV1,
    "followup.guardian_notification_recorded.v1": GuardianNotificationRecordedV1,
    "followup.disclosure_recorded.v1": DisclosureRecordedV1,
}

# -- commands ------------------------------------------------------------------------------


class _Command(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Every command names the person acting (``by``), for the record and access rules."""

    by: Ref


class ReassignPlanV1(_Command, frozen=True, kw_only=True, forbid_unknown_fields=True):
    plan_id: UUID
    owner_id: Ref
    reason: Reason


class CompleteCheckinV1(_Command, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A check-in was held.  ``renewed_risk`` outcomes need ``risk`` and ``categories``."""

    checkin_id: UUID
    outcome: CheckinOutcome
    note: Note = ""
    mode: CheckinMode | None = None
    risk: RiskLevel | None = None
    categories: Annotated[list[Category], msgspec.Meta(max_length=8)] = []


class NoShowCheckinV1(_Command, frozen=True, kw_only=True, forbid_unknown_fields=True):
    checkin_id: UUID
    reason: Annotated[str, msgspec.Meta(max_length=2_000)] = ""


class RescheduleCheckinV1(_Command, frozen=True, kw_only=True, forbid_unknown_fields=True):
    checkin_id: UUID
    to: AwareTime
    reason: Reason
    mode: CheckinMode | None = None


class ReviseSafetyPlanV1(_Command, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A new revision of the Stanley-Brown safety plan, replacing the one it was based on."""

    plan_id: UUID
    based_on: Annotated[int, msgspec.Meta(ge=0)]  # the revision the editor saw (0 = none yet)
    warning_signs: Items = []
    coping_strategies: Items = []
    distractions: Items = []  # people and social settings that distract
    help_contacts: Items = []  # people to ask for help
    professionals: Items = []  # professionals and agencies, 988 included
    safe_environment: Items = []  # making the environment safe (lethal-means counselling)


class RecordGuardianNotifiedV1(_Command, frozen=True, kw_only=True, forbid_unknown_fields=True):
    plan_id: UUID
    notified_by: Ref  # the staff member who made the contact
    guardian: NonEmpty  # whom (kept in follow-up's store only)
    method: ContactMethod
    at: AwareTime


class RecordGuardianNotNotifiedV1(_Command, frozen=True, kw_only=True, forbid_unknown_fields=True):
    plan_id: UUID
    reason: NotNotifiedReason
    justification: Reason
    at: AwareTime
    agency_contacted: Annotated[str, msgspec.Meta(max_length=200)] = ""  # e.g. "CPS"


class ProposeReferralV1(_Command, frozen=True, kw_only=True, forbid_unknown_fields=True):
    plan_id: UUID
    resource_id: Ref
    note: Note = ""


class AdvanceReferralV1(_Command, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Move a referral one step (consent_given comes from a consent grant, not from here)."""

    referral_id: UUID
    to: ReferralState
    note: Note = ""


class GrantConsentV1(_Command, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Consent to release information to the named recipients, for a purpose."""

    plan_id: UUID
    given_by: NonEmpty  # who gave it (kept in follow-up's store only)
    given_by_role: ConsentGiver
    recipients: Annotated[list[Ref], msgspec.Meta(min_length=1, max_length=20)]
    information: Items = []  # what may be shared
    purpose: NonEmpty
    given_at: AwareTime
    referral_id: UUID | None = None  # the referral this consent was asked for


class WithdrawConsentV1(_Command, frozen=True, kw_only=True, forbid_unknown_fields=True):
    consent_id: UUID
    withdrawn_by: NonEmpty
    reason: Annotated[str, msgspec.Meta(max_length=2_000)] = ""
    at: AwareTime


class RecordDisclosureV1(_Command, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A disclosure outside a referral step: under a consent, or a health-or-safety emergency."""

    plan_id: UUID
    party: Ref
    purpose: NonEmpty
    legal_basis: LegalBasis
    consent_id: UUID | None = None
    threat: Annotated[str, msgspec.Meta(max_length=2_000)] = ""
    recipients: Annotated[list[NonEmpty], msgspec.Meta(max_length=20)] = []
    information: Items = []
    at: AwareTime


class RecordReentryMeetingV1(_Command, frozen=True, kw_only=True, forbid_unknown_fields=True):
    plan_id: UUID
    reason: Annotated[str, msgspec.Meta(pattern="^(hospitalization|long_absence)$")]
    meeting_at: AwareTime
    participants: Annotated[list[Item], msgspec.Meta(min_length=1, max_length=20)]


class RecordAccommodationsV1(_Command, frozen=True, kw_only=True, forbid_unknown_fields=True):
    plan_id: UUID
    accommodations: Annotated[list[Item], msgspec.Meta(min_length=1, max_length=50)]


class ScheduleReentryCheckinV1(_Command, frozen=True, kw_only=True, forbid_unknown_fields=True):
    plan_id: UUID
    due_at: AwareTime
    mode: CheckinMode = CheckinMode.IN_PERSON


class AddResourceV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A community resource referrals can go to (the catalogue keeps the latest record)."""

    resource_id: Ref
    name: NonEmpty
    kind: Annotated[
        str,
        msgspec.Meta(
            pattern="^(outpatient_therapy|psychiatric_evaluation|crisis_line|family_services"
            "|substance_use|school_based_group)$"
        ),
    ]
    languages: Annotated[list[Ref], msgspec.Meta(max_length=20)] = []
    insurance: Annotated[list[NonEmpty], msgspec.Meta(max_length=20)] = []
    phone: Annotated[str, msgspec.Meta(max_length=40)] = ""
    address: Annotated[str, msgspec.Meta(max_length=300)] = ""
    website: Annotated[str, msgspec.Meta(max_length=300)] = ""


class CheckinStepV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    label: Ref  # e.g. "24h", "7d"
    offset_s: Annotated[int, msgspec.Meta(gt=0)]
    mode: CheckinMode = CheckinMode.IN_PERSON


class PublishProtocolV1(_Command, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A new version of the check-in protocol; plans already running keep theirs."""

    low: list[CheckinStepV1]
    moderate: list[CheckinStepV1]
    high: list[CheckinStepV1]
    imminent: list[CheckinStepV1]
    grace_s: Annotated[int, msgspec.Meta(ge=0)]
    referral_stall_s: Annotated[int, msgspec.Meta(gt=0)]


MESSAGES.update(
    {
        "command.reassign_plan.v1": ReassignPlanV1,
        "command.complete_checkin.v1": CompleteCheckinV1,
        "command.no_show_checkin.v1": NoShowCheckinV1,
        "command.reschedule_checkin.v1": RescheduleCheckinV1,
        "command.revise_safety_plan.v1": ReviseSafetyPlanV1,
        "command.record_guardian_notified.v1": RecordGuardianNotifiedV1,
        "command.record_guardian_not_notified.v1": RecordGuardianNotNotifiedV1,
        "command.propose_referral.v1": ProposeReferralV1,
        "command.advance_referral.v1": AdvanceReferralV1,
        "command.grant_consent.v1": GrantConsentV1,
        "command.withdraw_consent.v1": WithdrawConsentV1,
        "command.record_disclosure.v1": RecordDisclosureV1,
        "command.record_reentry_meeting.v1": RecordReentryMeetingV1,
        "command.record_accommodations.v1": RecordAccommodationsV1,
        "command.schedule_reentry_checkin.v1": ScheduleReentryCheckinV1,
        "command.add_resource.v1": AddResourceV1,
        "command.publish_protocol.v1": PublishProtocolV1,
    }
)

# -- queries -----------------------------------------------------------------------------------


class ListPlansV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    incident_id: UUID | None = None
    owner_id: str | None = None


class ShowPlanV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    plan_id: UUID


class ListResourcesV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    kind: str | None = None
    language: str | None = None


class ShowProtocolV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class ShowMeasuresV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Effectiveness measures; ``period`` is a month, ``YYYY-MM`` (by the plan's start)."""

    school_id: str | None = None
    period: Annotated[str, msgspec.Meta(pattern=r"^\d{4}-\d{2}$")] | None = None


MESSAGES.update(
    {
        "query.list_plans.v1": ListPlansV1,
        "query.show_plan.v1": ShowPlanV1,
        "query.list_resources.v1": ListResourcesV1,
        "query.show_protocol.v1": ShowProtocolV1,
        "query.show_measures.v1": ShowMeasuresV1,
    }
)
