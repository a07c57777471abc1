"""The follow-up plan's care arrangements: safety plan, guardian notification, re-entry.

A part of :class:`~services.followup.domain.plan.FollowupPlan` (see
``plan_state`` for why the plan is split into mixins).  These record what the
team arranged around the student at home and at school; re-entry may schedule a
check-in, so it relies on the check-ins part through ``_schedule``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from plumbing.domain import Conflict, Invalid, Trace, TracedEvent
from services.followup.domain.plan_state import PlanState
from services.followup.domain.safety_plan import PARTS, check_revision

if TYPE_CHECKING:
    from services.followup.domain.plan import FollowupPlan

#: The slot of the check-in scheduled after the re-entry meeting.
REENTRY_SLOT = "reentry"


class CareMixin(PlanState):
    """Safety-plan, guardian and re-entry events and commands of the follow-up plan."""

    # -- events ------------------------------------------------------------------------------
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


def _not_in_future(at: datetime, now: datetime) -> None:
    if at > now:
        raise Invalid("this records what happened: the time cannot be in the future", "at")
