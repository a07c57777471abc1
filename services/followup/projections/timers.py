"""Which follow-up deadlines are pending: check-ins coming due or overdue, referrals stalling.

The deadlines are facts in the plan's events (``due_at``, ``overdue_at``,
``stale_after``); this view only folds them into the shared timer heap.  A
key is ``(kind, plan_id, item_id)``; firing is a plan command that checks the
state again, so a stale or repeated timer changes nothing.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any
from uuid import UUID

from plumbing.timers import DueTimers
from services.followup.domain.plan import FollowupPlan as P

DUE, OVERDUE, STALL = "due", "overdue", "stall"


class FollowupTimers(DueTimers):
    name = "followup_timers"

    def key_of(self, parts: list[str | None]) -> Hashable:
        kind, plan, item = parts
        return (str(kind), UUID(str(plan)), UUID(str(item)))

    def apply(self, event: Any) -> None:
        plan_id = event.originator_id
        if isinstance(event, P.CheckinScheduled):
            self.schedule((DUE, plan_id, event.checkin_id), event.due_at)
            self.schedule((OVERDUE, plan_id, event.checkin_id), event.overdue_at)
        elif isinstance(event, P.CheckinCameDue):
            self.cancel((DUE, plan_id, event.checkin_id))
        elif isinstance(
            event,
            P.CheckinBecameOverdue | P.CheckinCompleted | P.CheckinMissed | P.CheckinRescheduled,
        ):
            self.cancel((DUE, plan_id, event.checkin_id))
            self.cancel((OVERDUE, plan_id, event.checkin_id))
        elif isinstance(event, P.ReferralProposed | P.ReferralResumed):
            self.schedule((STALL, plan_id, event.referral_id), event.stale_after)
        elif isinstance(event, P.ReferralMoved):
            if event.to == "closed":
                self.cancel((STALL, plan_id, event.referral_id))
            else:
                self.schedule((STALL, plan_id, event.referral_id), event.stale_after)
        elif isinstance(event, P.ReferralStalled | P.ReferralBlocked):
            self.cancel((STALL, plan_id, event.referral_id))
