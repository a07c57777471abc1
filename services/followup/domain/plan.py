"""The follow-up plan of one incident: check-ins, referrals, consent, safety plan, guardian.

One aggregate, because its rules cross those parts: withdrawing a consent
stops the referrals that relied on it, and a check-in's timing comes from the
protocol pinned when the plan opened.  The write model keeps what decisions
need.  Lists and measures are read models (``projections/``).  Time and ids
come from outside, so every rule here is a pure function of the history.

This module holds the aggregate's core (opening, ownership, its state); the
parts' events and commands are mixins it composes, one module each
(``plan_checkins``, ``plan_referrals``, ``plan_care``; ``plan_state`` says
why).  Their events are still reached as ``FollowupPlan.<Name>``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from plumbing.domain import Conflict, Trace, TracedCreated, TracedEvent
from services.followup.domain.checkins import Checkin
from services.followup.domain.consent import Consent
from services.followup.domain.ids import plan_id_for
from services.followup.domain.plan_care import REENTRY_SLOT, CareMixin
from services.followup.domain.plan_checkins import CheckinsMixin
from services.followup.domain.plan_referrals import ReferralsMixin
from services.followup.domain.protocol import Protocol
from services.followup.domain.referrals import Referral
from services.followup.domain.safety_plan import PARTS

__all__ = ["OPENING_STATUSES", "REENTRY_SLOT", "FollowupPlan"]

#: Dispatch statuses after which a plan opens.
OPENING_STATUSES = frozenset({"stabilized", "handed_off", "resolved"})


class FollowupPlan(CheckinsMixin, ReferralsMixin, CareMixin, Aggregate):
    """The aggregate: its parts come from the mixins, so it must list them as direct bases.

    eventsourcing only turns the events of an aggregate's *direct* bases into
    ``FollowupPlan.<Name>`` events, which is what keeps their topics stable.
    """

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
