"""Follow-up's application service: load -> decide -> record.

Plans open from dispatch's integration events (see :meth:`on_dispatch_event`);
people act on them through the operations; timers fire through :meth:`fire`.
Every method takes the time from its caller, so an accelerated clock (the
follow-up demo, the tests) drives the same code as production.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from datetime import datetime
from typing import Any, TypeVar, cast
from uuid import UUID

import msgspec
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Transcoding
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt

from events import followup as f
from events.dispatch import DispatchStatusChangedV1, DispatchStatusChangedV2, ResponderEnrolledV1
from plumbing.domain import NotFound, Trace
from plumbing.store.application import LanternApplication
from services.followup.domain.ids import plan_id_for
from services.followup.domain.plan import OPENING_STATUSES, FollowupPlan
from services.followup.domain.protocol import (
    PROTOCOLS_ID,
    CheckinStep,
    Protocol,
    ProtocolBook,
)
from services.followup.domain.resources import CATALOGUE_ID, ResourceCatalogue
from services.followup.domain.staff import STAFF_ID, StaffDirectory, StaffMember
from services.followup.projections.effectiveness import Effectiveness
from services.followup.projections.plans import PlanBoard
from services.followup.projections.timers import DUE, OVERDUE, FollowupTimers

T = TypeVar("T")
#: A write that lost an optimistic-concurrency race (to a timer, say) is decided again on fresh
#: state; after the third loss the IntegrityError itself is raised.
_ON_CONCURRENT_WRITE = Retrying(
    retry=retry_if_exception_type(IntegrityError), stop=stop_after_attempt(3), reraise=True
)
#: Both versions open plans (v2 leaves out the hand-off text, which follow-up never used).
STATUS_CHANGED = (DispatchStatusChangedV1, DispatchStatusChangedV2)
SYSTEM = Trace(actor="service:followup", correlation_id="", causation_id="followup:timer")


def opens_plans(event: Any) -> bool:
    """A dispatch event that may open a follow-up plan."""
    return isinstance(event, STATUS_CHANGED) and event.status in OPENING_STATUSES


class StaffMemberAsDict(Transcoding):
    type = StaffMember
    name = "lantern.staff_member"

    def encode(self, obj: StaffMember) -> dict[str, Any]:
        return {
            "person_id": obj.person_id,
            "role": obj.role,
            "schools": list(obj.schools),
            "available": obj.available,
        }

    def decode(self, data: dict[str, Any]) -> StaffMember:
        return StaffMember(
            data["person_id"], data["role"], tuple(data["schools"]), data["available"]
        )


class FollowupApplication(LanternApplication):
    name = "followup"
    snapshotting_intervals = {**LanternApplication.snapshotting_intervals, StaffDirectory: 50}

    def extra_transcodings(self) -> list[Transcoding]:
        return [StaffMemberAsDict()]

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        self.board = PlanBoard(self)
        self.timers = FollowupTimers(self)
        self.effectiveness = Effectiveness(self)

    # -- loading ---------------------------------------------------------------------------------
    def plan(self, plan_id: UUID) -> FollowupPlan:
        try:
            plan: FollowupPlan = self.repository.get(plan_id)
        except AggregateNotFoundError:
            raise NotFound(f"no plan {plan_id}", field="plan_id") from None
        return plan

    def _singleton(self, aggregate_id: UUID, opener: Callable[[Trace], T], trace: Trace) -> T:
        try:
            found: T = self.get(aggregate_id)
        except AggregateNotFoundError:
            return opener(trace)
        return found

    def protocols(self, trace: Trace = SYSTEM) -> ProtocolBook:
        return self._singleton(PROTOCOLS_ID, ProtocolBook.open, trace)

    def staff(self, trace: Trace = SYSTEM) -> StaffDirectory:
        return self._singleton(STAFF_ID, StaffDirectory.open, trace)

    def catalogue(self, trace: Trace = SYSTEM) -> ResourceCatalogue:
        return self._singleton(CATALOGUE_ID, ResourceCatalogue.open, trace)

    def _change(self, plan_id: UUID, decide: Callable[[FollowupPlan], T]) -> T:
        """Load, decide, record; a concurrent write (a timer, say) is retried on fresh state."""

        def attempt() -> T:
            plan = self.plan(plan_id)
            result = decide(plan)
            self.record(plan)
            return result

        changed: T = _ON_CONCURRENT_WRITE.copy()(attempt)
        return changed

    # -- reacting to dispatch --------------------------------------------------------------------
    def on_dispatch_event(self, event: Any, trace: Trace) -> list[Aggregate]:
        """Open a plan after stabilized/handed off/resolved; keep the roster for notices."""
        if isinstance(event, ResponderEnrolledV1):
            staff = self.staff(trace)
            staff.note(
                StaffMember(
                    event.responder_id, str(event.role), tuple(event.schools), event.available
                ),
                trace,
            )
            return [staff]
        if not isinstance(event, STATUS_CHANGED) or event.status not in OPENING_STATUSES:
            return []
        if self.exists(plan_id_for(event.incident_id)):
            return []  # one plan per incident, whatever status comes later
        plan = FollowupPlan.open(
            incident_id=event.incident_id,
            school_id=event.school_id,
            student_ref=event.student_ref,
            risk=str(event.risk),
            owner_id=event.responder_id,
            protocol=self.protocols().current(),
            trigger=event.status,
            at=event.at,
            trace=trace,
        )
        return [plan]

    # -- timers ----------------------------------------------------------------------------------
    def fire(self, key: Hashable, due_at: datetime, now: datetime) -> bool:
        """Fire one timer; False when the plan says it is stale (nothing recorded)."""
        kind, plan_id, item_id = cast(tuple[str, UUID, UUID], key)
        plan = self.plan(plan_id)
        if kind == DUE:
            changed = plan.mark_due(item_id, due_at=due_at, now=now, trace=SYSTEM)
        elif kind == OVERDUE:
            supervisor = self.staff().supervisor_for(plan.school_id)
            changed = plan.mark_overdue(
                item_id, overdue_at=due_at, now=now, supervisor=supervisor, trace=SYSTEM
            )
        else:
            changed = plan.flag_stalled(item_id, stale_after=due_at, now=now, trace=SYSTEM)
        if changed:
            self.record(plan)
        return changed

    # -- plans and check-ins ---------------------------------------------------------------------
    def reassign(self, c: f.ReassignPlanV1, *, at: datetime, trace: Trace) -> None:
        self._change(
            c.plan_id, lambda p: p.reassign(c.owner_id, reason=c.reason, at=at, trace=trace)
        )

    def complete_checkin(self, c: f.CompleteCheckinV1, *, at: datetime, trace: Trace) -> UUID:
        plan_id = self.board.plan_of(c.checkin_id, "checkin_id")
        self._change(
            plan_id,
            lambda p: p.complete_checkin(
                c.checkin_id,
                outcome=str(c.outcome),
                note=c.note,
                mode=str(c.mode) if c.mode else None,
                risk=str(c.risk) if c.risk else None,
                categories=[str(x) for x in c.categories],
                at=at,
                trace=trace,
            ),
        )
        return plan_id

    def no_show(self, c: f.NoShowCheckinV1, *, at: datetime, trace: Trace) -> UUID:
        plan_id = self.board.plan_of(c.checkin_id, "checkin_id")
        self._change(
            plan_id, lambda p: p.no_show(c.checkin_id, reason=c.reason, at=at, trace=trace)
        )
        return plan_id

    def reschedule(self, c: f.RescheduleCheckinV1, *, at: datetime, trace: Trace) -> UUID:
        plan_id = self.board.plan_of(c.checkin_id, "checkin_id")
        return self._change(
            plan_id,
            lambda p: p.reschedule(
                c.checkin_id,
                to=c.to,
                reason=c.reason,
                mode=str(c.mode) if c.mode else None,
                at=at,
                trace=trace,
            ),
        )

    def renewed_risk_reported(
        self, plan_id: UUID, checkin_id: UUID, *, incident_id: UUID, linked: bool, at: datetime
    ) -> bool:
        return self._change(
            plan_id,
            lambda p: p.renewed_risk_reported(
                checkin_id, incident_id=incident_id, linked=linked, at=at, trace=SYSTEM
            ),
        )

    def renewed_risk_refused(
        self, plan_id: UUID, checkin_id: UUID, *, error: str, field: str, at: datetime
    ) -> bool:
        return self._change(
            plan_id,
            lambda p: p.renewed_risk_refused(
                checkin_id, error=error, field=field, at=at, trace=SYSTEM
            ),
        )

    # -- safety plan, guardian, re-entry ---------------------------------------------------------
    def revise_safety_plan(self, c: f.ReviseSafetyPlanV1, *, at: datetime, trace: Trace) -> int:
        parts = {
            "warning_signs": list(c.warning_signs),
            "coping_strategies": list(c.coping_strategies),
            "distractions": list(c.distractions),
            "help_contacts": list(c.help_contacts),
            "professionals": list(c.professionals),
            "safe_environment": list(c.safe_environment),
        }
        return self._change(
            c.plan_id,
            lambda p: p.revise_safety_plan(parts, based_on=c.based_on, at=at, trace=trace),
        )

    def guardian_notified(
        self, c: f.RecordGuardianNotifiedV1, *, now: datetime, trace: Trace
    ) -> None:
        self._change(
            c.plan_id,
            lambda p: p.guardian_notified(
                notified_by=c.notified_by,
                guardian=c.guardian,
                method=str(c.method),
                at=c.at,
                now=now,
                trace=trace,
            ),
        )

    def guardian_not_notified(
        self, c: f.RecordGuardianNotNotifiedV1, *, now: datetime, trace: Trace
    ) -> None:
        self._change(
            c.plan_id,
            lambda p: p.guardian_not_notified(
                reason=str(c.reason),
                justification=c.justification,
                agency_contacted=c.agency_contacted,
                at=c.at,
                now=now,
                trace=trace,
            ),
        )

    def record_reentry_meeting(
        self, c: f.RecordReentryMeetingV1, *, at: datetime, trace: Trace
    ) -> None:
        self._change(
            c.plan_id,
            lambda p: p.record_reentry_meeting(
                reason=c.reason,
                meeting_at=c.meeting_at,
                participants=list(c.participants),
                at=at,
                trace=trace,
            ),
        )

    def record_accommodations(
        self, c: f.RecordAccommodationsV1, *, at: datetime, trace: Trace
    ) -> None:
        self._change(
            c.plan_id, lambda p: p.record_accommodations(list(c.accommodations), at=at, trace=trace)
        )

    def schedule_reentry_checkin(
        self, c: f.ScheduleReentryCheckinV1, *, at: datetime, trace: Trace
    ) -> UUID:
        return self._change(
            c.plan_id,
            lambda p: p.schedule_reentry_checkin(
                due_at=c.due_at, mode=str(c.mode), at=at, trace=trace
            ),
        )

    # -- referrals, consent, disclosure ----------------------------------------------------------
    def propose_referral(self, c: f.ProposeReferralV1, *, at: datetime, trace: Trace) -> UUID:
        self.catalogue().ensure_listed(c.resource_id)
        return self._change(
            c.plan_id, lambda p: p.propose_referral(c.resource_id, note=c.note, at=at, trace=trace)
        )

    def advance_referral(self, c: f.AdvanceReferralV1, *, at: datetime, trace: Trace) -> UUID:
        plan_id = self.board.plan_of(c.referral_id, "referral_id")
        self._change(
            plan_id,
            lambda p: p.move_referral(c.referral_id, str(c.to), note=c.note, at=at, trace=trace),
        )
        return plan_id

    def grant_consent(self, c: f.GrantConsentV1, *, at: datetime, trace: Trace) -> UUID:
        return self._change(
            c.plan_id,
            lambda p: p.grant_consent(
                given_by=c.given_by,
                given_by_role=str(c.given_by_role),
                recipients=list(c.recipients),
                information=list(c.information),
                purpose=c.purpose,
                given_at=c.given_at,
                referral_id=c.referral_id,
                at=at,
                trace=trace,
            ),
        )

    def withdraw_consent(self, c: f.WithdrawConsentV1, *, trace: Trace) -> tuple[UUID, list[UUID]]:
        plan_id = self.board.plan_of(c.consent_id, "consent_id")
        blocked = self._change(
            plan_id,
            lambda p: p.withdraw_consent(
                c.consent_id, withdrawn_by=c.withdrawn_by, reason=c.reason, at=c.at, trace=trace
            ),
        )
        return plan_id, blocked

    def record_disclosure(self, c: f.RecordDisclosureV1, *, trace: Trace) -> UUID:
        return self._change(
            c.plan_id,
            lambda p: p.record_disclosure(
                party=c.party,
                purpose=c.purpose,
                legal_basis=str(c.legal_basis),
                consent_id=c.consent_id,
                threat=c.threat,
                recipients=list(c.recipients),
                information=list(c.information),
                at=c.at,
                trace=trace,
            ),
        )

    # -- configuration ---------------------------------------------------------------------------
    def add_resource(self, c: f.AddResourceV1, *, trace: Trace) -> None:
        catalogue = self.catalogue(trace)
        catalogue.list_resource(msgspec.to_builtins(c), trace)
        self.record(catalogue)

    def publish_protocol(self, c: f.PublishProtocolV1, *, trace: Trace) -> Protocol:
        book = self.protocols(trace)
        steps = {
            risk: tuple(CheckinStep(s.label, s.offset_s, str(s.mode)) for s in given)
            for risk, given in (
                ("low", c.low),
                ("moderate", c.moderate),
                ("high", c.high),
                ("imminent", c.imminent),
            )
        }
        protocol = book.publish(
            steps, grace_s=c.grace_s, referral_stall_s=c.referral_stall_s, trace=trace
        )
        self.record(book)
        return protocol

    # -- queries ---------------------------------------------------------------------------------
    def plans(self, q: f.ListPlansV1) -> list[dict[str, Any]]:
        return self.board.select(q.incident_id, q.owner_id)

    def plan_view(self, plan_id: UUID) -> dict[str, Any]:
        return self.board.view(plan_id)

    def resources(self, q: f.ListResourcesV1) -> list[dict[str, Any]]:
        return [
            dict(r)
            for _, r in sorted(self.catalogue().resources.items())
            if (q.kind is None or r["kind"] == q.kind)
            and (q.language is None or q.language in r["languages"])
        ]

    def measures(self, q: f.ShowMeasuresV1, *, as_of: datetime) -> dict[str, Any]:
        return self.effectiveness.measures(as_of=as_of, school_id=q.school_id, period=q.period)
