"""Follow-up's domain events -> public integration events (minimum necessary).

Notes, safety-plan text, guardians' and consenting persons' names stay in
follow-up's store.  Notices go to the recipient's inbox subject.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from events import followup as f
from events.subjects import FOLLOWUP, Subjects
from events.vocabulary import RiskLevel
from plumbing.envelope import Outgoing
from services.followup.domain.plan import FollowupPlan as P

_CHECKIN_STATES = {
    P.CheckinCompleted: f.CheckinState.COMPLETED,
    P.CheckinMissed: f.CheckinState.NO_SHOW,
    P.CheckinRescheduled: f.CheckinState.RESCHEDULED,
}
_NOTICES = {
    P.CheckinCameDue: f.NoticeKind.CHECKIN_DUE,
    P.CheckinBecameOverdue: f.NoticeKind.CHECKIN_OVERDUE,
    P.ReferralStalled: f.NoticeKind.REFERRAL_STALLED,
    P.RenewedRiskRefused: f.NoticeKind.RENEWED_RISK_REFUSED,
}
_REFERRAL_EVENTS = (P.ReferralProposed, P.ReferralMoved, P.ReferralBlocked, P.ReferralResumed)


class Translator:
    """Adds the plan's facts (incident, school), which live on the plan, to its events."""

    def __init__(self, subjects: Subjects, load: Callable[[UUID, int], P]) -> None:
        self.subjects = subjects
        self.load = load

    def __call__(self, event: Any) -> Outgoing | None:
        if isinstance(event, P.Opened):
            return self._opened(event)
        if not type(event).__qualname__.startswith("FollowupPlan."):
            return None
        message = self._message(event, self.load(event.originator_id, event.originator_version))
        if message is None:
            return None
        subject, body = message
        return Outgoing(subject=subject, message=body, incident_id=str(body.incident_id))

    def _opened(self, e: Any) -> Outgoing:
        steps = e.protocol["steps"].get(e.risk, [])
        return Outgoing(
            subject=self.subjects.plan_opened,
            incident_id=str(e.incident_id),
            message=f.PlanOpenedV1(
                plan_id=e.originator_id,
                incident_id=e.incident_id,
                school_id=e.school_id,
                student_ref=e.student_ref,
                risk=RiskLevel(e.risk),
                owner_id=e.owner_id,
                protocol_version=e.protocol["version"],
                checkins=len(steps),
                opened_at=e.opened_at,
            ),
        )

    def _message(self, e: Any, plan: P) -> tuple[str, Any] | None:
        s = self.subjects
        ids: dict[str, Any] = {"plan_id": plan.id, "incident_id": plan.incident_id}
        kind = _NOTICES.get(type(e))
        if kind is not None:
            item = getattr(e, "checkin_id", None) or e.referral_id
            due_at = plan.checkins[item].due_at if item in plan.checkins else None
            return s.inbox(FOLLOWUP, e.notified), f.FollowupNoticeV1(
                notice_id=f"{e.originator_id}/{e.originator_version}",
                kind=kind,
                recipient_id=e.notified,
                school_id=plan.school_id,
                item_id=item,
                due_at=due_at,
                at=e.at,
                **ids,
            )
        state = _CHECKIN_STATES.get(type(e))
        if state is not None:
            checkin = plan.checkins[e.checkin_id]
            return s.checkin_recorded, f.CheckinRecordedV1(
                school_id=plan.school_id,
                checkin_id=e.checkin_id,
                slot=checkin.slot,
                state=state,
                due_at=checkin.due_at,
                at=e.at,
                outcome=f.CheckinOutcome(e.outcome) if isinstance(e, P.CheckinCompleted) else None,
                rescheduled_to=e.to if isinstance(e, P.CheckinRescheduled) else None,
                **ids,
            )
        if isinstance(e, _REFERRAL_EVENTS):
            referral = plan.referrals[e.referral_id]
            return s.referral_changed, f.ReferralChangedV1(
                school_id=plan.school_id,
                referral_id=e.referral_id,
                resource_id=referral.resource_id,
                state=f.ReferralState(referral.state),
                blocked=bool(referral.blocked_reason),
                at=e.at,
                **ids,
            )
        return self._records(e, plan, ids)

    def _records(self, e: Any, plan: P, ids: dict[str, Any]) -> tuple[str, Any] | None:
        s = self.subjects
        if isinstance(e, P.OwnerReassigned):
            return s.plan_reassigned, f.PlanReassignedV1(
                owner_id=e.owner_id, previous_owner_id=e.previous_owner_id, at=e.at, **ids
            )
        if isinstance(e, P.RenewedRiskReported):
            return s.renewed_risk_reported, f.RenewedRiskReportedV1(
                checkin_id=e.checkin_id, new_incident_id=e.new_incident_id, at=e.at, **ids
            )
        if isinstance(e, P.ConsentGranted | P.ConsentWithdrawn):
            consent = plan.consents[e.consent_id]
            return s.consent_changed, f.ConsentChangedV1(
                consent_id=e.consent_id,
                status="granted" if isinstance(e, P.ConsentGranted) else "withdrawn",
                given_by_role=f.ConsentGiver(consent.given_by_role),
                recipients=list(consent.recipients),
                at=e.at,
                **ids,
            )
        if isinstance(e, P.GuardianNotified | P.GuardianNotNotified):
            return s.guardian_notification_recorded, f.GuardianNotificationRecordedV1(
                school_id=plan.school_id,
                notified=isinstance(e, P.GuardianNotified),
                at=e.at,
                method=f.ContactMethod(e.method) if isinstance(e, P.GuardianNotified) else None,
                reason=f.NotNotifiedReason(e.reason)
                if isinstance(e, P.GuardianNotNotified)
                else None,
                **ids,
            )
        if isinstance(e, P.DisclosureRecorded):
            return s.disclosure_recorded, f.DisclosureRecordedV1(
                disclosure_id=e.disclosure_id,
                school_id=plan.school_id,
                student_ref=plan.student_ref,
                party=e.party,
                purpose=e.purpose,
                legal_basis=f.LegalBasis(e.legal_basis),
                consent_id=e.consent_id,
                threat=e.threat,
                recipients=list(e.recipients),
                by=e.actor,
                at=e.at,
                **ids,
            )
        return None
