"""The follow-up plan of one incident: check-ins, referrals, consent, safety plan, guardian.

One aggregate, because its rules cross those parts: withdrawing a consent
stops the referrals that relied on it, and a check-in's timing comes from the
protocol pinned when the plan opened.  The write model keeps what decisions
need.  Lists and measures are read models (``projections/``).  Time and ids
come from outside, so every rule here is a pure function of the history.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from plumbing.domain import Conflict, Invalid, NotFound, Trace, TracedCreated, TracedEvent
from services.followup.domain import referrals as r
from services.followup.domain.checkins import DUE, NO_SHOW, OVERDUE, Checkin
from services.followup.domain.consent import CONSENT, Consent, check_disclosure
from services.followup.domain.ids import item_id_for, plan_id_for
from services.followup.domain.protocol import Protocol
from services.followup.domain.referrals import Referral
from services.followup.domain.safety_plan import PARTS, check_revision

#: Dispatch statuses after which a plan opens.
OPENING_STATUSES = frozenset({"stabilized", "handed_off", "resolved"})
REENTRY_SLOT = "reentry"


class FollowupPlan(Aggregate):
    # -- events ------------------------------------------------------------------------------
    class Opened(TracedCreated):
        incident_id: UUID
        school_id: str
        student_ref: str
        risk: str
        owner_id: str
        protocol: dict[str, Any]
        trigger: str
        opened_at: datetime

    class OwnerReassigned(TracedEvent):
        owner_id: str
        previous_owner_id: str
        reason: str
        at: datetime

        def apply(self, aggregate: FollowupPlan) -> None:
            aggregate.owner_id = self.owner_id

    class CheckinScheduled(TracedEvent):
        checkin_id: UUID
        slot: str
        due_at: datetime
        overdue_at: datetime
        mode: str
        replaces: UUID | None

        def apply(self, aggregate: FollowupPlan) -> None:
            aggregate.checkins[self.checkin_id] = Checkin(
                self.checkin_id,
                self.slot,
                self.due_at,
                self.overdue_at,
                self.mode,
                replaces=self.replaces,
            )

    class CheckinCameDue(TracedEvent):
        """The owner was notified that a check-in is due."""

        checkin_id: UUID
        notified: str
        at: datetime

        def apply(self, aggregate: FollowupPlan) -> None:
            aggregate.checkins[self.checkin_id].state = DUE

    class CheckinBecameOverdue(TracedEvent):
        """The grace passed without the check-in; the supervisor was notified."""

        checkin_id: UUID
        notified: str
        at: datetime

        def apply(self, aggregate: FollowupPlan) -> None:
            aggregate.checkins[self.checkin_id].state = OVERDUE

    class CheckinCompleted(TracedEvent):
        checkin_id: UUID
        outcome: str
        note: str
        mode: str
        at: datetime

        def apply(self, aggregate: FollowupPlan) -> None:
            aggregate.checkins[self.checkin_id].state = "completed"

    class CheckinMissed(TracedEvent):
        checkin_id: UUID
        reason: str
        at: datetime

        def apply(self, aggregate: FollowupPlan) -> None:
            aggregate.checkins[self.checkin_id].state = NO_SHOW

    class CheckinRescheduled(TracedEvent):
        checkin_id: UUID
        to: datetime
        reason: str
        replacement_id: UUID
        at: datetime

        def apply(self, aggregate: FollowupPlan) -> None:
            aggregate.checkins[self.checkin_id].state = "rescheduled"

    class RenewedRiskFound(TracedEvent):
        """A check-in found renewed risk: a linked incident must be reported to intake."""

        checkin_id: UUID
        risk: str
        categories: list[str]
        at: datetime

        def apply(self, aggregate: FollowupPlan) -> None:
            aggregate.pending_reports[self.checkin_id] = {
                "risk": self.risk,
                "categories": list(self.categories),
                "by": self.actor,
                "correlation_id": self.correlation_id,
            }

    class RenewedRiskReported(TracedEvent):
        checkin_id: UUID
        new_incident_id: UUID
        linked_to_open: bool  # intake added it to the student's open incident instead
        at: datetime

        def apply(self, aggregate: FollowupPlan) -> None:
            aggregate.pending_reports.pop(self.checkin_id, None)

    class RenewedRiskRefused(TracedEvent):
        """Intake refused the report (bad data, say); the owner must act by hand."""

        checkin_id: UUID
        error: str
        field: str
        notified: str
        at: datetime

        def apply(self, aggregate: FollowupPlan) -> None:
            aggregate.pending_reports.pop(self.checkin_id, None)

    class SafetyPlanRevised(TracedEvent):
        revision: int
        parts: dict[str, list[str]]
        at: datetime

        def apply(self, aggregate: FollowupPlan) -> None:
            aggregate.safety_plan_revision = self.revision
            aggregate.safety_plan = {p: list(self.parts.get(p, [])) for p in PARTS}

    class GuardianNotified(TracedEvent):
        notified_by: str
        guardian: str
        method: str
        at: datetime

    class GuardianNotNotified(TracedEvent):
        reason: str
        justification: str
        agency_contacted: str
        at: datetime

    class ReferralProposed(TracedEvent):
        referral_id: UUID
        resource_id: str
        note: str
        stale_after: datetime
        at: datetime

        def apply(self, aggregate: FollowupPlan) -> None:
            aggregate.referrals[self.referral_id] = Referral(
                self.referral_id, self.resource_id, r.PROPOSED, self.at, self.stale_after
            )

    class ReferralMoved(TracedEvent):
        referral_id: UUID
        to: str
        note: str
        consent_id: UUID | None
        stale_after: datetime
        at: datetime

        def apply(self, aggregate: FollowupPlan) -> None:
            referral = aggregate.referrals[self.referral_id]
            referral.state = self.to
            referral.last_progress_at = self.at
            referral.stale_after = self.stale_after
            referral.stalled = False
            if self.consent_id is not None:
                referral.consent_id = self.consent_id

    class ReferralStalled(TracedEvent):
        """No progress for the protocol's stall period; the owner was notified."""

        referral_id: UUID
        notified: str
        since: datetime
        at: datetime

        def apply(self, aggregate: FollowupPlan) -> None:
            aggregate.referrals[self.referral_id].stalled = True

    class ReferralBlocked(TracedEvent):
        """The consent the referral relied on was withdrawn: no further disclosing step."""

        referral_id: UUID
        consent_id: UUID
        reason: str
        at: datetime

        def apply(self, aggregate: FollowupPlan) -> None:
            aggregate.referrals[self.referral_id].blocked_reason = self.reason

    class ReferralResumed(TracedEvent):
        """A new consent covers a blocked referral again."""

        referral_id: UUID
        consent_id: UUID
        stale_after: datetime
        at: datetime

        def apply(self, aggregate: FollowupPlan) -> None:
            referral = aggregate.referrals[self.referral_id]
            referral.blocked_reason = ""
            referral.consent_id = self.consent_id
            referral.stale_after = self.stale_after
            referral.last_progress_at = self.at

    class ConsentGranted(TracedEvent):
        consent_id: UUID
        given_by: str
        given_by_role: str
        recipients: list[str]
        information: list[str]
        purpose: str
        given_at: datetime
        referral_id: UUID | None
        at: datetime

        def apply(self, aggregate: FollowupPlan) -> None:
            aggregate.consents[self.consent_id] = Consent(
                self.consent_id, tuple(self.recipients), self.given_by_role, self.given_at
            )

    class ConsentWithdrawn(TracedEvent):
        consent_id: UUID
        withdrawn_by: str
        reason: str
        at: datetime

        def apply(self, aggregate: FollowupPlan) -> None:
            consent = aggregate.consents[self.consent_id]
            consent.withdrawn_at = self.at
            consent.withdrawn_by = self.withdrawn_by

    class DisclosureRecorded(TracedEvent):
        disclosure_id: UUID
        party: str
        purpose: str
        legal_basis: str
        consent_id: UUID | None
        threat: str
        recipients: list[str]
        information: list[str]
        referral_id: UUID | None
        at: datetime

        def apply(self, aggregate: FollowupPlan) -> None:
            aggregate.disclosures += 1

    class ReentryMeetingRecorded(TracedEvent):
        reason: str
        meeting_at: datetime
        participants: list[str]
        at: datetime

        def apply(self, aggregate: FollowupPlan) -> None:
            aggregate.reentry_meeting = True

    class AccommodationsRecorded(TracedEvent):
        accommodations: list[str]
        at: datetime

    # -- state ---------------------------------------------------------------------------------
    def __init__(
        self,
        incident_id: UUID,
        school_id: str,
        student_ref: str,
        risk: str,
        owner_id: str,
        protocol: dict[str, Any],
        trigger: str,
        opened_at: datetime,
    ) -> None:
        self.incident_id = incident_id
        self.school_id = school_id
        self.student_ref = student_ref
        self.risk = risk
        self.owner_id = owner_id
        self.protocol = Protocol.from_record(protocol)
        self.opened_at = opened_at
        self.checkins: dict[UUID, Checkin] = {}
        self.referrals: dict[UUID, Referral] = {}
        self.consents: dict[UUID, Consent] = {}
        self.pending_reports: dict[UUID, dict[str, Any]] = {}
        self.safety_plan: dict[str, list[str]] = {p: [] for p in PARTS}
        self.safety_plan_revision = 0
        self.disclosures = 0
        self.reentry_meeting = False

    # -- opening -----------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        *,
        incident_id: UUID,
        school_id: str,
        student_ref: str,
        risk: str,
        owner_id: str,
        protocol: Protocol,
        trigger: str,
        at: datetime,
        trace: Trace,
    ) -> FollowupPlan:
        """Open the plan and schedule the check-ins of the protocol version in force (pinned)."""
        plan = cls._create(
            cls.Opened,
            id=plan_id_for(incident_id),
            incident_id=incident_id,
            school_id=school_id,
            student_ref=student_ref,
            risk=risk,
            owner_id=owner_id,
            protocol=protocol.as_record(),
            trigger=trigger,
            opened_at=at,
            **trace.fields(),
        )
        for step in protocol.steps_for(risk):
            plan._schedule(step.label, at + timedelta(seconds=step.offset_s), step.mode, trace)
        return plan

    def _schedule(
        self, slot: str, due_at: datetime, mode: str, trace: Trace, replaces: UUID | None = None
    ) -> UUID:
        checkin_id = item_id_for(self.id, "checkin", len(self.checkins) + 1)
        self.trigger_event(
            self.CheckinScheduled,
            checkin_id=checkin_id,
            slot=slot,
            due_at=due_at,
            overdue_at=due_at + timedelta(seconds=self.protocol.grace_s),
            mode=mode,
            replaces=replaces,
            **trace.fields(),
        )
        return checkin_id

    def reassign(self, owner_id: str, *, reason: str, at: datetime, trace: Trace) -> None:
        if owner_id == self.owner_id:
            raise Conflict(f"the plan is already owned by {owner_id}", field="owner_id")
        self.trigger_event(
            self.OwnerReassigned,
            owner_id=owner_id,
            previous_owner_id=self.owner_id,
            reason=reason,
            at=at,
            **trace.fields(),
        )

    # -- check-ins ---------------------------------------------------------------------------
    def checkin(self, checkin_id: UUID) -> Checkin:
        try:
            return self.checkins[checkin_id]
        except KeyError:
            raise NotFound(f"no check-in {checkin_id}", field="checkin_id") from None

    def mark_due(self, checkin_id: UUID, *, due_at: datetime, now: datetime, trace: Trace) -> bool:
        """Timer: the check-in came due, so the owner is notified.  False when stale."""
        if not self.checkin(checkin_id).comes_due(due_at, now):
            return False
        self.trigger_event(
            self.CheckinCameDue,
            checkin_id=checkin_id,
            notified=self.owner_id,
            at=now,
            **trace.fields(),
        )
        return True

    def mark_overdue(
        self,
        checkin_id: UUID,
        *,
        overdue_at: datetime,
        now: datetime,
        supervisor: str,
        trace: Trace,
    ) -> bool:
        """Timer: the grace passed, so the supervisor is notified, once.  False when stale."""
        checkin = self.checkin(checkin_id)
        if not checkin.becomes_overdue(overdue_at, now):
            return False
        self.mark_due(checkin_id, due_at=checkin.due_at, now=now, trace=trace)
        self.trigger_event(
            self.CheckinBecameOverdue,
            checkin_id=checkin_id,
            notified=supervisor,
            at=now,
            **trace.fields(),
        )
        return True

    def complete_checkin(
        self,
        checkin_id: UUID,
        *,
        outcome: str,
        note: str,
        mode: str | None,
        risk: str | None,
        categories: list[str],
        at: datetime,
        trace: Trace,
    ) -> None:
        checkin = self.checkin(checkin_id)
        checkin.ensure_open("complete")
        renewed = outcome == "renewed_risk"
        if renewed and risk is None:
            raise Invalid("a renewed-risk outcome needs the risk level found", field="risk")
        if renewed and not categories:
            raise Invalid("a renewed-risk outcome needs at least one category", "categories")
        self.trigger_event(
            self.CheckinCompleted,
            checkin_id=checkin_id,
            outcome=outcome,
            note=note,
            mode=mode or checkin.mode,
            at=at,
            **trace.fields(),
        )
        if renewed:
            assert risk is not None
            self.trigger_event(
                self.RenewedRiskFound,
                checkin_id=checkin_id,
                risk=risk,
                categories=list(categories),
                at=at,
                **trace.fields(),
            )

    def no_show(self, checkin_id: UUID, *, reason: str, at: datetime, trace: Trace) -> None:
        self.checkin(checkin_id).ensure_open("mark as no-show")
        self.trigger_event(
            self.CheckinMissed, checkin_id=checkin_id, reason=reason, at=at, **trace.fields()
        )

    def reschedule(
        self,
        checkin_id: UUID,
        *,
        to: datetime,
        reason: str,
        mode: str | None,
        at: datetime,
        trace: Trace,
    ) -> UUID:
        """Settle this check-in as rescheduled and schedule its replacement (same slot)."""
        checkin = self.checkin(checkin_id)
        checkin.ensure_reschedulable()
        if to <= at:
            raise Invalid("a check-in can only be rescheduled to a future time", field="to")
        replacement_id = item_id_for(self.id, "checkin", len(self.checkins) + 1)
        self.trigger_event(
            self.CheckinRescheduled,
            checkin_id=checkin_id,
            to=to,
            reason=reason,
            replacement_id=replacement_id,
            at=at,
            **trace.fields(),
        )
        self._schedule(checkin.slot, to, mode or checkin.mode, trace, replaces=checkin_id)
        return replacement_id

    # -- renewed risk --------------------------------------------------------------------------
    def renewed_risk_reported(
        self, checkin_id: UUID, *, incident_id: UUID, linked: bool, at: datetime, trace: Trace
    ) -> bool:
        """Intake accepted the linked report.  False when it was already recorded."""
        if checkin_id not in self.pending_reports:
            return False
        self.trigger_event(
            self.RenewedRiskReported,
            checkin_id=checkin_id,
            new_incident_id=incident_id,
            linked_to_open=linked,
            at=at,
            **trace.fields(),
        )
        return True

    def renewed_risk_refused(
        self, checkin_id: UUID, *, error: str, field: str, at: datetime, trace: Trace
    ) -> bool:
        if checkin_id not in self.pending_reports:
            return False
        self.trigger_event(
            self.RenewedRiskRefused,
            checkin_id=checkin_id,
            error=error,
            field=field,
            notified=self.owner_id,
            at=at,
            **trace.fields(),
        )
        return True

    # -- safety plan, guardian, re-entry -------------------------------------------------------
    def revise_safety_plan(
        self, parts: dict[str, list[str]], *, based_on: int, at: datetime, trace: Trace
    ) -> int:
        check_revision(
            current_revision=self.safety_plan_revision,
            based_on=based_on,
            current=self.safety_plan,
            proposed=parts,
        )
        revision = self.safety_plan_revision + 1
        self.trigger_event(
            self.SafetyPlanRevised,
            revision=revision,
            parts={p: list(parts.get(p, [])) for p in PARTS},
            at=at,
            **trace.fields(),
        )
        return revision

    def guardian_notified(
        self,
        *,
        notified_by: str,
        guardian: str,
        method: str,
        at: datetime,
        now: datetime,
        trace: Trace,
    ) -> None:
        _not_in_future(at, now)
        self.trigger_event(
            self.GuardianNotified,
            notified_by=notified_by,
            guardian=guardian,
            method=method,
            at=at,
            **trace.fields(),
        )

    def guardian_not_notified(
        self,
        *,
        reason: str,
        justification: str,
        agency_contacted: str,
        at: datetime,
        now: datetime,
        trace: Trace,
    ) -> None:
        _not_in_future(at, now)
        if reason == "suspected_abuse_cps_contacted" and not agency_contacted:
            raise Invalid("name the agency contacted instead (e.g. CPS)", "agency_contacted")
        self.trigger_event(
            self.GuardianNotNotified,
            reason=reason,
            justification=justification,
            agency_contacted=agency_contacted,
            at=at,
            **trace.fields(),
        )

    def record_reentry_meeting(
        self,
        *,
        reason: str,
        meeting_at: datetime,
        participants: list[str],
        at: datetime,
        trace: Trace,
    ) -> None:
        self.trigger_event(
            self.ReentryMeetingRecorded,
            reason=reason,
            meeting_at=meeting_at,
            participants=list(participants),
            at=at,
            **trace.fields(),
        )

    def record_accommodations(
        self, accommodations: list[str], *, at: datetime, trace: Trace
    ) -> None:
        self._ensure_reentry_meeting()
        self.trigger_event(
            self.AccommodationsRecorded,
            accommodations=list(accommodations),
            at=at,
            **trace.fields(),
        )

    def schedule_reentry_checkin(
        self, *, due_at: datetime, mode: str, at: datetime, trace: Trace
    ) -> UUID:
        self._ensure_reentry_meeting()
        if any(c.slot == REENTRY_SLOT for c in self.checkins.values()):
            raise Conflict(
                "the re-entry check-in is already scheduled; reschedule it instead", "due_at"
            )
        if due_at < at:
            raise Invalid("the first re-entry check-in cannot be in the past", field="due_at")
        return self._schedule(REENTRY_SLOT, due_at, mode, trace)

    def _ensure_reentry_meeting(self) -> None:
        if not self.reentry_meeting:
            raise Conflict("record the re-entry meeting first", field="reentry")

    # -- referrals -----------------------------------------------------------------------------
    def referral(self, referral_id: UUID) -> Referral:
        try:
            return self.referrals[referral_id]
        except KeyError:
            raise NotFound(f"no referral {referral_id}", field="referral_id") from None

    def _stale_after(self, at: datetime) -> datetime:
        return at + timedelta(seconds=self.protocol.referral_stall_s)

    def propose_referral(self, resource_id: str, *, note: str, at: datetime, trace: Trace) -> UUID:
        referral_id = item_id_for(self.id, "referral", len(self.referrals) + 1)
        self.trigger_event(
            self.ReferralProposed,
            referral_id=referral_id,
            resource_id=resource_id,
            note=note,
            stale_after=self._stale_after(at),
            at=at,
            **trace.fields(),
        )
        return referral_id

    def move_referral(
        self, referral_id: UUID, to: str, *, note: str, at: datetime, trace: Trace
    ) -> None:
        """One step of the referral; steps that disclose need a consent in force."""
        referral = self.referral(referral_id)
        referral.ensure_can_move(to)
        if to in r.DISCLOSING:
            consent = self.consents.get(referral.consent_id) if referral.consent_id else None
            check_disclosure(
                legal_basis=CONSENT,
                party=referral.resource_id,
                consent=consent,
                consent_named=False,
                threat="",
                recipients=[referral.resource_id],
            )
        self.trigger_event(
            self.ReferralMoved,
            referral_id=referral_id,
            to=to,
            note=note,
            consent_id=None,
            stale_after=self._stale_after(at),
            at=at,
            **trace.fields(),
        )
        if to == r.REFERRED:
            self._disclose(
                party=referral.resource_id,
                purpose="referral for services",
                legal_basis=CONSENT,
                consent_id=referral.consent_id,
                threat="",
                recipients=[referral.resource_id],
                information=[],
                referral_id=referral_id,
                at=at,
                trace=trace,
            )

    def flag_stalled(
        self, referral_id: UUID, *, stale_after: datetime, now: datetime, trace: Trace
    ) -> bool:
        """Timer: no progress since ``stale_after`` minus the stall period.  False when stale."""
        referral = self.referral(referral_id)
        if (
            not referral.is_open
            or referral.blocked_reason
            or referral.stalled
            or referral.stale_after != stale_after
            or now < stale_after
        ):
            return False
        self.trigger_event(
            self.ReferralStalled,
            referral_id=referral_id,
            notified=self.owner_id,
            since=referral.last_progress_at,
            at=now,
            **trace.fields(),
        )
        return True

    # -- consent and disclosure ------------------------------------------------------------------
    def grant_consent(
        self,
        *,
        given_by: str,
        given_by_role: str,
        recipients: list[str],
        information: list[str],
        purpose: str,
        given_at: datetime,
        referral_id: UUID | None,
        at: datetime,
        trace: Trace,
    ) -> UUID:
        referral = self.referral(referral_id) if referral_id is not None else None
        if referral is not None and referral.resource_id not in recipients:
            raise Invalid(
                f"the consent must cover the referral's resource {referral.resource_id}",
                field="recipients",
            )
        if referral is not None and not referral.blocked_reason:
            referral.ensure_can_move(r.CONSENT_GIVEN, via_consent=True)
        consent_id = item_id_for(self.id, "consent", len(self.consents) + 1)
        self.trigger_event(
            self.ConsentGranted,
            consent_id=consent_id,
            given_by=given_by,
            given_by_role=given_by_role,
            recipients=list(recipients),
            information=list(information),
            purpose=purpose,
            given_at=given_at,
            referral_id=referral_id,
            at=at,
            **trace.fields(),
        )
        if referral is not None and referral.blocked_reason:
            self.trigger_event(
                self.ReferralResumed,
                referral_id=referral.referral_id,
                consent_id=consent_id,
                stale_after=self._stale_after(at),
                at=at,
                **trace.fields(),
            )
        elif referral is not None:
            self.trigger_event(
                self.ReferralMoved,
                referral_id=referral.referral_id,
                to=r.CONSENT_GIVEN,
                note="",
                consent_id=consent_id,
                stale_after=self._stale_after(at),
                at=at,
                **trace.fields(),
            )
        return consent_id

    def consent(self, consent_id: UUID) -> Consent:
        try:
            return self.consents[consent_id]
        except KeyError:
            raise NotFound(f"no consent {consent_id}", field="consent_id") from None

    def withdraw_consent(
        self, consent_id: UUID, *, withdrawn_by: str, reason: str, at: datetime, trace: Trace
    ) -> list[UUID]:
        """Withdraw; every open referral relying on it is blocked.  Returns those referrals."""
        consent = self.consent(consent_id)
        if not consent.in_force:
            raise Conflict(f"consent {consent_id} is already withdrawn", field="consent_id")
        self.trigger_event(
            self.ConsentWithdrawn,
            consent_id=consent_id,
            withdrawn_by=withdrawn_by,
            reason=reason,
            at=at,
            **trace.fields(),
        )
        blocked = [
            ref
            for ref in self.referrals.values()
            if ref.consent_id == consent_id and ref.is_open and not ref.blocked_reason
        ]
        for ref in blocked:
            self.trigger_event(
                self.ReferralBlocked,
                referral_id=ref.referral_id,
                consent_id=consent_id,
                reason=consent.refusal(ref.resource_id),
                at=at,
                **trace.fields(),
            )
        return [ref.referral_id for ref in blocked]

    def record_disclosure(
        self,
        *,
        party: str,
        purpose: str,
        legal_basis: str,
        consent_id: UUID | None,
        threat: str,
        recipients: list[str],
        information: list[str],
        at: datetime,
        trace: Trace,
    ) -> UUID:
        check_disclosure(
            legal_basis=legal_basis,
            party=party,
            consent=self.consents.get(consent_id) if consent_id else None,
            consent_named=consent_id is not None,
            threat=threat,
            recipients=recipients,
        )
        return self._disclose(
            party=party,
            purpose=purpose,
            legal_basis=legal_basis,
            consent_id=consent_id,
            threat=threat,
            recipients=recipients or [party],
            information=information,
            referral_id=None,
            at=at,
            trace=trace,
        )

    def _disclose(
        self,
        *,
        party: str,
        purpose: str,
        legal_basis: str,
        consent_id: UUID | None,
        threat: str,
        recipients: list[str],
        information: list[str],
        referral_id: UUID | None,
        at: datetime,
        trace: Trace,
    ) -> UUID:
        disclosure_id = item_id_for(self.id, "disclosure", self.disclosures + 1)
        self.trigger_event(
            self.DisclosureRecorded,
            disclosure_id=disclosure_id,
            party=party,
            purpose=purpose,
            legal_basis=legal_basis,
            consent_id=consent_id,
            threat=threat,
            recipients=list(recipients),
            information=list(information),
            referral_id=referral_id,
            at=at,
            **trace.fields(),
        )
        return disclosure_id


def _not_in_future(at: datetime, now: datetime) -> None:
    if at > now:
        raise Invalid("this records what happened: the time cannot be in the future", "at")
