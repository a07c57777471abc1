"""The follow-up plan's check-ins: scheduling, the due/overdue timers, outcomes, renewed risk.

A part of :class:`~services.followup.domain.plan.FollowupPlan` (see
``plan_state`` for why the plan is split into mixins).  Renewed risk lives here
because it is an outcome of a check-in: the report to intake is pending on the
check-in that found it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from uuid import UUID

from plumbing.domain import Invalid, NotFound, Trace, TracedEvent
from services.followup.domain.checkins import DUE, NO_SHOW, OVERDUE, Checkin
from services.followup.domain.ids import item_id_for
from services.followup.domain.plan_state import PlanState

if TYPE_CHECKING:
    from services.followup.domain.plan import FollowupPlan


class CheckinsMixin(PlanState):
    """Check-in and renewed-risk events and commands of the follow-up plan."""

    # -- events ------------------------------------------------------------------------------
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

    # -- check-ins ---------------------------------------------------------------------------
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
