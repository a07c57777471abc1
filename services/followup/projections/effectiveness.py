"""Is follow-up happening, on time?  Measures per school and period, rebuilt from events.

Definitions (so a hand count can check them):

* A check-in **slot** is one step of the pinned protocol ("24h", "7d"...) or the
  re-entry check-in.  A reschedule keeps the slot.  The slot's deadline is the
  original due time plus the protocol's grace (``overdue_at`` of the first
  check-in of the slot).
* A slot **counts** once its deadline has passed, or once it is completed.  It
  is **on time** when completed at or before its deadline.
* A referral's **attended rate** is attended / proposed; the time is from
  proposal to the ``attended`` step.
* **Guardian notification time** is from the plan's opening (the dispatch
  status) to the first recorded notification; negative means it happened
  during the crisis, before follow-up began.
* The **period** is the month (``YYYY-MM``) in which the plan opened.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from plumbing.domain import rfc3339
from plumbing.store.projections import Projection
from services.followup.domain.plan import FollowupPlan as P


@dataclass
class _Slot:
    label: str
    deadline: datetime
    completed_at: datetime | None = None


@dataclass
class _Referral:
    proposed_at: datetime
    attended_at: datetime | None = None


@dataclass
class _Plan:
    school_id: str
    period: str
    opened_at: datetime
    slots: dict[str, _Slot] = field(default_factory=dict)
    referrals: dict[str, _Referral] = field(default_factory=dict)
    guardian_at: datetime | None = None
    not_notified: int = 0


class Effectiveness(Projection):
    """A small summary per plan (its slots, referrals, guardian), kept in the store."""

    name = "effectiveness"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.plans = self.table(
            "plans",
            _Plan,
            indexes={"school_id": lambda p: p.school_id, "period": lambda p: p.period},
        )
        self.slot_of = self.table("slots")  # check-in id -> {"plan": id, "slot": first check-in}

    def apply(self, event: Any) -> None:
        key = str(event.originator_id)
        if isinstance(event, P.Opened):
            self.plans[key] = _Plan(
                event.school_id, event.opened_at.strftime("%Y-%m"), event.opened_at
            )
            return
        plan = self.plans.get(key)
        if plan is None:
            return
        if isinstance(event, P.CheckinScheduled):
            if event.replaces is None:
                plan.slots[str(event.checkin_id)] = _Slot(event.slot, event.overdue_at)
                slot_key = str(event.checkin_id)
            else:
                slot_key = self.slot_of[str(event.replaces)]["slot"]
            self.slot_of[str(event.checkin_id)] = {"plan": key, "slot": slot_key}
        elif isinstance(event, P.CheckinCompleted):
            slot = plan.slots[self.slot_of[str(event.checkin_id)]["slot"]]
            slot.completed_at = slot.completed_at or event.at
        elif isinstance(event, P.ReferralProposed):
            plan.referrals[str(event.referral_id)] = _Referral(event.at)
        elif isinstance(event, P.ReferralMoved) and event.to == "attended":
            plan.referrals[str(event.referral_id)].attended_at = event.at
        elif isinstance(event, P.GuardianNotified):
            if plan.guardian_at is None or event.at < plan.guardian_at:
                plan.guardian_at = event.at
        elif isinstance(event, P.GuardianNotNotified):
            plan.not_notified += 1
        else:
            return
        self.plans[key] = plan

    def measures(
        self, *, as_of: datetime, school_id: str | None = None, period: str | None = None
    ) -> dict[str, Any]:
        self.catch_up()
        with self.lock:
            found = (
                self.plans.where(school_id=school_id)
                if school_id is not None
                else self.plans.values()
            )
            chosen = [p for p in found if period is None or p.period == period]
            groups: dict[tuple[str, str], list[_Plan]] = defaultdict(list)
            for p in chosen:
                groups[(p.school_id, p.period)].append(p)
            return {
                "as_of": rfc3339(as_of),
                "school_id": school_id,
                "period": period,
                "total": _summary(chosen, as_of),
                "groups": [
                    {"school_id": s, "period": m, **_summary(ps, as_of)}
                    for (s, m), ps in sorted(groups.items())
                ],
            }


def _summary(plans: list[_Plan], as_of: datetime) -> dict[str, Any]:
    return {
        "plans": len(plans),
        "checkins": _checkins(plans, as_of),
        "referrals": _referrals(plans),
        "guardian": _guardian(plans),
    }


def _checkins(plans: list[_Plan], as_of: datetime) -> dict[str, dict[str, Any]]:
    by_label: dict[str, list[_Slot]] = defaultdict(list)
    for p in plans:
        for slot in p.slots.values():
            if slot.completed_at is not None or slot.deadline <= as_of:
                by_label[slot.label].append(slot)
    out = {}
    for label, slots in by_label.items():
        on_time = sum(1 for s in slots if s.completed_at and s.completed_at <= s.deadline)
        out[label] = {"counted": len(slots), "on_time": on_time, "rate": _rate(on_time, len(slots))}
    return out


def _referrals(plans: list[_Plan]) -> dict[str, Any]:
    referrals = [r for p in plans for r in p.referrals.values()]
    attended = [r for r in referrals if r.attended_at is not None]
    days = [
        (r.attended_at - r.proposed_at).total_seconds() / 86400
        for r in attended
        if r.attended_at is not None
    ]
    return {
        "proposed": len(referrals),
        "attended": len(attended),
        "rate": _rate(len(attended), len(referrals)),
        "mean_days_to_attended": round(statistics.fmean(days), 2) if days else None,
    }


def _guardian(plans: list[_Plan]) -> dict[str, Any]:
    hours = [
        (p.guardian_at - p.opened_at).total_seconds() / 3600
        for p in plans
        if p.guardian_at is not None
    ]
    return {
        "notified": len(hours),
        "not_notified": sum(p.not_notified for p in plans),
        "median_hours_to_notification": round(statistics.median(hours), 2) if hours else None,
    }


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
